/**
 * From a service to the container the engine should create, with the options docker-compose
 * 1.29.2 passes (service.py's create options): names and labels, command and entrypoint split
 * like a shell, ports published and exposed, short-syntax volumes as binds, long syntax and
 * secrets as mounts, anonymous volumes inherited from the container being replaced, networks
 * joined at creation with the service name as alias, resources, restart policy, healthcheck...
 *
 * Differences from docker-compose, none visible to a container: anonymous volumes are mounts
 * rather than Config.Volumes; the primary network is joined once at creation (docker-compose
 * disconnects and reconnects it at start to add the container's short id as an alias, which
 * dockerd adds by itself).
 */
import { readSeccompProfile } from '../compose/syntax/security-opt.js';
import { resolve } from 'node:path';
import type { ContainerSpec, EndpointSpec, HealthcheckSpec, MountSpec, PortBinding } from '../engine/engine.js';
import type { Project, Service } from '../model/project.js';
import { parseBytes } from '../compose/syntax/bytes.js';
import { parseDurationSeconds } from '../compose/syntax/duration.js';
import { isPlainObject } from '../compose/yaml/read.js';
import { splitShellWords } from '../util/shell-words.js';
import { pythonJsonDefault } from '../util/python-json.js';
import { COMPOSE_COMPAT_VERSION, LABEL, containerName, nameWithoutProject, oneOffContainerName, flotillaVersionLabel } from './labels.js';
import { serviceNetworks } from './config-hash.js';
import { defaultImage } from './images.js';

export interface RunningContainerRef {
  id: string;
  name: string;
}

export interface SpecContext {
  project: Project;
  /** Where docker-compose would run (seccomp profile paths are relative to it). */
  cwd: string;
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

type Dict = Record<string, unknown>;

function words(v: string | string[] | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v : splitShellWords(v);
}

function fullVolumeName(project: Project, key: string): string {
  const def = project.volumes[key];
  if (def && typeof def['name'] === 'string') return def['name'];
  return `${project.name.replace(/^[-_]+/, '')}_${key}`;
}

function healthcheck(service: Service): HealthcheckSpec | undefined {
  const hc = service.healthcheck;
  if (!hc) return undefined;
  const test = hc.test === undefined ? [] : typeof hc.test === 'string' ? ['CMD-SHELL', hc.test] : hc.test;
  return { test, interval: hc.interval ?? 0, timeout: hc.timeout ?? 0, startPeriod: hc.start_period ?? 0, retries: hc.retries ?? 0 };
}

function restartPolicy(service: Service): ContainerSpec['restartPolicy'] {
  const deploy = isPlainObject(service.deploy) ? service.deploy : undefined;
  const policy = isPlainObject(deploy?.['restart_policy']) ? (deploy['restart_policy'] as Dict) : undefined;
  if (policy) {
    const condition = String(policy['condition'] ?? 'any');
    const name = ({ any: 'always', none: 'no', 'on-failure': 'on-failure' } as Record<string, string>)[condition] ?? condition;
    return { name, maximumRetryCount: Number(policy['max_attempts'] ?? 0) };
  }
  if (!service.restart) return undefined;
  const [name = '', count = '0'] = service.restart.split(':');
  return { name, maximumRetryCount: Number(count) };
}

function bytes(v: unknown): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  return parseBytes(v as string | number);
}

function ports(service: Service): { exposed: string[]; bindings: Record<string, PortBinding[]> } {
  const exposed = new Set<string>();
  const bindings: Record<string, PortBinding[]> = {};
  for (const p of service.ports ?? []) {
    const key = `${p.target}/${p.protocol ?? 'tcp'}`;
    exposed.add(key);
    (bindings[key] ??= []).push({ hostIp: p.host_ip ?? '', hostPort: p.published === undefined ? '' : String(p.published) });
  }
  for (const e of service.expose ?? []) {
    const [range = '', proto = 'tcp'] = String(e).split('/');
    const [start = '', end] = range.split('-');
    for (let port = Number(start); port <= Number(end ?? start); port++) exposed.add(`${port}/${proto}`);
  }
  return { exposed: [...exposed], bindings };
}

function volumes(service: Service, ctx: SpecContext): { binds: string[]; mounts: MountSpec[] } {
  const { project } = ctx;
  const legacy = project.format === 'v1';
  const binds: string[] = [];
  const mounts: MountSpec[] = [];
  const inherited = ctx.inheritVolumes ?? {};
  for (const v of service.volumes ?? []) {
    const named = v.type === 'volume' && v.source !== undefined && !legacy;
    const source = named ? fullVolumeName(project, v.source as string) : v.source;
    if (v.shortMode !== undefined && source !== undefined) {
      binds.push(`${source}:${v.target}:${v.shortMode}`);
      continue;
    }
    const mount: MountSpec = { type: v.type as MountSpec['type'], target: v.target, readOnly: Boolean(v.read_only) };
    const keep = inherited[v.target];
    if (source !== undefined) mount.source = source;
    else if (v.type === 'volume' && keep !== undefined) mount.source = keep;
    if (v.consistency) mount.consistency = v.consistency;
    if (v.bind?.propagation) mount.bindPropagation = v.bind.propagation;
    if (v.volume?.nocopy) mount.volumeNoCopy = true;
    if (v.tmpfs?.size !== undefined) mount.tmpfsSize = v.tmpfs.size;
    mounts.push(mount);
  }
  // Anonymous volumes declared by the image, kept across a recreate too.
  const declared = new Set(mounts.map((m) => m.target).concat(binds.map((b) => b.split(':')[1] ?? '')));
  for (const [target, name] of Object.entries(inherited)) {
    if (!declared.has(target)) mounts.push({ type: 'volume', source: name, target, readOnly: false });
  }
  for (const secret of service.secrets ?? []) {
    const def = project.secrets[secret.source];
    if (!def || def['external']) continue;
    const target = secret.target === undefined ? `/run/secrets/${secret.source}` : secret.target.startsWith('/') ? secret.target : `/run/secrets/${secret.target}`;
    mounts.push({ type: 'bind', source: String(def['file']), target, readOnly: true });
  }
  return { binds, mounts };
}

function networkMode(service: Service, ctx: SpecContext, primary: string | undefined): string {
  const mode = service.network_mode;
  if (mode === undefined) return primary ?? 'default';
  const ref = /^service:(.*)$/.exec(mode);
  if (ref) return `container:${ctx.containersOf(ref[1] as string)[0]?.id ?? ref[1]}`;
  return mode;
}

function namespaceMode(mode: string | null | undefined, ctx: SpecContext): string | undefined {
  if (!mode) return undefined;
  const ref = /^service:(.*)$/.exec(mode);
  if (ref) {
    const id = ctx.containersOf(ref[1] as string)[0]?.id;
    return id ? `container:${id}` : undefined;
  }
  return mode;
}

function links(service: Service, ctx: SpecContext): string[] {
  const out = new Map<string, string>();
  for (const link of service.links ?? []) {
    const [target = '', alias] = link.split(':');
    for (const c of ctx.containersOf(target)) {
      out.set(alias || target, c.name);
      out.set(c.name, c.name);
      out.set(nameWithoutProject(c.name, ctx.project.name), c.name);
    }
  }
  for (const ext of service.external_links ?? []) {
    const [name = '', alias] = ext.split(':');
    out.set(alias ?? name, name);
  }
  return [...out].map(([alias, name]) => `${name}:${alias}`);
}

function devices(service: Service): ContainerSpec['devices'] {
  return (service.devices ?? []).map((d) => {
    const [host = '', container, permissions] = d.split(':');
    return { pathOnHost: host, pathInContainer: container || host, permissions: permissions || 'rwm' };
  });
}

/** A seccomp profile file is sent inline, as docker-compose does; other options as written. */
function securityOpts(service: Service, cwd: string): string[] {
  return (service.security_opt ?? []).map((o) => {
    const m = /^seccomp[:=](.*)$/.exec(o);
    if (!m || m[1] === 'unconfined' || m[1] === undefined) return o;
    return `seccomp=${pythonJsonDefault(readSeccompProfile(resolve(cwd, m[1].replace(/^"(.*)"$/, '$1'))))}`;
  });
}

function stringMap(v: unknown): Record<string, string> {
  if (!isPlainObject(v)) return {};
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, x === null || x === undefined ? '' : String(x)]));
}

export function containerSpec(service: Service, ctx: SpecContext): ContainerSpec {
  const { project } = ctx;
  const deploy = isPlainObject(service.deploy) ? service.deploy : undefined;
  const resources = isPlainObject(deploy?.['resources']) ? (deploy['resources'] as Dict) : undefined;
  const limits = isPlainObject(resources?.['limits']) ? (resources['limits'] as Dict) : undefined;
  const reservations = isPlainObject(resources?.['reservations']) ? (resources['reservations'] as Dict) : undefined;

  const name = ctx.oneOff
    ? (ctx.oneOff.name ?? oneOffContainerName(project.name, service.name, ctx.oneOff.slug))
    : (service.container_name ?? containerName(project.name, service.name, ctx.number ?? 1));

  const labels: Record<string, string> = { ...(service.labels ?? {}) };
  labels[LABEL.project] = project.name;
  labels[LABEL.service] = service.name;
  labels[LABEL.oneOff] = ctx.oneOff ? 'True' : 'False';
  labels[LABEL.workingDir] = project.workingDir;
  if (!project.configFiles.includes('-')) labels[LABEL.configFiles] = project.configFiles.join(',');
  if (project.environmentFile !== undefined) labels[LABEL.environmentFile] = project.environmentFile;
  if (ctx.number !== undefined && !ctx.oneOff) labels[LABEL.number] = String(ctx.number);
  if (ctx.oneOff) labels[LABEL.slug] = ctx.oneOff.slug;
  labels[LABEL.version] = COMPOSE_COMPAT_VERSION;
  if (ctx.configHash) labels[LABEL.configHash] = ctx.configHash;
  if (ctx.configLabel) labels[LABEL.flotillaConfig] = ctx.configLabel;
  Object.assign(labels, flotillaVersionLabel());

  const env = Object.entries(service.environment ?? {}).map(([k, v]) => (v === null ? k : `${k}=${String(v)}`));
  const nets = serviceNetworks(project, service);
  const useAliases = !ctx.oneOff || ctx.oneOff.useAliases;
  const networks: Record<string, EndpointSpec> = {};
  for (const [full, cfg] of nets) {
    const aliases = useAliases ? [...new Set([service.name, ...((cfg['aliases'] as string[] | undefined) ?? [])])] : [];
    const endpoint: EndpointSpec = { aliases };
    if (typeof cfg['ipv4_address'] === 'string') endpoint.ipv4Address = cfg['ipv4_address'];
    if (typeof cfg['ipv6_address'] === 'string') endpoint.ipv6Address = cfg['ipv6_address'];
    if (Array.isArray(cfg['link_local_ips'])) endpoint.linkLocalIps = cfg['link_local_ips'] as string[];
    networks[full] = endpoint;
  }
  const { exposed, bindings } = ports(service);
  const { binds, mounts } = volumes(service, ctx);
  const stopSeconds = service.stop_grace_period !== undefined ? parseDurationSeconds(service.stop_grace_period) : undefined;
  const cpus = limits?.['cpus'] ?? service.cpus;

  const spec: ContainerSpec = {
    name,
    image: defaultImage(project, service),
    labels,
    env,
    tty: service.tty === true,
    openStdin: service.stdin_open === true,
    exposedPorts: exposed,
    networkMode: networkMode(service, ctx, nets[0]?.[0]),
    networks,
    portBindings: bindings,
    binds,
    mounts,
    volumesFrom: (service.volumes_from ?? []).flatMap((v) =>
      v.type === 'service' ? ctx.containersOf(v.source).map((c) => `${c.name}:${v.mode}`) : [`${v.source}:${v.mode}`],
    ),
    tmpfs: Object.fromEntries((service.tmpfs ?? []).map((t) => {
      const colon = t.indexOf(':');
      return colon === -1 ? [t, ''] : [t.slice(0, colon), t.slice(colon + 1)];
    })),
    links: links(service, ctx),
    privileged: service.privileged === true,
    readOnlyRootfs: service.read_only === true,
    capAdd: service.cap_add ?? [],
    capDrop: service.cap_drop ?? [],
    devices: devices(service),
    deviceCgroupRules: (service['device_cgroup_rules'] as string[] | undefined) ?? [],
    dns: service.dns ?? [],
    dnsSearch: service.dns_search ?? [],
    dnsOptions: service.dns_opt ?? [],
    extraHosts: Array.isArray(service.extra_hosts)
      ? service.extra_hosts
      : Object.entries(service.extra_hosts ?? {}).map(([h, ip]) => `${h}:${ip}`),
    groupAdd: ((service['group_add'] as unknown[] | undefined) ?? []).map(String),
    sysctls: stringMap(service.sysctls),
    ulimits: Object.entries(service.ulimits ?? {}).map(([n, v]) => (typeof v === 'number' ? { name: n, soft: v, hard: v } : { name: n, soft: v.soft, hard: v.hard })),
    securityOpt: securityOpts(service, ctx.cwd),
  };
  const entrypoint = words(service.entrypoint);
  const command = words(service.command);
  if (entrypoint !== undefined) spec.entrypoint = entrypoint;
  if (command !== undefined) spec.command = command;
  const optional: Partial<ContainerSpec> = {
    workingDir: service.working_dir,
    user: service.user,
    hostname: service.hostname,
    domainname: service.domainname,
    macAddress: service['mac_address'] as string | undefined,
    stopSignal: service.stop_signal,
    stopTimeout: stopSeconds === undefined ? undefined : Math.round(stopSeconds),
    healthcheck: healthcheck(service),
    restartPolicy: restartPolicy(service),
    init: service.init,
    ipcMode: namespaceMode(service.ipc, ctx),
    pidMode: namespaceMode(service.pid, ctx),
    userNsMode: service['userns_mode'] as string | undefined,
    cgroupParent: service['cgroup_parent'] as string | undefined,
    shmSize: bytes(service.shm_size),
    logConfig: service.logging ? { type: service.logging.driver ?? '', config: stringMap(service.logging.options) } : undefined,
    memory: bytes(limits?.['memory'] ?? service.mem_limit),
    memorySwap: bytes(service.memswap_limit),
    memoryReservation: bytes(reservations?.['memory'] ?? service.mem_reservation),
    memorySwappiness: service['mem_swappiness'] as number | undefined,
    nanoCpus: cpus === undefined ? undefined : Math.trunc(Number(cpus) * 1e9),
    cpuShares: service.cpu_shares === undefined ? undefined : Number(service.cpu_shares),
    cpuQuota: service['cpu_quota'] === undefined ? undefined : Number(service['cpu_quota']),
    cpuPeriod: service['cpu_period'] === undefined ? undefined : Number(service['cpu_period']),
    cpusetCpus: service['cpuset'] as string | undefined,
    pidsLimit: service.pids_limit === undefined ? undefined : Number(service.pids_limit),
    oomKillDisable: service['oom_kill_disable'] as boolean | undefined,
    oomScoreAdj: service['oom_score_adj'] as number | undefined,
    runtime: service['runtime'] as string | undefined,
    isolation: service['isolation'] as string | undefined,
    storageOpt: isPlainObject(service['storage_opt']) ? stringMap(service['storage_opt']) : undefined,
    platform: service['platform'] as string | undefined,
  };
  for (const [k, v] of Object.entries(optional)) if (v !== undefined) (spec as unknown as Dict)[k] = v;
  return spec;
}
