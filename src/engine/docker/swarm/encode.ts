/**
 * Neutral swarm specs (src/contract/swarm.ts) as Docker Engine API JSON, shaped as Docker's own
 * CLI sends them (`docker stack deploy`), so that the daemon stores the same spec either way: a
 * field is written only when it is set, except Privileges, which the CLI always sends (the daemon
 * then stores and returns an empty one).
 */
import type {
  ConfigSpec,
  ContainerSpec,
  FileReference,
  Labels,
  Mount,
  NetworkSpec,
  NodeSpec,
  SecretSpec,
  ServiceMode,
  ServiceSpec,
  TaskSpec,
  UpdatePolicy,
} from '../../../contract/swarm.js';
import type { DContainerSpec, DMount, DServiceSpec, DTaskSpec, DUpdateConfig } from './api-types.js';

/** How the daemon names the secrets and configs a service refers to (by id as well as by name). */
export interface ReferenceIds {
  secret(name: string): string;
  config(name: string): string;
}

function set<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) target[key] = value;
}

function copyLabels(labels: Labels | undefined): Labels | undefined {
  return labels === undefined ? undefined : { ...labels };
}

export function encodeServiceSpec(spec: ServiceSpec, ids: ReferenceIds): DServiceSpec {
  const out: DServiceSpec = { Name: spec.name, Labels: { ...spec.labels }, TaskTemplate: encodeTaskSpec(spec.task, ids), Mode: encodeMode(spec.mode) };
  set(out, 'UpdateConfig', spec.update && encodeUpdatePolicy(spec.update));
  set(out, 'RollbackConfig', spec.rollback && encodeUpdatePolicy(spec.rollback));
  if (spec.endpoint) {
    const endpoint: NonNullable<DServiceSpec['EndpointSpec']> = {};
    set(endpoint, 'Mode', spec.endpoint.mode);
    if (spec.endpoint.ports && spec.endpoint.ports.length > 0) {
      endpoint.Ports = spec.endpoint.ports.map((p) => {
        const port: NonNullable<typeof endpoint.Ports>[number] = { Protocol: p.protocol, TargetPort: p.target };
        set(port, 'PublishedPort', p.published);
        port.PublishMode = p.mode;
        return port;
      });
    }
    out.EndpointSpec = endpoint;
  }
  return out;
}

function encodeMode(mode: ServiceMode): NonNullable<DServiceSpec['Mode']> {
  switch (mode.kind) {
    case 'replicated':
      return { Replicated: mode.replicas === undefined ? {} : { Replicas: mode.replicas } };
    case 'global':
      return { Global: {} };
    case 'replicated-job': {
      const job: { MaxConcurrent?: number; TotalCompletions?: number } = {};
      set(job, 'MaxConcurrent', mode.maxConcurrent);
      set(job, 'TotalCompletions', mode.totalCompletions);
      return { ReplicatedJob: job };
    }
    case 'global-job':
      return { GlobalJob: {} };
  }
}

function encodeUpdatePolicy(p: UpdatePolicy): DUpdateConfig {
  const out: DUpdateConfig = { Parallelism: p.parallelism };
  set(out, 'Delay', p.delay);
  set(out, 'FailureAction', p.failureAction);
  set(out, 'Monitor', p.monitor);
  set(out, 'MaxFailureRatio', p.maxFailureRatio);
  set(out, 'Order', p.order);
  return out;
}

function encodeTaskSpec(task: TaskSpec, ids: ReferenceIds): DTaskSpec {
  const out: DTaskSpec = { ContainerSpec: encodeContainerSpec(task.container, ids) };
  if (task.resources) {
    const resources: NonNullable<DTaskSpec['Resources']> = {};
    const { limits, reservations } = task.resources;
    if (limits) {
      const l: { NanoCPUs?: number; MemoryBytes?: number; Pids?: number } = {};
      set(l, 'NanoCPUs', limits.nanoCpus);
      set(l, 'MemoryBytes', limits.memoryBytes);
      set(l, 'Pids', limits.pids);
      resources.Limits = l;
    }
    if (reservations) {
      const r: NonNullable<NonNullable<DTaskSpec['Resources']>['Reservations']> = {};
      set(r, 'NanoCPUs', reservations.nanoCpus);
      set(r, 'MemoryBytes', reservations.memoryBytes);
      if (reservations.generic && reservations.generic.length > 0) {
        r.GenericResources = reservations.generic.map((g) => ({ DiscreteResourceSpec: { Kind: g.kind, Value: g.value } }));
      }
      resources.Reservations = r;
    }
    out.Resources = resources;
  }
  if (task.restart) {
    const r: NonNullable<DTaskSpec['RestartPolicy']> = {};
    set(r, 'Condition', task.restart.condition);
    set(r, 'Delay', task.restart.delay);
    set(r, 'MaxAttempts', task.restart.maxAttempts);
    set(r, 'Window', task.restart.window);
    out.RestartPolicy = r;
  }
  if (task.placement) {
    const p: NonNullable<DTaskSpec['Placement']> = {};
    const { constraints, spread, maxReplicas, platforms } = task.placement;
    if (constraints && constraints.length > 0) p.Constraints = [...constraints];
    if (spread && spread.length > 0) p.Preferences = spread.map((d) => ({ Spread: { SpreadDescriptor: d } }));
    set(p, 'MaxReplicas', maxReplicas);
    if (platforms && platforms.length > 0) p.Platforms = platforms.map((x) => ({ Architecture: x.architecture, OS: x.os }));
    out.Placement = p;
  }
  if (task.networks && task.networks.length > 0) {
    out.Networks = task.networks.map((n) => {
      const a: NonNullable<DTaskSpec['Networks']>[number] = { Target: n.target };
      if (n.aliases && n.aliases.length > 0) a.Aliases = [...n.aliases];
      set(a, 'DriverOpts', copyLabels(n.driverOpts));
      return a;
    });
  }
  if (task.logDriver) {
    const d: NonNullable<DTaskSpec['LogDriver']> = { Name: task.logDriver.name };
    set(d, 'Options', copyLabels(task.logDriver.options));
    out.LogDriver = d;
  }
  set(out, 'ForceUpdate', task.forceUpdate);
  return out;
}

function encodeMount(m: Mount): DMount {
  const out: DMount = { Type: m.type, Target: m.target };
  if (m.type !== 'tmpfs') set(out, 'Source', m.source);
  set(out, 'ReadOnly', m.readOnly);
  set(out, 'Consistency', m.consistency);
  if (m.type === 'bind' && m.propagation !== undefined) out.BindOptions = { Propagation: m.propagation };
  // Docker's CLI gives every named volume options, empty or not.
  if (m.type === 'volume' && m.source !== undefined) {
    const v: NonNullable<DMount['VolumeOptions']> = {};
    if (m.noCopy) v.NoCopy = true;
    set(v, 'Labels', copyLabels(m.volumeLabels));
    if (m.driver) {
      const d: { Name?: string; Options?: Labels } = { Name: m.driver.name };
      set(d, 'Options', copyLabels(m.driver.options));
      v.DriverConfig = d;
    }
    out.VolumeOptions = v;
  }
  if (m.type === 'tmpfs' && (m.sizeBytes !== undefined || m.mode !== undefined)) {
    const t: { SizeBytes?: number; Mode?: number } = {};
    set(t, 'SizeBytes', m.sizeBytes);
    set(t, 'Mode', m.mode);
    out.TmpfsOptions = t;
  }
  return out;
}

function fileTarget(ref: FileReference): { Name: string; UID: string; GID: string; Mode: number } {
  return { Name: ref.target, UID: ref.uid, GID: ref.gid, Mode: ref.mode };
}

function encodeContainerSpec(c: ContainerSpec, ids: ReferenceIds): DContainerSpec {
  const out: DContainerSpec = { Image: c.image };
  set(out, 'Labels', copyLabels(c.labels));
  set(out, 'Command', c.command && [...c.command]);
  set(out, 'Args', c.args && [...c.args]);
  set(out, 'Hostname', c.hostname);
  set(out, 'Env', c.env && [...c.env]);
  set(out, 'Dir', c.dir);
  set(out, 'User', c.user);
  set(out, 'Groups', c.groups && [...c.groups]);
  out.Privileges = {};
  if (c.credentialSpec) {
    const cred: { Config?: string; File?: string; Registry?: string } = {};
    set(cred, 'Config', c.credentialSpec.config);
    set(cred, 'File', c.credentialSpec.file);
    set(cred, 'Registry', c.credentialSpec.registry);
    out.Privileges.CredentialSpec = cred;
  }
  set(out, 'Init', c.init);
  set(out, 'StopSignal', c.stopSignal);
  set(out, 'StopGracePeriod', c.stopGracePeriod);
  set(out, 'TTY', c.tty);
  set(out, 'OpenStdin', c.openStdin);
  set(out, 'ReadOnly', c.readOnly);
  if (c.mounts && c.mounts.length > 0) out.Mounts = c.mounts.map(encodeMount);
  if (c.healthcheck) {
    const h: NonNullable<DContainerSpec['Healthcheck']> = {};
    set(h, 'Test', c.healthcheck.test && [...c.healthcheck.test]);
    set(h, 'Interval', c.healthcheck.interval);
    set(h, 'Timeout', c.healthcheck.timeout);
    set(h, 'StartPeriod', c.healthcheck.startPeriod);
    set(h, 'StartInterval', c.healthcheck.startInterval);
    set(h, 'Retries', c.healthcheck.retries);
    out.Healthcheck = h;
  }
  set(out, 'Hosts', c.hosts && [...c.hosts]);
  if (c.dns) {
    const d: NonNullable<DContainerSpec['DNSConfig']> = {};
    set(d, 'Nameservers', c.dns.nameservers && [...c.dns.nameservers]);
    set(d, 'Search', c.dns.search && [...c.dns.search]);
    set(d, 'Options', c.dns.options && [...c.dns.options]);
    out.DNSConfig = d;
  }
  if (c.secrets && c.secrets.length > 0) {
    out.Secrets = c.secrets.map((s) => ({ File: fileTarget(s), SecretID: ids.secret(s.source), SecretName: s.source }));
  }
  if (c.configs && c.configs.length > 0) {
    out.Configs = c.configs.map((s) => ({ File: fileTarget(s), ConfigID: ids.config(s.source), ConfigName: s.source }));
  }
  set(out, 'Isolation', c.isolation);
  set(out, 'Sysctls', copyLabels(c.sysctls));
  set(out, 'CapabilityAdd', c.capabilityAdd && [...c.capabilityAdd]);
  set(out, 'CapabilityDrop', c.capabilityDrop && [...c.capabilityDrop]);
  set(out, 'Ulimits', c.ulimits?.map((u) => ({ Name: u.name, Soft: u.soft, Hard: u.hard })));
  set(out, 'OomScoreAdj', c.oomScoreAdj);
  return out;
}

export function encodeNetworkSpec(spec: NetworkSpec): Record<string, unknown> {
  const out: Record<string, unknown> = { Name: spec.name, Driver: spec.driver ?? 'overlay', Labels: { ...spec.labels }, CheckDuplicate: true };
  if (spec.options) out['Options'] = { ...spec.options };
  if (spec.internal) out['Internal'] = true;
  if (spec.attachable) out['Attachable'] = true;
  if (spec.ipam) {
    const ipam: Record<string, unknown> = {};
    if (spec.ipam.driver !== undefined) ipam['Driver'] = spec.ipam.driver;
    if (spec.ipam.subnets.length > 0) ipam['Config'] = spec.ipam.subnets.map((s) => ({ Subnet: s }));
    out['IPAM'] = ipam;
  }
  return out;
}

export function encodeSecretSpec(spec: SecretSpec): Record<string, unknown> {
  const out = encodeConfigSpec(spec);
  if (spec.driver) out['Driver'] = { Name: spec.driver.name, ...(spec.driver.options ? { Options: { ...spec.driver.options } } : {}) };
  return out;
}

export function encodeConfigSpec(spec: ConfigSpec): Record<string, unknown> {
  const out: Record<string, unknown> = { Name: spec.name, Labels: { ...spec.labels }, Data: spec.data.toString('base64') };
  if (spec.templateDriver) out['Templating'] = { Name: spec.templateDriver };
  return out;
}

export function encodeNodeSpec(spec: NodeSpec): Record<string, unknown> {
  const out: Record<string, unknown> = { Labels: { ...spec.labels }, Role: spec.role, Availability: spec.availability };
  if (spec.name !== undefined && spec.name !== '') out['Name'] = spec.name;
  return out;
}
