/**
 * Docker Engine API swarm objects read into the neutral types of src/contract/swarm.ts. Network
 * attachments name their network by id in what the daemon returns: `networkName` maps ids back
 * to names (an id it does not know stays as it is).
 */
import type {
  ContainerSpec,
  Labels,
  Mount,
  Network,
  Node,
  PortConfig,
  Service,
  ServiceMode,
  ServiceSpec,
  StoredObject,
  Task,
  TaskSpec,
  TaskState,
  UpdatePolicy,
  UpdateState,
} from '../../../contract/swarm.js';
import { TASK_STATES } from '../../../contract/swarm.js';
import type { DContainerSpec, DLabels, DNetwork, DNode, DPortConfig, DService, DServiceSpec, DStoredObject, DTask, DTaskSpec, DUpdateConfig } from './api-types.js';

export type NetworkNames = (id: string) => string;

function set<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined | null): void {
  if (value !== undefined && value !== null) target[key] = value;
}

function labels(l: DLabels | undefined): Labels {
  return l ? { ...l } : {};
}

function list<T>(l: T[] | null | undefined): T[] | undefined {
  return l && l.length > 0 ? [...l] : undefined;
}

export function decodePorts(ports: DPortConfig[] | null | undefined): PortConfig[] {
  return (ports ?? []).map((p) => {
    const out: PortConfig = {
      protocol: (p.Protocol ?? 'tcp') as PortConfig['protocol'],
      target: p.TargetPort ?? 0,
      mode: p.PublishMode === 'host' ? 'host' : 'ingress',
    };
    if (p.PublishedPort !== undefined && p.PublishedPort !== 0) out.published = p.PublishedPort;
    return out;
  });
}

function decodeMode(mode: DServiceSpec['Mode']): ServiceMode {
  if (mode?.Global) return { kind: 'global' };
  if (mode?.GlobalJob) return { kind: 'global-job' };
  if (mode?.ReplicatedJob) {
    const out: ServiceMode = { kind: 'replicated-job' };
    set(out, 'maxConcurrent', mode.ReplicatedJob.MaxConcurrent);
    set(out, 'totalCompletions', mode.ReplicatedJob.TotalCompletions);
    return out;
  }
  const out: ServiceMode = { kind: 'replicated' };
  set(out, 'replicas', mode?.Replicated?.Replicas);
  return out;
}

function decodeUpdate(u: DUpdateConfig): UpdatePolicy {
  const out: UpdatePolicy = { parallelism: u.Parallelism ?? 0 };
  set(out, 'delay', u.Delay);
  set(out, 'failureAction', u.FailureAction as UpdatePolicy['failureAction']);
  set(out, 'monitor', u.Monitor);
  set(out, 'maxFailureRatio', u.MaxFailureRatio);
  set(out, 'order', u.Order as UpdatePolicy['order']);
  return out;
}

function decodeMount(m: NonNullable<DContainerSpec['Mounts']>[number]): Mount {
  if (m.Type === 'tmpfs') {
    const out: Mount = { type: 'tmpfs', target: m.Target };
    set(out, 'readOnly', m.ReadOnly);
    set(out, 'consistency', m.Consistency);
    set(out, 'sizeBytes', m.TmpfsOptions?.SizeBytes);
    set(out, 'mode', m.TmpfsOptions?.Mode);
    return out;
  }
  if (m.Type === 'bind') {
    const out: Mount = { type: 'bind', source: m.Source ?? '', target: m.Target };
    set(out, 'readOnly', m.ReadOnly);
    set(out, 'consistency', m.Consistency);
    set(out, 'propagation', m.BindOptions?.Propagation);
    return out;
  }
  const out: Mount = { type: 'volume', target: m.Target };
  if (m.Source) out.source = m.Source;
  set(out, 'readOnly', m.ReadOnly);
  set(out, 'consistency', m.Consistency);
  const v = m.VolumeOptions;
  if (v) {
    if (v.NoCopy) out.noCopy = true;
    if (v.Labels) out.volumeLabels = { ...v.Labels };
    if (v.DriverConfig) {
      const d: { name: string; options?: Labels } = { name: v.DriverConfig.Name ?? '' };
      if (v.DriverConfig.Options) d.options = { ...v.DriverConfig.Options };
      out.driver = d;
    }
  }
  return out;
}

function decodeContainer(c: DContainerSpec | undefined): ContainerSpec {
  const out: ContainerSpec = { image: c?.Image ?? '' };
  if (!c) return out;
  if (c.Labels) out.labels = { ...c.Labels };
  set(out, 'command', list(c.Command));
  set(out, 'args', list(c.Args));
  if (c.Hostname) out.hostname = c.Hostname;
  set(out, 'env', list(c.Env));
  if (c.Dir) out.dir = c.Dir;
  if (c.User) out.user = c.User;
  set(out, 'groups', list(c.Groups));
  const cred = c.Privileges?.CredentialSpec;
  if (cred) {
    const spec: NonNullable<ContainerSpec['credentialSpec']> = {};
    if (cred.Config) spec.config = cred.Config;
    if (cred.File) spec.file = cred.File;
    if (cred.Registry) spec.registry = cred.Registry;
    out.credentialSpec = spec;
  }
  set(out, 'init', c.Init);
  if (c.StopSignal) out.stopSignal = c.StopSignal;
  set(out, 'stopGracePeriod', c.StopGracePeriod);
  if (c.TTY) out.tty = true;
  if (c.OpenStdin) out.openStdin = true;
  if (c.ReadOnly) out.readOnly = true;
  if (c.Mounts && c.Mounts.length > 0) out.mounts = c.Mounts.map(decodeMount);
  if (c.Healthcheck) {
    const h: NonNullable<ContainerSpec['healthcheck']> = {};
    set(h, 'test', list(c.Healthcheck.Test));
    if (c.Healthcheck.Interval) h.interval = c.Healthcheck.Interval;
    if (c.Healthcheck.Timeout) h.timeout = c.Healthcheck.Timeout;
    if (c.Healthcheck.StartPeriod) h.startPeriod = c.Healthcheck.StartPeriod;
    if (c.Healthcheck.StartInterval) h.startInterval = c.Healthcheck.StartInterval;
    if (c.Healthcheck.Retries) h.retries = c.Healthcheck.Retries;
    out.healthcheck = h;
  }
  set(out, 'hosts', list(c.Hosts));
  if (c.DNSConfig && (c.DNSConfig.Nameservers || c.DNSConfig.Search || c.DNSConfig.Options)) {
    const d: NonNullable<ContainerSpec['dns']> = {};
    set(d, 'nameservers', c.DNSConfig.Nameservers);
    set(d, 'search', c.DNSConfig.Search);
    set(d, 'options', c.DNSConfig.Options);
    out.dns = d;
  }
  const file = (r: { File?: { Name: string; UID: string; GID: string; Mode: number } | null }, source: string) => ({
    source,
    target: r.File?.Name ?? '',
    uid: r.File?.UID ?? '0',
    gid: r.File?.GID ?? '0',
    mode: r.File?.Mode ?? 0o444,
  });
  if (c.Secrets && c.Secrets.length > 0) out.secrets = c.Secrets.map((s) => file(s, s.SecretName));
  // Runtime references (credential specs) are not files: they follow from credentialSpec.
  const configFiles = (c.Configs ?? []).filter((x) => x.File);
  if (configFiles.length > 0) out.configs = configFiles.map((s) => file(s, s.ConfigName));
  if (c.Isolation) out.isolation = c.Isolation;
  if (c.Sysctls) out.sysctls = { ...c.Sysctls };
  set(out, 'capabilityAdd', list(c.CapabilityAdd));
  set(out, 'capabilityDrop', list(c.CapabilityDrop));
  if (c.Ulimits && c.Ulimits.length > 0) out.ulimits = c.Ulimits.map((u) => ({ name: u.Name, soft: u.Soft, hard: u.Hard }));
  if (c.OomScoreAdj) out.oomScoreAdj = c.OomScoreAdj;
  return out;
}

function decodeTask(t: DTaskSpec, networkName: NetworkNames): TaskSpec {
  const out: TaskSpec = { container: decodeContainer(t.ContainerSpec) };
  const r = t.Resources;
  if (r && (r.Limits || r.Reservations)) {
    const resources: NonNullable<TaskSpec['resources']> = {};
    if (r.Limits) {
      const l: NonNullable<NonNullable<TaskSpec['resources']>['limits']> = {};
      if (r.Limits.NanoCPUs) l.nanoCpus = r.Limits.NanoCPUs;
      if (r.Limits.MemoryBytes) l.memoryBytes = r.Limits.MemoryBytes;
      if (r.Limits.Pids) l.pids = r.Limits.Pids;
      resources.limits = l;
    }
    if (r.Reservations) {
      const v: NonNullable<NonNullable<TaskSpec['resources']>['reservations']> = {};
      if (r.Reservations.NanoCPUs) v.nanoCpus = r.Reservations.NanoCPUs;
      if (r.Reservations.MemoryBytes) v.memoryBytes = r.Reservations.MemoryBytes;
      const generic = (r.Reservations.GenericResources ?? []).flatMap((g) =>
        g.DiscreteResourceSpec ? [{ kind: g.DiscreteResourceSpec.Kind, value: g.DiscreteResourceSpec.Value }] : [],
      );
      if (generic.length > 0) v.generic = generic;
      resources.reservations = v;
    }
    out.resources = resources;
  }
  if (t.RestartPolicy) {
    const p: NonNullable<TaskSpec['restart']> = {};
    set(p, 'condition', t.RestartPolicy.Condition as NonNullable<TaskSpec['restart']>['condition']);
    set(p, 'delay', t.RestartPolicy.Delay);
    set(p, 'maxAttempts', t.RestartPolicy.MaxAttempts);
    set(p, 'window', t.RestartPolicy.Window);
    out.restart = p;
  }
  const pl = t.Placement;
  if (pl && (pl.Constraints?.length || pl.Preferences?.length || pl.MaxReplicas || pl.Platforms?.length)) {
    const p: NonNullable<TaskSpec['placement']> = {};
    set(p, 'constraints', list(pl.Constraints));
    const spread = (pl.Preferences ?? []).flatMap((x) => (x.Spread ? [x.Spread.SpreadDescriptor] : []));
    if (spread.length > 0) p.spread = spread;
    if (pl.MaxReplicas) p.maxReplicas = pl.MaxReplicas;
    if (pl.Platforms && pl.Platforms.length > 0) p.platforms = pl.Platforms.map((x) => ({ os: x.OS, architecture: x.Architecture }));
    out.placement = p;
  }
  if (t.Networks && t.Networks.length > 0) {
    out.networks = t.Networks.map((n) => {
      const a: NonNullable<TaskSpec['networks']>[number] = { target: networkName(n.Target) };
      set(a, 'aliases', list(n.Aliases));
      if (n.DriverOpts) a.driverOpts = { ...n.DriverOpts };
      return a;
    });
  }
  if (t.LogDriver) {
    const d: NonNullable<TaskSpec['logDriver']> = { name: t.LogDriver.Name };
    if (t.LogDriver.Options) d.options = { ...t.LogDriver.Options };
    out.logDriver = d;
  }
  if (t.ForceUpdate) out.forceUpdate = t.ForceUpdate;
  return out;
}

export function decodeServiceSpec(s: DServiceSpec, networkName: NetworkNames): ServiceSpec {
  const task = decodeTask(s.TaskTemplate, networkName);
  // Services made by Docker 1.12's bundle deploy name their networks in the deprecated field.
  if (!task.networks && s.Networks && s.Networks.length > 0) {
    task.networks = decodeTask({ Networks: s.Networks }, networkName).networks ?? [];
  }
  const out: ServiceSpec = { name: s.Name, labels: labels(s.Labels), task, mode: decodeMode(s.Mode) };
  if (s.UpdateConfig) out.update = decodeUpdate(s.UpdateConfig);
  if (s.RollbackConfig) out.rollback = decodeUpdate(s.RollbackConfig);
  if (s.EndpointSpec) {
    const e: NonNullable<ServiceSpec['endpoint']> = {};
    if (s.EndpointSpec.Mode) e.mode = s.EndpointSpec.Mode as 'vip' | 'dnsrr';
    const ports = decodePorts(s.EndpointSpec.Ports);
    if (ports.length > 0) e.ports = ports;
    out.endpoint = e;
  }
  return out;
}

export function decodeService(s: DService, networkName: NetworkNames): Service {
  const out: Service = {
    id: s.ID,
    version: s.Version.Index,
    createdAt: s.CreatedAt,
    updatedAt: s.UpdatedAt,
    spec: decodeServiceSpec(s.Spec, networkName),
    endpointPorts: decodePorts(s.Endpoint?.Ports),
  };
  if (s.PreviousSpec) out.previousSpec = decodeServiceSpec(s.PreviousSpec, networkName);
  if (s.UpdateStatus?.State) {
    const u: NonNullable<Service['updateStatus']> = { state: s.UpdateStatus.State as UpdateState };
    if (s.UpdateStatus.Message) u.message = s.UpdateStatus.Message;
    if (s.UpdateStatus.StartedAt) u.startedAt = s.UpdateStatus.StartedAt;
    if (s.UpdateStatus.CompletedAt) u.completedAt = s.UpdateStatus.CompletedAt;
    out.updateStatus = u;
  }
  if (s.ServiceStatus) {
    const st: NonNullable<Service['status']> = { running: s.ServiceStatus.RunningTasks, desired: s.ServiceStatus.DesiredTasks };
    if (s.ServiceStatus.CompletedTasks !== undefined) st.completed = s.ServiceStatus.CompletedTasks;
    out.status = st;
  }
  return out;
}

function taskState(s: string): TaskState {
  return (TASK_STATES as readonly string[]).includes(s) ? (s as TaskState) : 'new';
}

export function decodeTaskObject(t: DTask, networkName: NetworkNames): Task {
  const out: Task = {
    id: t.ID,
    version: t.Version.Index,
    createdAt: t.CreatedAt,
    updatedAt: t.UpdatedAt,
    serviceId: t.ServiceID,
    slot: t.Slot ?? 0,
    nodeId: t.NodeID ?? '',
    desiredState: taskState(t.DesiredState),
    state: taskState(t.Status.State),
    timestamp: t.Status.Timestamp ?? t.UpdatedAt,
    message: t.Status.Message ?? '',
    image: t.Spec.ContainerSpec?.Image ?? '',
    ports: decodePorts(t.Status.PortStatus?.Ports),
    spec: decodeTask(t.Spec, networkName),
  };
  if (t.Status.Err) out.error = t.Status.Err;
  const cs = t.Status.ContainerStatus;
  if (cs?.ContainerID) out.containerId = cs.ContainerID;
  if (cs && cs.ExitCode !== undefined && (out.state === 'complete' || out.state === 'failed' || out.state === 'shutdown')) out.exitCode = cs.ExitCode;
  return out;
}

export function decodeNode(n: DNode): Node {
  const out: Node = {
    id: n.ID,
    version: n.Version.Index,
    createdAt: n.CreatedAt,
    updatedAt: n.UpdatedAt,
    spec: {
      labels: labels(n.Spec.Labels),
      role: n.Spec.Role === 'manager' ? 'manager' : 'worker',
      availability: (n.Spec.Availability || 'active') as Node['spec']['availability'],
    },
    hostname: n.Description?.Hostname ?? '',
    platform: { os: n.Description?.Platform?.OS ?? '', architecture: n.Description?.Platform?.Architecture ?? '' },
    engineVersion: n.Description?.Engine?.EngineVersion ?? '',
    state: (n.Status.State || 'unknown') as Node['state'],
    addr: n.Status.Addr ?? '',
    resources: { nanoCpus: n.Description?.Resources?.NanoCPUs ?? 0, memoryBytes: n.Description?.Resources?.MemoryBytes ?? 0 },
  };
  if (n.Spec.Name) out.spec.name = n.Spec.Name;
  if (n.ManagerStatus) {
    out.manager = { leader: n.ManagerStatus.Leader === true, reachability: n.ManagerStatus.Reachability ?? '', addr: n.ManagerStatus.Addr ?? '' };
  }
  return out;
}

export function decodeNetwork(n: DNetwork): Network {
  return {
    id: n.Id,
    name: n.Name,
    driver: n.Driver,
    scope: n.Scope,
    labels: labels(n.Labels),
    options: labels(n.Options),
    internal: n.Internal,
    attachable: n.Attachable,
    subnets: (n.IPAM?.Config ?? []).flatMap((c) => (c.Subnet ? [c.Subnet] : [])),
  };
}

export function decodeStoredObject(o: DStoredObject): StoredObject {
  const out: StoredObject = {
    id: o.ID,
    version: o.Version.Index,
    createdAt: o.CreatedAt,
    updatedAt: o.UpdatedAt,
    name: o.Spec.Name,
    labels: labels(o.Spec.Labels),
  };
  if (o.Spec.Data !== undefined) out.data = Buffer.from(o.Spec.Data, 'base64');
  if (o.Spec.Driver?.Name) out.driver = o.Spec.Driver.Name;
  if (o.Spec.Templating?.Name) out.templateDriver = o.Spec.Templating.Name;
  return out;
}
