/**
 * Docker Swarm through the Engine API: the SwarmCluster interface over one DockerClient. Specs go
 * out encoded as Docker's CLI encodes them (./encode.ts) and come back decoded (./decode.ts);
 * network ids in what the daemon returns are mapped back to names with one network listing per
 * call that needs it.
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
} from '../../../contract/swarm.js';
import { EngineError } from '../../../contract/errors.js';
import { resolveEndpoint, type EndpointOptions } from '../endpoint.js';
import { DockerClient } from '../client.js';
import { storableSpec } from './api-versions.js';
import { registryAuthFor } from '../registry-auth.js';
import { jsonFilters, orNull, seg } from '../paths.js';
import { demultiplex, raw, untilAborted } from '../streams.js';
import type { DDistribution, DInfo, DNetwork, DNode, DService, DStoredObject, DTask } from './api-types.js';
import { decodeNetwork, decodeNode, decodeService, decodeStoredObject, decodeTaskObject } from './decode.js';
import { encodeConfigSpec, encodeNetworkSpec, encodeNodeSpec, encodeSecretSpec, encodeServiceSpec, type ReferenceIds } from './encode.js';

function filters(f: ListFilter | undefined, extra: Record<string, string[] | undefined> = {}): string | undefined {
  return jsonFilters({ label: f?.labels, name: f?.names, id: f?.ids, ...extra });
}


/** Docker's name filters match prefixes and substrings; callers asking by name want the name. */
function exactNames<T>(items: T[], names: string[] | undefined, nameOf: (item: T) => string): T[] {
  return names && names.length > 0 ? items.filter((i) => names.includes(nameOf(i))) : items;
}

export class DockerSwarm implements SwarmCluster {
  private readonly client: DockerClient;
  private readonly env: Readonly<Record<string, string | undefined>>;

  constructor(options: EndpointOptions = {}) {
    this.client = new DockerClient(resolveEndpoint(options));
    this.env = options.env ?? process.env;
  }

  /** X-Registry-Auth for an image, when asked to send credentials. */
  private async authHeaders(image: string, options: WriteOptions | undefined): Promise<Record<string, string>> {
    return options?.sendRegistryAuth ? { 'X-Registry-Auth': await registryAuthFor(image, this.env) } : {};
  }

  get address(): string {
    return this.client.endpoint.address;
  }

  async info(): Promise<ClusterInfo> {
    const info = (await this.client.json<DInfo>('GET', '/info')) ?? {};
    const swarm = info.Swarm ?? {};
    const out: ClusterInfo = { manager: swarm.ControlAvailable === true, nodeId: swarm.NodeID ?? '' };
    if (swarm.LocalNodeState !== 'active') {
      out.problem = `the Docker engine at ${this.address} is not part of a swarm (run "docker swarm init" or "docker swarm join" there first)`;
    } else if (!out.manager) {
      out.problem = `the Docker engine at ${this.address} is a swarm worker; stacks are managed through a manager node`;
    }
    return out;
  }

  // ---- services

  async storable(spec: ServiceSpec): Promise<{ spec: ServiceSpec; dropped: string[] }> {
    return storableSpec(spec, await this.client.apiVersion());
  }

  private names: { at: number; byId: Promise<Map<string, string>> } | undefined;

  /** Network ids to names; one listing serves the calls of the next second (polls ask often). */
  private async networkNames(): Promise<(id: string) => string> {
    const now = Date.now();
    if (!this.names || now - this.names.at > 1000) {
      const byId = this.client.json<DNetwork[]>('GET', '/networks').then((nets) => new Map((nets ?? []).map((n) => [n.Id, n.Name])));
      this.names = { at: now, byId };
      byId.catch(() => {
        this.names = undefined;
      });
    }
    const byId = await this.names.byId;
    return (id) => byId.get(id) ?? id;
  }

  async listServices(filter?: ListFilter): Promise<Service[]> {
    const [raw, names] = await Promise.all([
      this.client.json<DService[]>('GET', '/services', { query: { filters: filters(filter), status: true } }),
      this.networkNames(),
    ]);
    return exactNames((raw ?? []).map((s) => decodeService(s, names)), filter?.names, (s) => s.spec.name);
  }

  async inspectService(idOrName: string): Promise<Service | null> {
    const [raw, names] = await Promise.all([
      orNull(this.client.json<DService>('GET', `/services/${seg(idOrName)}`, { query: { insertDefaults: false } })),
      this.networkNames(),
    ]);
    return raw ? decodeService(raw, names) : null;
  }

  /** The ids of the secrets and configs a spec names (Docker wants both name and id). */
  private async referenceIds(spec: ServiceSpec): Promise<ReferenceIds> {
    const wantSecrets = (spec.task.container.secrets ?? []).map((s) => s.source);
    const wantConfigs = (spec.task.container.configs ?? []).map((s) => s.source);
    const [secrets, configs] = await Promise.all([
      wantSecrets.length > 0 ? this.listSecrets({ names: [...new Set(wantSecrets)] }) : [],
      wantConfigs.length > 0 ? this.listConfigs({ names: [...new Set(wantConfigs)] }) : [],
    ]);
    const lookup = (kind: string, objects: StoredObject[]) => (name: string) => {
      const found = objects.find((o) => o.name === name);
      if (!found) throw new EngineError('not-found', `${kind} not found: ${name}`);
      return found.id;
    };
    return { secret: lookup('secret', secrets), config: lookup('config', configs) };
  }

  async createService(spec: ServiceSpec, options?: WriteOptions): Promise<{ id: string; warnings: string[] }> {
    const body = encodeServiceSpec(spec, await this.referenceIds(spec));
    const res = await this.client.json<{ ID: string; Warnings?: string[] | null }>('POST', '/services/create', {
      body,
      headers: await this.authHeaders(spec.task.container.image, options),
    });
    return { id: res?.ID ?? '', warnings: res?.Warnings ?? [] };
  }

  async updateService(id: string, version: number, spec: ServiceSpec, options?: WriteOptions): Promise<{ warnings: string[] }> {
    const body = encodeServiceSpec(spec, await this.referenceIds(spec));
    const res = await this.client.json<{ Warnings?: string[] | null }>('POST', `/services/${seg(id)}/update`, {
      query: { version },
      body,
      headers: await this.authHeaders(spec.task.container.image, options),
    });
    return { warnings: res?.Warnings ?? [] };
  }

  async rollbackService(id: string, version: number): Promise<{ warnings: string[] }> {
    // The daemon wants the current spec in the body even when it rolls back to the previous one.
    const current = await this.client.json<DService>('GET', `/services/${seg(id)}`, { query: { insertDefaults: false } });
    if (!current) throw new EngineError('not-found', `service ${id} not found`);
    const res = await this.client.json<{ Warnings?: string[] | null }>('POST', `/services/${seg(id)}/update`, {
      query: { version, rollback: 'previous' },
      body: current.Spec,
    });
    return { warnings: res?.Warnings ?? [] };
  }

  async removeService(id: string): Promise<void> {
    await this.client.json('DELETE', `/services/${seg(id)}`);
  }

  async *serviceLogs(serviceId: string, options: ServiceLogOptions): AsyncIterable<ServiceLogLine> {
    const { signal } = options;
    if (signal?.aborted) return;
    const service = await this.client.json<DService>('GET', `/services/${seg(serviceId)}`);
    const tty = service?.Spec.TaskTemplate.ContainerSpec?.TTY === true;
    const query = {
      stdout: true,
      stderr: true,
      // The details name the task and node of each line.
      details: true,
      follow: options.follow || undefined,
      tail: options.tail === undefined ? undefined : String(options.tail),
      timestamps: options.timestamps || undefined,
      since: options.since,
    };
    let res;
    try {
      res = await this.client.streamGet(`/services/${seg(serviceId)}/logs`, signal ? { query, signal } : { query });
    } catch (e) {
      if (signal?.aborted) return;
      throw e;
    }
    const pending = { stdout: '', stderr: '' };
    const decoder = { stdout: new TextDecoder(), stderr: new TextDecoder() };
    for await (const chunk of untilAborted(tty ? raw(res.body) : demultiplex(res.body), signal, () => res.destroy())) {
      pending[chunk.stream] += decoder[chunk.stream].decode(chunk.data, { stream: true });
      let nl: number;
      while ((nl = pending[chunk.stream].indexOf('\n')) >= 0) {
        const line = pending[chunk.stream].slice(0, nl);
        pending[chunk.stream] = pending[chunk.stream].slice(nl + 1);
        yield parseLogLine(line, chunk.stream, serviceId, options.timestamps === true);
      }
    }
    for (const stream of ['stdout', 'stderr'] as const) {
      if (pending[stream] !== '') yield parseLogLine(pending[stream], stream, serviceId, options.timestamps === true);
    }
  }

  // ---- tasks

  async listTasks(filter?: TaskFilter): Promise<Task[]> {
    const f = jsonFilters({ service: filter?.services, node: filter?.nodes, 'desired-state': filter?.desiredStates, label: filter?.labels });
    const [raw, names] = await Promise.all([this.client.json<DTask[]>('GET', '/tasks', { query: { filters: f } }), this.networkNames()]);
    return (raw ?? []).map((t) => decodeTaskObject(t, names));
  }

  // ---- nodes

  async listNodes(filter?: ListFilter): Promise<Node[]> {
    const raw = (await this.client.json<DNode[]>('GET', '/nodes', { query: { filters: filters(filter) } })) ?? [];
    return raw.map(decodeNode);
  }

  async inspectNode(idOrName: string): Promise<Node | null> {
    const raw = await orNull(this.client.json<DNode>('GET', `/nodes/${seg(idOrName)}`));
    return raw ? decodeNode(raw) : null;
  }

  async updateNode(id: string, version: number, spec: NodeSpec): Promise<void> {
    await this.client.json('POST', `/nodes/${seg(id)}/update`, { query: { version }, body: encodeNodeSpec(spec) });
  }

  // ---- networks

  async listNetworks(filter?: ListFilter): Promise<Network[]> {
    const raw = (await this.client.json<DNetwork[]>('GET', '/networks', { query: { filters: filters(filter) } })) ?? [];
    return exactNames(raw.map(decodeNetwork), filter?.names, (n) => n.name);
  }

  async inspectNetwork(idOrName: string): Promise<Network | null> {
    const raw = await orNull(this.client.json<DNetwork>('GET', `/networks/${seg(idOrName)}`, { query: { scope: 'swarm' } }));
    if (raw) return decodeNetwork(raw);
    // Networks every node has on its own (host, bridge, ...) are not swarm-scoped.
    const local = await orNull(this.client.json<DNetwork>('GET', `/networks/${seg(idOrName)}`));
    return local ? decodeNetwork(local) : null;
  }

  async createNetwork(spec: NetworkSpec): Promise<string> {
    this.names = undefined;
    const res = await this.client.json<{ Id: string }>('POST', '/networks/create', { body: encodeNetworkSpec(spec) });
    this.names = undefined;
    return res?.Id ?? '';
  }

  async removeNetwork(id: string): Promise<void> {
    await this.client.json('DELETE', `/networks/${seg(id)}`);
    this.names = undefined;
  }

  // ---- secrets and configs

  async listSecrets(filter?: ListFilter): Promise<StoredObject[]> {
    const raw = (await this.client.json<DStoredObject[]>('GET', '/secrets', { query: { filters: filters(filter) } })) ?? [];
    return exactNames(raw.map(decodeStoredObject), filter?.names, (o) => o.name);
  }

  async createSecret(spec: SecretSpec): Promise<string> {
    const res = await this.client.json<{ ID: string }>('POST', '/secrets/create', { body: encodeSecretSpec(spec) });
    return res?.ID ?? '';
  }

  async updateSecret(id: string, version: number, spec: SecretSpec): Promise<void> {
    await this.client.json('POST', `/secrets/${seg(id)}/update`, { query: { version }, body: encodeSecretSpec(spec) });
  }

  async removeSecret(id: string): Promise<void> {
    await this.client.json('DELETE', `/secrets/${seg(id)}`);
  }

  async listConfigs(filter?: ListFilter): Promise<StoredObject[]> {
    const raw = (await this.client.json<DStoredObject[]>('GET', '/configs', { query: { filters: filters(filter) } })) ?? [];
    return exactNames(raw.map(decodeStoredObject), filter?.names, (o) => o.name);
  }

  async createConfig(spec: ConfigSpec): Promise<string> {
    const res = await this.client.json<{ ID: string }>('POST', '/configs/create', { body: encodeConfigSpec(spec) });
    return res?.ID ?? '';
  }

  async updateConfig(id: string, version: number, spec: ConfigSpec): Promise<void> {
    await this.client.json('POST', `/configs/${seg(id)}/update`, { query: { version }, body: encodeConfigSpec(spec) });
  }

  async removeConfig(id: string): Promise<void> {
    await this.client.json('DELETE', `/configs/${seg(id)}`);
  }

  async inspectRaw(kind: 'service' | 'task' | 'node', idOrName: string): Promise<unknown> {
    const path = { service: '/services/', task: '/tasks/', node: '/nodes/' }[kind] + seg(idOrName);
    // As `docker service inspect` shows a service: with the swarm's defaults filled in.
    return orNull(this.client.json<unknown>('GET', path, kind === 'service' ? { query: { insertDefaults: true } } : {}));
  }

  async distribution(image: string, options?: WriteOptions): Promise<ImageDistribution | null> {
    try {
      const res = await this.client.json<DDistribution>('GET', `/distribution/${seg(image)}/json`, { headers: await this.authHeaders(image, options) });
      if (!res) return null;
      return { digest: res.Descriptor.digest, platforms: (res.Platforms ?? []).map((p) => ({ os: p.os, architecture: p.architecture })) };
    } catch (e) {
      if (e instanceof EngineError && e.kind !== 'unreachable') return null;
      throw e;
    }
  }

  close(): void {
    this.client.close();
  }
}

/**
 * One line of a service's log with details: `[time ]key=value,key=value message`. The details
 * name the task and node; a line without them (an old engine) keeps only its text.
 */
export function parseLogLine(line: string, stream: 'stdout' | 'stderr', serviceId: string, timestamps: boolean): ServiceLogLine {
  let rest = line;
  let time: string | undefined;
  if (timestamps) {
    const sp = rest.indexOf(' ');
    if (sp > 0) {
      time = rest.slice(0, sp);
      rest = rest.slice(sp + 1);
    }
  }
  const out: ServiceLogLine = { serviceId, taskId: '', nodeId: '', stream, text: rest };
  const sp = rest.indexOf(' ');
  const head = sp >= 0 ? rest.slice(0, sp) : rest;
  if (head.includes('com.docker.swarm.')) {
    for (const pair of head.split(',')) {
      const eq = pair.indexOf('=');
      const key = pair.slice(0, eq);
      const value = decodeURIComponent(pair.slice(eq + 1));
      if (key === 'com.docker.swarm.task.id') out.taskId = value;
      else if (key === 'com.docker.swarm.node.id') out.nodeId = value;
      else if (key === 'com.docker.swarm.service.id') out.serviceId = value;
    }
    out.text = sp >= 0 ? rest.slice(sp + 1) : '';
  }
  if (time !== undefined) out.time = time;
  return out;
}
