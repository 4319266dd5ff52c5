/**
 * The embedded swarm core on one node: the store, the orchestrator, the scheduler and the agent,
 * and the API the daemon serves (the SwarmCluster methods, in the contract's types). The loops
 * talk only through the store: a committed change wakes one pass (orchestrate, schedule, then the
 * agent's work), and a timer wakes it for restart delays and the sweep.
 */
import { hostname, networkInterfaces } from 'node:os';
import type { Engine } from '../contract/engine.js';
import { EngineError } from '../contract/errors.js';
import type {
  ClusterInfo,
  ConfigSpec,
  ListFilter,
  Network,
  NetworkSpec,
  Node,
  NodeSpec,
  SecretSpec,
  Service,
  ServiceSpec,
  StoredObject,
  Task,
  TaskFilter,
} from '../contract/swarm.js';
import { TaskAgent } from './agent.js';
import { nodeMatches, parseConstraints } from './constraints.js';
import { withDefaults } from './defaults.js';
import { orchestrate, RestartHistory } from './orchestrator.js';
import { schedule } from './scheduler.js';
import { Updaters } from './updater.js';
import { publishPorts } from './ports.js';
import { ServiceRouter, type ServiceNetworking } from './routing.js';
import { SwarmStore, type SwarmTask } from './store.js';
import { newObjectId } from './tasks.js';

export interface SwarmNodeConfig {
  /** Default: the machine's host name. */
  hostname?: string;
  /** The node's labels when the swarm is first made (`node update` changes them later). */
  nodeLabels?: Record<string, string>;
  /** The engine's labels (`engine.labels.*` in constraints). */
  engineLabels?: Record<string, string>;
  engineVersion: string;
}

const SWEEP_MS = 2000;

function labelsMatch(labels: Record<string, string>, wanted: readonly string[] | undefined): boolean {
  return (wanted ?? []).every((w) => {
    const at = w.indexOf('=');
    return at < 0 ? w in labels : labels[w.slice(0, at)] === w.slice(at + 1);
  });
}

function filtered<T extends { id: string }>(items: T[], filter: ListFilter | undefined, name: (t: T) => string, labels: (t: T) => Record<string, string>): T[] {
  return items.filter(
    (t) =>
      (!filter?.names?.length || filter.names.includes(name(t))) &&
      (!filter?.ids?.length || filter.ids.some((id) => t.id.startsWith(id))) &&
      labelsMatch(labels(t), filter?.labels),
  );
}

function architecture(): string {
  return { x64: 'x86_64', arm64: 'aarch64', arm: 'armv7l', ia32: 'i386' }[process.arch as string] ?? process.arch;
}

function address(): string {
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return '127.0.0.1';
}

/** A job's run: swarmkit counts one iteration per create or update of a job service. */
function jobStatus(spec: ServiceSpec, current: Service | undefined): Pick<Service, 'jobStatus'> {
  if (spec.mode.kind !== 'replicated-job' && spec.mode.kind !== 'global-job') return {};
  return { jobStatus: { iteration: current?.jobStatus ? current.jobStatus.iteration + 1 : 0, lastExecution: new Date().toISOString() } };
}

export class SwarmCore {
  private agent: TaskAgent | undefined;
  private updaters: Updaters | undefined;
  private router: ServiceRouter | undefined;
  private readonly history = new RestartHistory();
  private nodeId = '';
  private scheduled = false;
  private wakeTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private unwatch: (() => void) | undefined;
  private closed = false;

  /** `store`: opened by the caller (the daemon reads it before it adopts any container). */
  constructor(
    readonly store: SwarmStore,
    private readonly engine: Engine,
    private readonly config: SwarmNodeConfig,
    private readonly log: (line: string) => void,
    /** Service discovery and load balancing (the daemon's networking); without it, names are only task aliases. */
    private readonly networking?: ServiceNetworking,
  ) {}

  /** Makes or refreshes this node, re-adopts the tasks and starts the loops. */
  open(): void {
    const host = this.config.hostname ?? hostname();
    const description = { hostname: host, platform: { os: 'linux', architecture: architecture() }, engineVersion: this.config.engineVersion, state: 'ready' as const, addr: address(), resources: { nanoCpus: 0, memoryBytes: 0 } };
    const node = this.store.transact((tx) => {
      const existing = tx.list('node')[0];
      if (existing) return tx.update('node', { ...existing, ...description });
      return tx.create('node', {
        id: newObjectId(),
        spec: { labels: { ...this.config.nodeLabels }, role: 'manager', availability: 'active' },
        manager: { leader: true, reachability: 'reachable', addr: `${description.addr}:2377` },
        ...description,
      });
    });
    this.nodeId = node.id;
    this.agent = new TaskAgent(this.store, this.engine, this.nodeId, this.log);
    this.updaters = new Updaters(this.store, this.nodeId, newObjectId, this.log);
    if (this.networking) this.router = new ServiceRouter(this.store, this.engine, this.networking, this.log);
    this.unwatch = this.store.watch(() => this.kick());
    this.sweepTimer = setInterval(() => {
      void this.agent?.sweep().catch((e: unknown) => this.log(`swarm: sweep: ${(e as Error).message}`));
      this.router?.kick(); // again after a failure
    }, SWEEP_MS);
    this.sweepTimer.unref();
    void this.agent.sweep().catch((e: unknown) => this.log(`swarm: sweep: ${(e as Error).message}`));
    this.kick();
  }

  close(): void {
    this.closed = true;
    this.unwatch?.();
    clearTimeout(this.wakeTimer);
    clearInterval(this.sweepTimer);
    this.updaters?.close();
    this.router?.close();
    this.agent?.close();
    this.store.close();
  }

  /** Runs one pass soon (passes coalesce). */
  private kick(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (!this.closed) this.pass();
    });
  }

  private pass(): void {
    const node = this.store.get('node', this.nodeId);
    if (!node) return;
    const engineLabels = this.config.engineLabels ?? {};
    const wake = this.store.transact((tx) =>
      orchestrate(tx, {
        nodeId: this.nodeId,
        now: Date.now(),
        history: this.history,
        newId: newObjectId,
        nodeEligible: (service) => {
          if (node.spec.availability !== 'active') return false;
          try {
            return nodeMatches(parseConstraints(service.spec.task.placement?.constraints ?? []), node, engineLabels);
          } catch {
            return false;
          }
        },
      }),
    );
    this.updaters?.reconcile();
    this.store.transact((tx) => schedule(tx, node, engineLabels));
    this.agent?.pass();
    this.router?.kick();
    if (wake !== undefined) {
      clearTimeout(this.wakeTimer);
      this.wakeTimer = setTimeout(() => this.kick(), Math.max(10, wake - Date.now()));
    }
  }

  // ---------------------------------------------------------------- the API

  info(): ClusterInfo {
    return { manager: true, nodeId: this.nodeId };
  }

  /** As swarmkit, the core keeps a spec as it is given (defaults are filled where it is read). */
  storable(spec: ServiceSpec): { spec: ServiceSpec; dropped: string[] } {
    return { spec, dropped: [] };
  }

  private withStatus(service: Service): Service {
    const tasks = this.store.list('task').filter((t) => t.serviceId === service.id);
    const desired = service.spec.mode.kind === 'replicated' ? (service.spec.mode.replicas ?? 1) : service.spec.mode.kind === 'global' ? tasks.filter((t) => t.desiredState === 'running').length : 0;
    return { ...service, status: { running: tasks.filter((t) => t.state === 'running' && t.desiredState === 'running').length, desired } };
  }

  listServices(filter?: ListFilter): Service[] {
    return filtered(this.store.list('service'), filter, (s) => s.spec.name, (s) => s.spec.labels).map((s) => this.withStatus(s));
  }

  private findService(idOrName: string): Service | undefined {
    const all = this.store.list('service');
    return all.find((s) => s.id === idOrName) ?? all.find((s) => s.spec.name === idOrName) ?? all.find((s) => s.id.startsWith(idOrName));
  }

  /** With `insertDefaults`, the current spec has swarmkit's defaults filled in, as Docker's API fills them for `service inspect`. */
  inspectService(idOrName: string, insertDefaults = false): Service | null {
    const s = this.findService(idOrName);
    if (!s) return null;
    return this.withStatus(insertDefaults ? { ...s, spec: withDefaults(s.spec) } : s);
  }

  private validate(spec: ServiceSpec): ServiceSpec {
    if (!spec.name) throw new EngineError('invalid', 'a service needs a name');
    parseConstraints(spec.task.placement?.constraints ?? []);
    for (const n of spec.task.networks ?? []) {
      if (!this.store.list('network').some((x) => x.name === n.target || x.id === n.target)) throw new EngineError('not-found', `network ${n.target} not found`);
    }
    const secrets = this.store.list('secret');
    for (const s of spec.task.container.secrets ?? []) if (!secrets.some((x) => x.name === s.source)) throw new EngineError('not-found', `secret not found: ${s.source}`);
    const configs = this.store.list('config');
    for (const c of spec.task.container.configs ?? []) if (!configs.some((x) => x.name === c.source)) throw new EngineError('not-found', `config not found: ${c.source}`);
    return structuredClone(spec);
  }

  createService(spec: ServiceSpec): { id: string; warnings: string[] } {
    const stored = this.validate(spec);
    const id = this.store.transact((tx) => {
      if (tx.list('service').some((s) => s.spec.name === spec.name)) throw new EngineError('conflict', `service ${spec.name} already exists`);
      return tx.create('service', { id: newObjectId(), spec: stored, endpointPorts: publishPorts(stored, undefined, tx.list('service'), []), ...jobStatus(stored, undefined) }).id;
    });
    return { id, warnings: [] };
  }

  updateService(id: string, version: number, spec: ServiceSpec): { warnings: string[] } {
    const stored = this.validate(spec);
    this.store.transact((tx) => {
      const current = tx.get('service', id);
      if (!current) throw new EngineError('not-found', `service ${id} not found`);
      if (current.spec.mode.kind !== stored.mode.kind) throw new EngineError('invalid', 'service mode change is not allowed');
      const { updateStatus: _status, ...rest } = current;
      const endpointPorts = publishPorts(stored, id, tx.list('service'), current.endpointPorts);
      tx.update('service', { ...rest, previousSpec: current.spec, spec: stored, endpointPorts, ...jobStatus(stored, current) }, version);
    });
    this.history.forget(id);
    return { warnings: [] };
  }

  rollbackService(id: string, version: number): { warnings: string[] } {
    this.store.transact((tx) => {
      const current = tx.get('service', id);
      if (!current) throw new EngineError('not-found', `service ${id} not found`);
      if (!current.previousSpec) throw new EngineError('invalid', `service ${current.spec.name} does not have a previous spec`);
      const { previousSpec, ...rest } = current;
      tx.update('service', { ...rest, spec: previousSpec, endpointPorts: publishPorts(previousSpec, id, tx.list('service'), current.endpointPorts), updateStatus: { state: 'rollback_started', message: 'manually requested rollback', startedAt: new Date().toISOString() } }, version);
    });
    this.history.forget(id);
    return { warnings: [] };
  }

  removeService(id: string): void {
    this.store.transact((tx) => {
      if (!tx.get('service', id)) throw new EngineError('not-found', `service ${id} not found`);
      tx.delete('service', id);
    });
    this.history.forget(id);
  }

  listTasks(filter?: TaskFilter): Task[] {
    const services = this.store.list('service');
    const serviceIds = filter?.services?.length ? new Set(filter.services.flatMap((ref) => services.filter((s) => s.id === ref || s.spec.name === ref || s.id.startsWith(ref)).map((s) => s.id))) : undefined;
    return this.store
      .list('task')
      .filter((t) => (!serviceIds || serviceIds.has(t.serviceId)) && (!filter?.nodes?.length || filter.nodes.includes(t.nodeId)) && (!filter?.desiredStates?.length || (filter.desiredStates as string[]).includes(t.desiredState)))
      .map(({ notBefore: _notBefore, ...task }: SwarmTask) => task);
  }

  listNodes(filter?: ListFilter): Node[] {
    return filtered(this.store.list('node'), filter, (n) => n.hostname, (n) => n.spec.labels);
  }

  inspectNode(idOrName: string): Node | null {
    if (idOrName === 'self') return this.store.get('node', this.nodeId) ?? null;
    return this.store.list('node').find((n) => n.id === idOrName || n.hostname === idOrName || n.id.startsWith(idOrName)) ?? null;
  }

  updateNode(id: string, version: number, spec: NodeSpec): void {
    this.store.transact((tx) => {
      const current = tx.get('node', id);
      if (!current) throw new EngineError('not-found', `node ${id} not found`);
      if (spec.role !== 'manager') throw new EngineError('invalid', 'the only node of the embedded swarm is its manager: it cannot be demoted');
      tx.update('node', { ...current, spec }, version);
    });
  }

  listNetworks(filter?: ListFilter): Network[] {
    return filtered(this.store.list('network'), filter, (n) => n.name, (n) => n.labels).map(({ version: _v, createdAt: _c, updatedAt: _u, ...n }) => n);
  }

  inspectNetwork(idOrName: string): Network | null {
    return this.listNetworks().find((n) => n.id === idOrName || n.name === idOrName) ?? null;
  }

  createNetwork(spec: NetworkSpec): string {
    return this.store.transact((tx) => {
      if (tx.list('network').some((n) => n.name === spec.name)) throw new EngineError('conflict', `network with name ${spec.name} already exists`);
      return tx.create('network', {
        id: newObjectId(),
        name: spec.name,
        driver: spec.driver ?? 'overlay',
        scope: 'swarm',
        labels: spec.labels,
        options: spec.options ?? {},
        internal: spec.internal === true,
        attachable: spec.attachable === true,
        subnets: spec.ipam?.subnets ?? [],
      }).id;
    });
  }

  removeNetwork(id: string): void {
    this.store.transact((tx) => {
      const network = tx.list('network').find((n) => n.id === id || n.name === id);
      if (!network) throw new EngineError('not-found', `network ${id} not found`);
      const users = tx.list('service').filter((s) => (s.spec.task.networks ?? []).some((a) => a.target === network.name || a.target === network.id));
      if (users.length > 0) throw new EngineError('conflict', `network ${network.name} is in use by service ${users.map((s) => s.spec.name).join(', ')}`);
      tx.delete('network', network.id);
    });
  }

  listSecrets(filter?: ListFilter): StoredObject[] {
    return filtered(this.store.list('secret'), filter, (s) => s.name, (s) => s.labels).map(({ data: _data, ...s }) => s);
  }

  createSecret(spec: SecretSpec): string {
    return this.createStored('secret', spec);
  }

  updateSecret(id: string, version: number, spec: SecretSpec): void {
    this.updateStored('secret', id, version, spec);
  }

  removeSecret(id: string): void {
    this.removeStored('secret', id);
  }

  listConfigs(filter?: ListFilter): StoredObject[] {
    return filtered(this.store.list('config'), filter, (s) => s.name, (s) => s.labels);
  }

  createConfig(spec: ConfigSpec): string {
    return this.createStored('config', spec);
  }

  updateConfig(id: string, version: number, spec: ConfigSpec): void {
    this.updateStored('config', id, version, spec);
  }

  removeConfig(id: string): void {
    this.removeStored('config', id);
  }

  private createStored(kind: 'secret' | 'config', spec: ConfigSpec & { driver?: { name: string } }): string {
    return this.store.transact((tx) => {
      if (tx.list(kind).some((o) => o.name === spec.name)) throw new EngineError('conflict', `${kind} ${spec.name} already exists`);
      return tx.create(kind, { id: newObjectId(), name: spec.name, labels: spec.labels, data: spec.data, ...(spec.driver ? { driver: spec.driver.name } : {}), ...(spec.templateDriver ? { templateDriver: spec.templateDriver } : {}) }).id;
    });
  }

  private updateStored(kind: 'secret' | 'config', id: string, version: number, spec: ConfigSpec): void {
    this.store.transact((tx) => {
      const current = tx.get(kind, id);
      if (!current) throw new EngineError('not-found', `${kind} ${id} not found`);
      // As swarmkit: only the labels of a secret or config may change.
      if (spec.data && current.data && !spec.data.equals(current.data)) throw new EngineError('invalid', `only updates to Labels are allowed`);
      tx.update(kind, { ...current, labels: spec.labels }, version);
    });
  }

  private removeStored(kind: 'secret' | 'config', id: string): void {
    this.store.transact((tx) => {
      const current = tx.get(kind, id) ?? tx.list(kind).find((o) => o.name === id);
      if (!current) throw new EngineError('not-found', `${kind} ${id} not found`);
      const users = tx.list('service').filter((s) => ((kind === 'secret' ? s.spec.task.container.secrets : s.spec.task.container.configs) ?? []).some((r) => r.source === current.name));
      if (users.length > 0) throw new EngineError('conflict', `${kind} '${current.name}' is in use by the following service: ${users.map((s) => s.spec.name).join(', ')}`);
      tx.delete(kind, current.id);
    });
  }
}
