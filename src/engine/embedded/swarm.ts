/**
 * The embedded engine's swarm: the SwarmCluster interface over the daemon's Swarm RPC, each
 * method one call to the swarm core the daemon hosts (src/swarm). `inspectRaw` shows objects in
 * Docker's JSON shape (through the Docker backend's encoder), so `service inspect` reads alike.
 */
import type {
  ClusterInfo,
  ConfigSpec,
  ImageDistribution,
  ListFilter,
  Network,
  NetworkSpec,
  Node,
  NodeSpec,
  SecretSpec,
  Service,
  ServiceLogLine,
  ServiceLogOptions,
  ServiceSpec,
  StoredObject,
  SwarmCluster,
  Task,
  TaskFilter,
  WriteOptions,
} from '../../contract/swarm.js';
import { fromWireJson, toWireJson } from '../../contract/protocol/swarm-json.js';
import { encodeNodeSpec, encodeServiceSpec } from '../docker/swarm/encode.js';
import type { EmbeddedEngine } from './client.js';
import { inspectedEndpoint, inspectedSpec } from './service-json.js';

/** States of a task whose container has not started: no log to follow. */
const NOT_STARTED: ReadonlySet<string> = new Set(['new', 'pending', 'assigned', 'accepted', 'preparing', 'ready']);

export class EmbeddedSwarm implements SwarmCluster {
  constructor(private readonly engine: EmbeddedEngine) {}

  get address(): string {
    return `unix://${this.engine.socket}`;
  }

  private async call<T>(method: string, ...args: unknown[]): Promise<T> {
    const reply = await this.engine.swarm(method, toWireJson(args));
    return (reply === '' ? undefined : fromWireJson(reply)) as T;
  }

  info(): Promise<ClusterInfo> {
    return this.call('info');
  }
  storable(spec: ServiceSpec): Promise<{ spec: ServiceSpec; dropped: string[] }> {
    return this.call('storable', spec);
  }
  listServices(filter?: ListFilter): Promise<Service[]> {
    return this.call('listServices', filter);
  }
  inspectService(idOrName: string): Promise<Service | null> {
    return this.call('inspectService', idOrName);
  }
  createService(spec: ServiceSpec, _options?: WriteOptions): Promise<{ id: string; warnings: string[] }> {
    return this.call('createService', spec);
  }
  updateService(id: string, version: number, spec: ServiceSpec, _options?: WriteOptions): Promise<{ warnings: string[] }> {
    return this.call('updateService', id, version, spec);
  }
  rollbackService(id: string, version: number): Promise<{ warnings: string[] }> {
    return this.call('rollbackService', id, version);
  }
  removeService(id: string): Promise<void> {
    return this.call('removeService', id);
  }

  /**
   * Each task's container log, one task after another; following, the logs of the tasks whose
   * containers have started, all at once as lines come, until the signal aborts (tasks started
   * after that are not followed yet).
   */
  async *serviceLogs(serviceId: string, options: ServiceLogOptions): AsyncIterable<ServiceLogLine> {
    const tasks = (await this.listTasks({ services: [serviceId] })).filter((t) => t.containerId).sort((a, b) => a.slot - b.slot || a.createdAt.localeCompare(b.createdAt));
    if (!options.follow) {
      for (const task of tasks) yield* this.taskLog(task, options);
      return;
    }
    const queue: ServiceLogLine[] = [];
    let wake: (() => void) | undefined;
    let open = 0;
    for (const task of tasks) {
      if (NOT_STARTED.has(task.state)) continue;
      open++;
      void (async () => {
        for await (const line of this.taskLog(task, options)) {
          queue.push(line);
          wake?.();
        }
      })().finally(() => {
        open--;
        wake?.();
      });
    }
    const onAbort = () => wake?.();
    options.signal?.addEventListener('abort', onAbort);
    try {
      for (;;) {
        while (queue.length > 0) yield queue.shift() as ServiceLogLine;
        if (options.signal?.aborted || open === 0) return;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** One task's container log as lines (followed as long as the container runs, with `follow`). */
  private async *taskLog(task: Task, options: ServiceLogOptions): AsyncIterable<ServiceLogLine> {
    const pending = { stdout: '', stderr: '' };
    const lines = (stream: 'stdout' | 'stderr', flush: boolean): ServiceLogLine[] => {
      const out: ServiceLogLine[] = [];
      let nl: number;
      while ((nl = pending[stream].indexOf('\n')) >= 0) {
        out.push(logLine(task, stream, pending[stream].slice(0, nl), options.timestamps === true));
        pending[stream] = pending[stream].slice(nl + 1);
      }
      if (flush && pending[stream] !== '') out.push(logLine(task, stream, pending[stream], options.timestamps === true));
      return out;
    };
    try {
      for await (const chunk of this.engine.containerLogs(task.containerId as string, {
        follow: options.follow === true,
        timestamps: options.timestamps === true,
        ...(options.tail !== undefined ? { tail: options.tail } : {}),
        ...(options.since !== undefined ? { since: options.since } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      } as Parameters<EmbeddedEngine['containerLogs']>[1])) {
        const stream = chunk.stream === 'stderr' ? 'stderr' : 'stdout';
        pending[stream] += chunk.data.toString();
        yield* lines(stream, false);
      }
    } catch {
      // The task's container is gone (removed with its task), or following was stopped: nothing more to show of it.
    }
    yield* lines('stdout', true);
    yield* lines('stderr', true);
  }

  listTasks(filter?: TaskFilter): Promise<Task[]> {
    return this.call('listTasks', filter);
  }
  listNodes(filter?: ListFilter): Promise<Node[]> {
    return this.call('listNodes', filter);
  }
  inspectNode(idOrName: string): Promise<Node | null> {
    return this.call('inspectNode', idOrName);
  }
  updateNode(id: string, version: number, spec: NodeSpec): Promise<void> {
    return this.call('updateNode', id, version, spec);
  }
  listNetworks(filter?: ListFilter): Promise<Network[]> {
    return this.call('listNetworks', filter);
  }
  inspectNetwork(idOrName: string): Promise<Network | null> {
    return this.call('inspectNetwork', idOrName);
  }
  createNetwork(spec: NetworkSpec): Promise<string> {
    return this.call('createNetwork', spec);
  }
  removeNetwork(id: string): Promise<void> {
    return this.call('removeNetwork', id);
  }
  listSecrets(filter?: ListFilter): Promise<StoredObject[]> {
    return this.call('listSecrets', filter);
  }
  createSecret(spec: SecretSpec): Promise<string> {
    return this.call('createSecret', spec);
  }
  updateSecret(id: string, version: number, spec: SecretSpec): Promise<void> {
    return this.call('updateSecret', id, version, spec);
  }
  removeSecret(id: string): Promise<void> {
    return this.call('removeSecret', id);
  }
  listConfigs(filter?: ListFilter): Promise<StoredObject[]> {
    return this.call('listConfigs', filter);
  }
  createConfig(spec: ConfigSpec): Promise<string> {
    return this.call('createConfig', spec);
  }
  updateConfig(id: string, version: number, spec: ConfigSpec): Promise<void> {
    return this.call('updateConfig', id, version, spec);
  }
  removeConfig(id: string): Promise<void> {
    return this.call('removeConfig', id);
  }

  async inspectRaw(kind: 'service' | 'task' | 'node', idOrName: string): Promise<unknown> {
    const meta = (o: { id: string; version: number; createdAt: string; updatedAt: string }) => ({ ID: o.id, Version: { Index: o.version }, CreatedAt: o.createdAt, UpdatedAt: o.updatedAt });
    if (kind === 'service') {
      // As `docker service inspect` asks for it: the current spec with the swarm's defaults filled in.
      const s = await this.call<Service | null>('inspectService', idOrName, true);
      if (!s) return null;
      const [ids, networks] = await Promise.all([this.referenceIds(), this.listNetworks()]);
      const named = { ...ids, network: (name: string) => networks.find((n) => n.name === name)?.id ?? name };
      return {
        ...meta(s),
        Spec: inspectedSpec(s.spec, named),
        ...(s.previousSpec ? { PreviousSpec: inspectedSpec(s.previousSpec, named) } : {}),
        Endpoint: inspectedEndpoint(s),
        ...(s.updateStatus
          ? { UpdateStatus: { State: s.updateStatus.state, ...(s.updateStatus.startedAt ? { StartedAt: s.updateStatus.startedAt } : {}), ...(s.updateStatus.completedAt ? { CompletedAt: s.updateStatus.completedAt } : {}), Message: s.updateStatus.message ?? '' } }
          : {}),
        ...(s.jobStatus ? { JobStatus: { JobIteration: s.jobStatus.iteration > 0 ? { Index: s.jobStatus.iteration } : {}, LastExecution: s.jobStatus.lastExecution } } : {}),
      };
    }
    if (kind === 'node') {
      const n = await this.inspectNode(idOrName);
      if (!n) return null;
      return {
        ...meta(n),
        Spec: encodeNodeSpec(n.spec),
        Description: { Hostname: n.hostname, Platform: { Architecture: n.platform.architecture, OS: n.platform.os }, Engine: { EngineVersion: n.engineVersion } },
        Status: { State: n.state, Addr: n.addr },
        ...(n.manager ? { ManagerStatus: { Leader: n.manager.leader, Reachability: n.manager.reachability, Addr: n.manager.addr } } : {}),
      };
    }
    const t = (await this.listTasks()).find((x) => x.id === idOrName || x.id.startsWith(idOrName));
    if (!t) return null;
    const [service, ids] = await Promise.all([this.inspectService(t.serviceId), this.referenceIds()]);
    return {
      ...meta(t),
      Labels: {},
      Spec: encodeServiceSpec({ name: service?.spec.name ?? '', labels: {}, task: t.spec, mode: { kind: 'replicated' } }, ids).TaskTemplate,
      ServiceID: t.serviceId,
      ...(t.slot > 0 ? { Slot: t.slot } : {}),
      NodeID: t.nodeId,
      Status: {
        Timestamp: t.timestamp,
        State: t.state,
        Message: t.message,
        ...(t.error ? { Err: t.error } : {}),
        ...(t.containerId ? { ContainerStatus: { ContainerID: t.containerId, ExitCode: t.exitCode ?? 0 } } : {}),
      },
      DesiredState: t.desiredState,
    };
  }

  private async referenceIds(): Promise<{ secret(name: string): string; config(name: string): string }> {
    const [secrets, configs] = await Promise.all([this.listSecrets(), this.listConfigs()]);
    return { secret: (name) => secrets.find((s) => s.name === name)?.id ?? name, config: (name) => configs.find((c) => c.name === name)?.id ?? name };
  }

  /** The digest the image's registry has for it; null when it has none or cannot be asked. */
  async distribution(image: string, _options?: WriteOptions): Promise<ImageDistribution | null> {
    let pinned: string | null;
    try {
      pinned = (await this.engine.registryDigest(image)) ?? null;
    } catch {
      return null;
    }
    const digest = pinned?.slice(pinned.indexOf('@') + 1);
    return digest ? { digest, platforms: [] } : null;
  }

  close(): void {
    this.engine.close();
  }
}

function logLine(task: Task, stream: 'stdout' | 'stderr', text: string, timestamps: boolean): ServiceLogLine {
  let time: string | undefined;
  let rest = text;
  if (timestamps) {
    const sp = text.indexOf(' ');
    if (sp > 0) {
      time = text.slice(0, sp);
      rest = text.slice(sp + 1);
    }
  }
  return { serviceId: task.serviceId, taskId: task.id, nodeId: task.nodeId, stream, text: rest, ...(time ? { time } : {}) };
}
