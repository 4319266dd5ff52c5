/**
 * A service spec of the embedded swarm as `docker service inspect` prints one: what Docker's CLI
 * sends (../docker/swarm/encode.ts), then what the Docker daemon makes of it when it stores it
 * (enums always written: restart condition, failure action, order; replicas 1; isolation
 * "default"; the task's runtime "container" and force-update counter), networks named by id, maps
 * with their keys sorted and every object's fields in the order of Docker CLI 28's types (Go
 * writes struct fields in declaration order and map keys sorted).
 */
import type { PortConfig, Service, ServiceSpec } from '../../contract/swarm.js';
import { encodeServiceSpec, type ReferenceIds } from '../docker/swarm/encode.js';

type Json = Record<string, unknown>;

/** The fields of each object kind in the order Docker CLI 28 declares them. */
const ORDER = {
  spec: ['Name', 'Labels', 'TaskTemplate', 'Mode', 'UpdateConfig', 'RollbackConfig', 'Networks', 'EndpointSpec'],
  task: ['ContainerSpec', 'PluginSpec', 'NetworkAttachmentSpec', 'Resources', 'RestartPolicy', 'Placement', 'Networks', 'LogDriver', 'ForceUpdate', 'Runtime'],
  container: [
    'Image', 'Labels', 'Command', 'Args', 'Hostname', 'Env', 'Dir', 'User', 'Groups', 'Privileges', 'Init', 'StopSignal', 'TTY', 'OpenStdin', 'ReadOnly', 'Mounts',
    'StopGracePeriod', 'Healthcheck', 'Hosts', 'DNSConfig', 'Secrets', 'Configs', 'Isolation', 'Sysctls', 'CapabilityAdd', 'CapabilityDrop', 'Ulimits', 'OomScoreAdj',
  ],
  restart: ['Condition', 'Delay', 'MaxAttempts', 'Window'],
  update: ['Parallelism', 'Delay', 'FailureAction', 'Monitor', 'MaxFailureRatio', 'Order'],
  ulimit: ['Name', 'Hard', 'Soft'],
  mount: ['Type', 'Source', 'Target', 'ReadOnly', 'Consistency', 'BindOptions', 'VolumeOptions', 'ImageOptions', 'TmpfsOptions', 'ClusterOptions'],
  healthcheck: ['Test', 'Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries'],
} as const;

function ordered(o: Json, order: readonly string[]): Json {
  const out: Json = {};
  for (const k of order) if (o[k] !== undefined) out[k] = o[k];
  for (const [k, v] of Object.entries(o)) if (!(k in out) && v !== undefined) out[k] = v;
  return out;
}

/** A map (labels, options, sysctls) as Go writes it: keys sorted. */
function sortedMap(m: unknown): unknown {
  if (typeof m !== 'object' || m === null) return m;
  return Object.fromEntries(Object.entries(m as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function sortMapsOf(o: Json | undefined, keys: readonly string[]): void {
  if (!o) return;
  for (const k of keys) if (o[k] !== undefined) o[k] = sortedMap(o[k]);
}

function updateConfig(u: unknown): Json | undefined {
  if (!u) return undefined;
  const c = u as Json;
  // Go leaves a zero Delay or Monitor out (omitempty); the enums and the ratio are always written.
  return ordered({ ...c, Delay: c['Delay'] || undefined, Monitor: c['Monitor'] || undefined, FailureAction: c['FailureAction'] || 'pause', MaxFailureRatio: c['MaxFailureRatio'] ?? 0, Order: c['Order'] || 'stop-first' }, ORDER.update);
}

/** `networkId`: the id of a swarm network named in the spec (its name when there is none). */
export function inspectedSpec(spec: ServiceSpec, ids: ReferenceIds & { network(name: string): string }): Json {
  const d = encodeServiceSpec(spec, ids) as unknown as Json;
  sortMapsOf(d, ['Labels']);
  const task = d['TaskTemplate'] as Json;
  const c = task['ContainerSpec'] as Json;
  sortMapsOf(c, ['Labels', 'Sysctls']);
  const privileges = (c['Privileges'] ?? {}) as Json;
  c['Privileges'] = { ...privileges, CredentialSpec: privileges['CredentialSpec'] ?? null, SELinuxContext: privileges['SELinuxContext'] ?? null, NoNewPrivileges: privileges['NoNewPrivileges'] ?? false };
  c['Isolation'] ??= 'default';
  if (Array.isArray(c['Ulimits'])) c['Ulimits'] = (c['Ulimits'] as Json[]).map((u) => ordered(u, ORDER.ulimit));
  if (c['Healthcheck']) c['Healthcheck'] = ordered(c['Healthcheck'] as Json, ORDER.healthcheck);
  if (Array.isArray(c['Mounts'])) {
    c['Mounts'] = (c['Mounts'] as Json[]).map((m) => {
      const v = m['VolumeOptions'] as Json | undefined;
      sortMapsOf(v, ['Labels']);
      sortMapsOf(v?.['DriverConfig'] as Json | undefined, ['Options']);
      return ordered(m, ORDER.mount);
    });
  }
  task['ContainerSpec'] = ordered(c, ORDER.container);
  const restart = task['RestartPolicy'] as Json | undefined;
  if (restart) task['RestartPolicy'] = ordered({ ...restart, Condition: restart['Condition'] || 'any', MaxAttempts: restart['MaxAttempts'] ?? 0 }, ORDER.restart);
  for (const n of (task['Networks'] as Json[] | undefined) ?? []) {
    n['Target'] = ids.network(n['Target'] as string);
    sortMapsOf(n, ['DriverOpts']);
  }
  const log = task['LogDriver'] as Json | undefined;
  if (log) {
    if (!log['Name']) delete log['Name'];
    sortMapsOf(log, ['Options']);
  }
  task['ForceUpdate'] ??= 0;
  task['Runtime'] = 'container';
  d['TaskTemplate'] = ordered(task, ORDER.task);
  const replicated = (d['Mode'] as Json | undefined)?.['Replicated'] as Json | undefined;
  if (replicated) replicated['Replicas'] ??= 1;
  d['UpdateConfig'] = updateConfig(d['UpdateConfig']);
  d['RollbackConfig'] = updateConfig(d['RollbackConfig']);
  const endpoint = d['EndpointSpec'] as Json | undefined;
  if (endpoint) d['EndpointSpec'] = { Mode: endpoint['Mode'] || 'vip', ...(endpoint['Ports'] ? { Ports: endpoint['Ports'] } : {}) };
  return ordered(d, ORDER.spec);
}

/**
 * The Endpoint as Docker shows it: its Spec (the service's endpoint spec), the ports as published
 * and the virtual IPs. swarmkit gives a service an endpoint only when it needs one (a virtual IP
 * or ports), so a dnsrr service without ports shows an empty Spec.
 */
export function inspectedEndpoint(service: Service): Json {
  const ports = service.spec.endpoint?.ports ?? [];
  if (service.spec.endpoint?.mode === 'dnsrr' && ports.length === 0) return { Spec: {} };
  const port = (p: PortConfig): Json => ({ Protocol: p.protocol, TargetPort: p.target, ...(p.published ? { PublishedPort: p.published } : {}), PublishMode: p.mode });
  return {
    Spec: { Mode: service.spec.endpoint?.mode ?? 'vip', ...(ports.length > 0 ? { Ports: ports.map(port) } : {}) },
    ...(service.endpointPorts.length > 0 ? { Ports: service.endpointPorts.map(port) } : {}),
    ...(service.virtualIps?.length ? { VirtualIPs: service.virtualIps.map((v) => ({ NetworkID: v.networkId, Addr: v.addr })) } : {}),
  };
}
