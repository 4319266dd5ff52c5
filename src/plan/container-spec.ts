/**
 * From a typed service to the container the engine should create, with the options docker-compose
 * 1.29.2 passes (service.py's create options): names and labels, ports published and exposed,
 * short-syntax volumes as binds, long syntax and secrets as mounts, anonymous volumes inherited
 * from the container being replaced, networks joined at creation with the service name as alias,
 * resources (deploy's limits win over the service's), restart policy (deploy's wins), healthcheck...
 *
 * Differences from docker-compose, none visible to a container: anonymous volumes are mounts
 * rather than Config.Volumes; the primary network is joined once at creation (docker-compose
 * disconnects and reconnects it at start to add the container's short id as an alias, which
 * dockerd adds by itself).
 */
import type { ContainerFileSpec, ContainerSpec, EndpointSpec, HealthcheckSpec, LinkSpec, MountSpec, NamespaceSpec, NetworkModeSpec, PortSpec, PublishedPortSpec } from '../contract/engine.js';
import type { Deployment } from '../model/deployment.js';
import { containerName, nameWithoutProject, oneOffContainerName } from '../model/names.js';
import type { EnvVar, NamespaceMode, Service } from '../model/service.js';
import { COMPOSE_COMPAT_VERSION, LABEL, flotillaVersionLabel } from './labels.js';

export interface RunningContainerRef {
  id: string;
  name: string;
}

export interface SpecContext {
  deployment: Deployment;
  /** A service container's number; absent for a one-off (`run`) container. */
  number?: number;
  oneOff?: { slug: string; name?: string; useAliases: boolean };
  configHash?: string;
  /** The normalised definition, stored in a label so a later recreate can say what changed. */
  configLabel?: string;
  /** Containers of other services, for links, volumes_from and `service:` modes (running ones first). */
  containersOf(service: string): RunningContainerRef[];
  /** Anonymous volumes of the container being replaced, by mount target, to keep their data. */
  inheritVolumes?: Record<string, string>;
}

const SECONDS = 1e9;

function healthcheck(service: Service): HealthcheckSpec | undefined {
  const hc = service.healthcheck;
  if (!hc) return undefined;
  return { test: hc.test, interval: hc.interval, timeout: hc.timeout, startPeriod: hc.startPeriod, ...(hc.startInterval > 0 ? { startInterval: hc.startInterval } : {}), retries: hc.retries };
}

/** deploy.restart_policy wins over `restart`, as in docker-compose. */
function restartPolicy(service: Service): ContainerSpec['restartPolicy'] {
  const policy = service.deploy?.restartPolicy;
  if (policy) {
    const name = ({ any: 'always', none: 'no', 'on-failure': 'on-failure' } as const)[policy.condition];
    return { name, maximumRetryCount: policy.maxAttempts ?? 0 };
  }
  return service.restart ? { name: service.restart.name, maximumRetryCount: service.restart.maxRetries } : undefined;
}

function publishedPorts(service: Service): PublishedPortSpec[] {
  return service.ports.map((p) => {
    const out: PublishedPortSpec = { containerPort: p.target, protocol: p.protocol, hostIp: p.hostIp ?? '' };
    if (p.published !== undefined) out.hostPorts = { ...p.published };
    return out;
  });
}

/** `expose` entries not published anyway, each once. */
function exposedPorts(service: Service): PortSpec[] {
  const seen = new Set(service.ports.map((p) => `${p.target}/${p.protocol}`));
  const out: PortSpec[] = [];
  for (const e of service.expose) {
    const key = `${e.port}/${e.protocol}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ port: e.port, protocol: e.protocol });
  }
  return out;
}

function secretTarget(source: string, target: string | undefined): string {
  if (target === undefined) return `/run/secrets/${source}`;
  return target.startsWith('/') ? target : `/run/secrets/${target}`;
}

function mounts(service: Service, ctx: SpecContext): MountSpec[] {
  const out: MountSpec[] = [];
  const inherited = ctx.inheritVolumes ?? {};
  for (const m of service.mounts) {
    const mount: MountSpec = { type: m.type, target: m.target, readOnly: m.readOnly };
    if (m.type !== 'tmpfs' && m.source !== undefined) mount.source = m.source;
    else if (m.type === 'volume' && inherited[m.target] !== undefined) mount.source = inherited[m.target] as string;
    // Written "src:dst", as `-v` takes it: a missing host directory is created.
    if (m.type === 'bind' && m.short) mount.createHostPath = true;
    if (m.type === 'bind' && m.selinux) mount.selinuxRelabel = m.selinux;
    if (m.consistency) mount.consistency = m.consistency;
    if (m.type === 'bind' && m.propagation) mount.bindPropagation = m.propagation;
    if (m.type === 'volume' && m.noCopy) mount.volumeNoCopy = true;
    if (m.type === 'tmpfs' && m.sizeBytes !== undefined) mount.tmpfsSize = m.sizeBytes;
    out.push(mount);
  }
  // Anonymous volumes declared by the image, kept across a recreate too.
  const declared = new Set(out.map((m) => m.target));
  for (const [target, name] of Object.entries(inherited)) {
    if (!declared.has(target)) out.push({ type: 'volume', source: name, target, readOnly: false });
  }
  for (const secret of service.secrets) {
    const def = ctx.deployment.secrets[secret.source];
    if (!def || def.external || def.content !== undefined) continue;
    out.push({ type: 'bind', source: String(def.file), target: secretTarget(secret.source, secret.target), readOnly: true });
  }
  return out;
}

/**
 * Secrets and configs from `content` or `environment`, written into the container as Compose v2
 * copies them (pkg/compose/secrets.go): a secret at /run/secrets/<name> (a relative target under
 * /run/secrets), a config at /<name>; mode 0444 unless set.
 */
function files(service: Service, ctx: SpecContext): ContainerFileSpec[] {
  const out: ContainerFileSpec[] = [];
  for (const kind of ['secrets', 'configs'] as const) {
    for (const ref of service[kind]) {
      const content = ctx.deployment[kind][ref.source]?.content;
      if (content === undefined) continue;
      const target = kind === 'secrets' ? secretTarget(ref.source, ref.target) : (ref.target ?? `/${ref.source}`);
      const file: ContainerFileSpec = { target: target.startsWith('/') ? target : `/${target}`, contentBase64: Buffer.from(content).toString('base64'), mode: ref.mode ?? 0o444 };
      if (ref.uid !== undefined && /^\d+$/.test(ref.uid)) file.uid = Number(ref.uid);
      if (ref.gid !== undefined && /^\d+$/.test(ref.gid)) file.gid = Number(ref.gid);
      out.push(file);
    }
  }
  return out;
}

/** The network stack, and the networks joined when it is the container's own. */
function networking(service: Service, ctx: SpecContext): { mode: NetworkModeSpec; networks: Record<string, EndpointSpec> } {
  const mode = service.networkMode;
  const own = { kind: 'networks' } as const;
  switch (mode.kind) {
    case 'networks': {
      const useAliases = !ctx.oneOff || ctx.oneOff.useAliases;
      const networks: Record<string, EndpointSpec> = {};
      for (const n of service.networks) {
        const endpoint: EndpointSpec = { aliases: useAliases ? [...new Set([service.name, ...n.aliases])] : [] };
        if (n.ipv4Address !== undefined) endpoint.ipv4Address = n.ipv4Address;
        if (n.ipv6Address !== undefined) endpoint.ipv6Address = n.ipv6Address;
        if (n.linkLocalIps.length > 0) endpoint.linkLocalIps = n.linkLocalIps;
        networks[n.name] = endpoint;
      }
      return { mode: own, networks };
    }
    case 'engine-default':
      return { mode: own, networks: {} };
    case 'bridge':
      return { mode: own, networks: { bridge: { aliases: [] } } };
    case 'network':
      return { mode: own, networks: { [mode.network]: { aliases: [] } } };
    case 'service':
      return { mode: { kind: 'container', container: ctx.containersOf(mode.service)[0]?.id ?? mode.service }, networks: {} };
    case 'container':
      return { mode: { kind: 'container', container: mode.container }, networks: {} };
    default:
      return { mode: { kind: mode.kind }, networks: {} };
  }
}

/** A namespace shared with a service's container is left out while that service has none. */
function namespaceMode(mode: NamespaceMode | undefined, ctx: SpecContext): NamespaceSpec | undefined {
  if (!mode) return undefined;
  if (mode.kind === 'service') {
    const id = ctx.containersOf(mode.service)[0]?.id;
    return id ? { kind: 'container', container: id } : undefined;
  }
  return mode;
}

function links(service: Service, ctx: SpecContext): LinkSpec[] {
  const out = new Map<string, string>();
  for (const link of service.links) {
    for (const c of ctx.containersOf(link.target)) {
      out.set(link.alias || link.target, c.name);
      out.set(c.name, c.name);
      out.set(nameWithoutProject(c.name, ctx.deployment.name), c.name);
    }
  }
  for (const ext of service.externalLinks) out.set(ext.alias ?? ext.target, ext.target);
  return [...out].map(([alias, container]) => ({ container, alias }));
}

function labels(service: Service, ctx: SpecContext): Record<string, string> {
  const { deployment } = ctx;
  const out: Record<string, string> = { ...service.labels };
  out[LABEL.project] = deployment.name;
  out[LABEL.service] = service.name;
  out[LABEL.oneOff] = ctx.oneOff ? 'True' : 'False';
  out[LABEL.workingDir] = deployment.workingDir;
  if (!deployment.configFiles.includes('-')) out[LABEL.configFiles] = deployment.configFiles.join(',');
  if (deployment.environmentFile !== undefined) out[LABEL.environmentFile] = deployment.environmentFile;
  if (ctx.number !== undefined && !ctx.oneOff) out[LABEL.number] = String(ctx.number);
  if (ctx.oneOff) out[LABEL.slug] = ctx.oneOff.slug;
  out[LABEL.version] = COMPOSE_COMPAT_VERSION;
  if (ctx.configHash) out[LABEL.configHash] = ctx.configHash;
  if (ctx.configLabel) out[LABEL.flotillaConfig] = ctx.configLabel;
  return Object.assign(out, flotillaVersionLabel());
}

/** Seconds the engine waits after the stop signal (stop_grace_period, rounded), when set. */
export function stopSeconds(service: Service): number | undefined {
  return service.stopGracePeriod === undefined ? undefined : Math.round(service.stopGracePeriod / SECONDS);
}

/** Environment variables as the engine takes them: `NAME=value`, or `NAME` alone for one without a value. */
export function envList(vars: readonly EnvVar[]): string[] {
  return vars.map((e) => (e.value === null ? e.name : `${e.name}=${e.value}`));
}

export function containerSpec(service: Service, ctx: SpecContext): ContainerSpec {
  const { deployment } = ctx;
  const limits = service.deploy?.resources.limits;
  const reservations = service.deploy?.resources.reservations;
  const own = service.limits;

  const name = ctx.oneOff
    ? (ctx.oneOff.name ?? oneOffContainerName(deployment.name, service.name, ctx.oneOff.slug))
    : (service.containerName ?? containerName(deployment.name, service.name, ctx.number ?? 1));

  const net = networking(service, ctx);

  const spec: ContainerSpec = {
    name,
    image: service.image,
    labels: labels(service, ctx),
    env: envList(service.environment),
    tty: service.tty,
    openStdin: service.stdinOpen,
    exposedPorts: exposedPorts(service),
    networkMode: net.mode,
    networks: net.networks,
    publishedPorts: publishedPorts(service),
    mounts: mounts(service, ctx),
    volumesFrom: service.volumesFrom.flatMap((v) => {
      const mode = v.readOnly ? 'ro' : 'rw';
      return v.kind === 'service' ? ctx.containersOf(v.source).map((c) => ({ container: c.name, mode })) : [{ container: v.source, mode }];
    }),
    tmpfs: service.tmpfs.map((t) => ({ target: t.target, options: t.options === '' ? [] : t.options.split(',') })),
    links: links(service, ctx),
    privileged: service.privileged,
    readOnlyRootfs: service.readOnly,
    capAdd: service.capAdd,
    capDrop: service.capDrop,
    devices: service.devices,
    deviceCgroupRules: service.deviceCgroupRules,
    dns: service.dns,
    dnsSearch: service.dnsSearch,
    dnsOptions: service.dnsOptions,
    extraHosts: service.extraHosts,
    groupAdd: service.groupAdd,
    sysctls: service.sysctls,
    ulimits: service.ulimits,
    securityOpt: service.securityOpt.map((o) => o.value),
  };
  const optional: Partial<ContainerSpec> = {
    entrypoint: service.entrypoint,
    command: service.command,
    workingDir: service.workingDir,
    user: service.user,
    hostname: service.hostname,
    domainname: service.domainname,
    macAddress: service.macAddress,
    stopSignal: service.stopSignal,
    stopTimeout: stopSeconds(service),
    healthcheck: healthcheck(service),
    restartPolicy: restartPolicy(service),
    init: service.init,
    ipcMode: namespaceMode(service.ipc, ctx),
    pidMode: namespaceMode(service.pid, ctx),
    userNsMode: service.usernsMode,
    cgroupParent: service.cgroupParent,
    shmSize: own.shmSizeBytes,
    logConfig: service.logging ? { type: service.logging.driver ?? '', config: service.logging.options } : undefined,
    memory: limits?.memoryBytes ?? own.memoryBytes,
    memorySwap: own.memorySwapBytes,
    memoryReservation: reservations?.memoryBytes ?? own.memoryReservationBytes,
    memorySwappiness: own.memorySwappiness,
    nanoCpus: limits?.nanoCpus ?? own.nanoCpus,
    cpuShares: own.cpuShares,
    cpuQuota: own.cpuQuota,
    cpuPeriod: own.cpuPeriod,
    cpusetCpus: own.cpuset,
    pidsLimit: limits?.pids ?? own.pids,
    oomKillDisable: own.oomKillDisable,
    oomScoreAdj: own.oomScoreAdj,
    runtime: service.runtime,
    isolation: service.isolation,
    storageOpt: service.storageOpt,
    platform: service.platform,
  };
  const written = files(service, ctx);
  if (written.length > 0) optional.files = written;
  for (const [k, v] of Object.entries(optional)) if (v !== undefined) Object.assign(spec, { [k]: v });
  return spec;
}
