/**
 * One Compose-shaped service as the typed Service (src/model/service.ts): commands split like a
 * shell, sizes in bytes, durations in nanoseconds, ports, mounts, networks and namespaces as
 * records. What a container could not be made from (an unknown protocol, say) is reported to
 * `report`, which `up` refuses; nothing here throws.
 */
import { resolve } from 'node:path';
import { readSeccompProfile } from '../syntax/security-opt.js';
import { builtImageName } from '../../model/names.js';
import type {
  Build,
  ContainerLimits,
  Device,
  EnvVar,
  ExposedPort,
  Healthcheck,
  HostEntry,
  LifecycleHook,
  WatchAction,
  WatchRule,
  Link,
  Mount,
  NamespaceMode,
  NetworkMode,
  PortMapping,
  Protocol,
  RestartSetting,
  Service,
  ServiceNetwork,
} from '../../model/service.js';
import { splitShellWords, ShellWordsError } from '../../util/shell-words.js';
import { pythonJsonDefault } from '../../util/python-json.js';
import type { ComposeProject, ComposeService } from '../document.js';
import { dependenciesOf } from '../dependencies.js';
import { isPlainObject } from '../yaml/read.js';
import { setOwn } from '../../util/own.js';
import { defaultScale, emitDeploy, type Report } from './deploy.js';
import { hashInput } from './hash-input.js';
import { emitMount } from './mounts.js';
import { providerType } from './not-acted-on.js';
import { attachedNetworks } from './networks.js';
import { bytes, choice, INVALID, nanoCpus, nanos, numeric, optionalString, stringList, stringMap } from './values.js';

const PROTOCOLS = ['tcp', 'udp', 'sctp'] as const;

function protocol(v: string | undefined, at: (string | number)[], report: Report): Protocol {
  const p = choice((v ?? 'tcp').toLowerCase(), PROTOCOLS);
  if (p === INVALID || p === undefined) {
    report(at, `"${v}" is not a protocol (${PROTOCOLS.join(', ')})`);
    return 'tcp';
  }
  return p;
}

function words(v: string | string[] | undefined, at: (string | number)[], report: Report): string[] | undefined {
  if (v === undefined) return undefined;
  if (Array.isArray(v)) return v.map(String);
  try {
    return splitShellWords(v);
  } catch (e) {
    if (!(e instanceof ShellWordsError)) throw e;
    report(at, e.message);
    return undefined;
  }
}

function ports(s: ComposeService, report: Report): PortMapping[] {
  return (s.ports ?? []).map((p, i) => {
    const out: PortMapping = { target: p.target, protocol: protocol(p.protocol, ['ports', i], report), mode: 'ingress' };
    const mode = choice(p.mode, ['ingress', 'host'] as const);
    if (mode === INVALID) report(['ports', i], `"${p.mode}" is not a port mode (ingress, host)`);
    else if (mode !== undefined) out.mode = mode;
    if (p.published !== undefined) {
      const [start, end = start] = String(p.published).split('-').map(Number);
      if (start === undefined || !Number.isInteger(start) || !Number.isInteger(end)) report(['ports', i], `"${p.published}" is not a host port`);
      else out.published = { start, end };
    }
    if (p.host_ip) out.hostIp = p.host_ip;
    return out;
  });
}

function expose(s: ComposeService, report: Report): ExposedPort[] {
  const out: ExposedPort[] = [];
  (s.expose ?? []).forEach((e, i) => {
    const [range = '', proto] = String(e).split('/');
    const [start = '', end] = range.split('-');
    const p = protocol(proto, ['expose', i], report);
    for (let port = Number(start); port <= Number(end ?? start); port++) out.push({ port, protocol: p });
  });
  return out;
}

function healthcheck(s: ComposeService): Healthcheck | undefined {
  const hc = s.healthcheck;
  if (!hc) return undefined;
  const test = hc.test === undefined ? [] : typeof hc.test === 'string' ? ['CMD-SHELL', hc.test] : hc.test.map(String);
  return { test, interval: hc.interval ?? 0, timeout: hc.timeout ?? 0, startPeriod: hc.start_period ?? 0, startInterval: hc.start_interval ?? 0, retries: hc.retries ?? 0 };
}

/** `post_start`/`pre_stop` entries (the schema checked their shape): a string command is split like a shell's. */
function hooks(s: ComposeService, key: 'post_start' | 'pre_stop', report: Report): LifecycleHook[] {
  const list = s[key];
  if (!Array.isArray(list)) return [];
  return list.filter(isPlainObject).map((h, i) => hook(h, [key, i], report));
}

function hook(h: Record<string, unknown>, keyPath: (string | number)[], report: Report): LifecycleHook {
  const out: LifecycleHook = {
    command: words(h['command'] as string | string[] | undefined, [...keyPath, 'command'], report) ?? [],
    privileged: h['privileged'] === true,
    environment: hookEnvironment(h['environment']),
  };
  const user = optionalString(h['user']);
  const workingDir = optionalString(h['working_dir']);
  if (user !== undefined) out.user = user;
  if (workingDir !== undefined) out.workingDir = workingDir;
  return out;
}

/** `develop.watch` rules (the schema checked their shape; paths are absolute already). */
function watchRules(s: ComposeService, report: Report): WatchRule[] {
  const develop = s['develop'];
  if (!isPlainObject(develop) || !Array.isArray(develop['watch'])) return [];
  const patterns = (v: unknown) => (typeof v === 'string' ? [v] : Array.isArray(v) ? v.map(String) : []);
  return develop['watch'].filter(isPlainObject).map((r, i) => {
    const rule: WatchRule = {
      path: String(r['path']),
      action: r['action'] as WatchAction,
      ignore: patterns(r['ignore']),
      include: patterns(r['include']),
      initialSync: r['initial_sync'] === true || r['x-initialSync'] === true,
    };
    const target = optionalString(r['target']);
    if (target !== undefined) rule.target = target;
    if (isPlainObject(r['exec'])) rule.exec = hook(r['exec'], ['develop', 'watch', i, 'exec'], report);
    return rule;
  });
}

/** A hook's `environment`: a list of `NAME=value` (a bare NAME has no value) or a mapping. */
function hookEnvironment(v: unknown): EnvVar[] {
  if (Array.isArray(v)) {
    return v.map((e) => {
      const text = String(e);
      const at = text.indexOf('=');
      return at === -1 ? { name: text, value: null } : { name: text.slice(0, at), value: text.slice(at + 1) };
    });
  }
  if (!isPlainObject(v)) return [];
  return Object.entries(v).map(([name, value]) => ({ name, value: value === null || value === undefined ? null : String(value) }));
}

function restart(value: string | undefined, report: Report): RestartSetting | undefined {
  if (!value) return undefined;
  const [name = '', count = '0'] = value.split(':');
  const n = choice(name, ['no', 'always', 'unless-stopped', 'on-failure'] as const);
  if (n === INVALID || n === undefined) {
    report(['restart'], `"${name}" is not a restart policy (no, always, unless-stopped, on-failure)`);
    return undefined;
  }
  return { name: n, maxRetries: Number(count) };
}

function networkMode(project: ComposeProject, s: ComposeService): NetworkMode {
  const mode = s.network_mode;
  if (mode === undefined) return project.format === 'v1' ? { kind: 'engine-default' } : { kind: 'networks' };
  if (mode === 'host' || mode === 'none' || mode === 'bridge') return { kind: mode };
  if (mode === 'default') return { kind: 'engine-default' };
  if (mode.startsWith('service:')) return { kind: 'service', service: mode.slice('service:'.length) };
  if (mode.startsWith('container:')) return { kind: 'container', container: mode.slice('container:'.length) };
  return { kind: 'network', network: mode };
}

function namespace(v: string | null | undefined, key: 'ipc' | 'pid', report: Report): NamespaceMode | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (v.startsWith('service:')) return { kind: 'service', service: v.slice('service:'.length) };
  if (v.startsWith('container:')) return { kind: 'container', container: v.slice('container:'.length) };
  const kinds = key === 'pid' ? (['host'] as const) : (['host', 'shareable', 'private', 'none'] as const);
  const k = choice(v, kinds);
  if (k === INVALID || k === undefined) {
    report([key], `"${v}" is not a ${key} mode (${kinds.join(', ')}, container:NAME, service:NAME)`);
    return undefined;
  }
  return { kind: k };
}

function networks(project: ComposeProject, s: ComposeService): ServiceNetwork[] {
  return attachedNetworks(project, s).map(({ key, name, options }) => {
    const out: ServiceNetwork = { key, name, aliases: stringList(options.aliases), linkLocalIps: stringList(options.link_local_ips) };
    if (typeof options.ipv4_address === 'string') out.ipv4Address = options.ipv4_address;
    if (typeof options.ipv6_address === 'string') out.ipv6Address = options.ipv6_address;
    if (typeof options.priority === 'number') out.priority = options.priority;
    return out;
  });
}

function link(entry: string): Link {
  const [target = '', alias] = entry.split(':');
  return alias === undefined ? { target } : { target, alias };
}

/** "host:ip" entries (the address may have colons), or a mapping of host to address. */
function hostEntries(v: unknown): HostEntry[] {
  if (Array.isArray(v)) {
    return v.map((e) => {
      const text = String(e);
      const colon = text.indexOf(':');
      return colon === -1 ? { host: text, ip: '' } : { host: text.slice(0, colon), ip: text.slice(colon + 1) };
    });
  }
  return Object.entries(stringMap(v)).map(([host, ip]) => ({ host, ip }));
}

function devices(s: ComposeService): Device[] {
  return (s.devices ?? []).map((d) => {
    const [host = '', container, permissions] = d.split(':');
    return { pathOnHost: host, pathInContainer: container || host, permissions: permissions || 'rwm' };
  });
}

/** A seccomp profile file is sent inline, as docker-compose does; other options as written. */
function securityOption(o: string, cwd: string): { value: string } {
  const m = /^seccomp[:=](.*)$/.exec(o);
  if (!m || m[1] === 'unconfined' || m[1] === undefined) return { value: o };
  try {
    return { value: `seccomp=${pythonJsonDefault(readSeccompProfile(resolve(cwd, m[1].replace(/^"(.*)"$/, '$1'))))}` };
  } catch {
    // The compiler checked the file (service/process.ts); gone since, the engine reports it.
    return { value: o };
  }
}

/** `build.secrets`: short (`- name`) or long (`source`, `target`) entries; the id is the target when given. */
function buildSecrets(value: unknown): Build['secrets'] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((entry): Build['secrets'] => {
    if (typeof entry === 'string') return [{ source: entry, id: entry }];
    if (!isPlainObject(entry) || typeof entry['source'] !== 'string') return [];
    const target = typeof entry['target'] === 'string' && entry['target'] !== '' ? entry['target'] : entry['source'];
    return [{ source: entry['source'], id: target }];
  });
}

/** `build.ssh`: `default`, `id=path` entries or an id → path mapping (compose-go SSHConfig); a relative path from the project directory. */
function buildSsh(value: unknown, dir: string): Build['ssh'] {
  const entries = Object.entries(namedValues(value, true));
  return entries.map(([id, path]) => (path === '' ? { id } : { id, path: resolve(dir, path) }));
}

/** A mapping, or a list of `name=value` strings (a bare `name` is "" when `bare`); later wins. */
function namedValues(value: unknown, bare = false): Record<string, string> {
  const out: Record<string, string> = {};
  if (isPlainObject(value)) {
    for (const [k, v] of Object.entries(value)) if (v !== undefined && v !== null) setOwn(out, k, String(v));
  } else if (Array.isArray(value)) {
    for (const entry of value) {
      if (typeof entry !== 'string') continue;
      const eq = entry.indexOf('=');
      if (eq < 0 && !bare) continue;
      const [k, v] = eq < 0 ? [entry, ''] : [entry.slice(0, eq), entry.slice(eq + 1)];
      setOwn(out, k, v);
    }
  }
  return out;
}

function build(s: ComposeService, report: Report, dir: string): Build | undefined {
  const b = s.build;
  if (!b) return undefined;
  if (!b.context) {
    report(['build'], `service "${s.name}" has no build context`);
    return undefined;
  }
  const spec = b as Record<string, unknown>;
  const out: Build = {
    context: b.context,
    dockerfile: b.dockerfile ?? 'Dockerfile',
    args: stringMap(b.args),
    labels: stringMap(b.labels),
    cacheFrom: stringList(b.cache_from),
    extraHosts: hostEntries(b.extra_hosts),
    tags: stringList(spec['tags']),
    noCache: spec['no_cache'] === true,
    pull: spec['pull'] === true,
    platforms: stringList(spec['platforms']),
    secrets: buildSecrets(spec['secrets']),
    ssh: buildSsh(spec['ssh'], dir),
    additionalContexts: namedValues(spec['additional_contexts']),
  };
  if (typeof spec['dockerfile_inline'] === 'string') out.dockerfileInline = spec['dockerfile_inline'];
  const shm = bytes(b.shm_size);
  if (b.network !== undefined) out.network = b.network;
  if (b.target !== undefined) out.target = b.target;
  if (shm !== undefined) out.shmSize = shm;
  if (b.isolation !== undefined) out.isolation = b.isolation;
  return out;
}

function limits(s: ComposeService): ContainerLimits {
  const out: ContainerLimits = {};
  const set = <K extends keyof ContainerLimits>(k: K, v: ContainerLimits[K] | undefined) => {
    if (v !== undefined) out[k] = v;
  };
  set('memoryBytes', bytes(s.mem_limit));
  set('memorySwapBytes', bytes(s.memswap_limit));
  set('memoryReservationBytes', bytes(s.mem_reservation));
  set('memorySwappiness', numeric(s['mem_swappiness']));
  set('shmSizeBytes', bytes(s.shm_size));
  set('nanoCpus', nanoCpus(s.cpus));
  set('cpuShares', numeric(s.cpu_shares));
  set('cpuQuota', numeric(s['cpu_quota']));
  set('cpuPeriod', numeric(s['cpu_period']));
  set('cpuset', optionalString(s['cpuset']));
  set('cpuCount', numeric(s['cpu_count']));
  set('cpuPercent', numeric(s['cpu_percent']));
  set('cpuRtPeriod', micros(s['cpu_rt_period']));
  set('cpuRtRuntime', micros(s['cpu_rt_runtime']));
  set('pids', numeric(s.pids_limit));
  if (typeof s['oom_kill_disable'] === 'boolean') out.oomKillDisable = s['oom_kill_disable'];
  set('oomScoreAdj', numeric(s['oom_score_adj']));
  const blkio = s['blkio_config'];
  if (isPlainObject(blkio)) {
    const rates = (k: string) =>
      (Array.isArray(blkio[k]) ? blkio[k] : []).map((r: Record<string, unknown>) => ({ path: String(r['path'] ?? ''), rate: Number(r['rate'] ?? 0) }));
    out.blkio = {
      weightDevice: (Array.isArray(blkio['weight_device']) ? blkio['weight_device'] : []).map((w: Record<string, unknown>) => ({
        path: String(w['path'] ?? ''),
        weight: Number(w['weight'] ?? 0),
      })),
      deviceReadBps: rates('device_read_bps'),
      deviceWriteBps: rates('device_write_bps'),
      deviceReadIops: rates('device_read_iops'),
      deviceWriteIops: rates('device_write_iops'),
    };
    if (typeof blkio['weight'] === 'number') out.blkio.weight = blkio['weight'];
  }
  return out;
}

/** Microseconds, as the engine takes them: a number as written, a duration ("400us") converted. */
function micros(v: unknown): number | undefined {
  const n = numeric(v);
  if (n !== undefined || typeof v !== 'string') return n;
  const ns = nanos(v);
  return ns === undefined ? undefined : Math.trunc(ns / 1000);
}

function credentialSpec(v: unknown): Service['credentialSpec'] {
  if (!isPlainObject(v)) return undefined;
  for (const kind of ['file', 'registry', 'config'] as const) if (typeof v[kind] === 'string') return { kind, value: v[kind] };
  return undefined;
}

/** `cwd`: where the command runs (seccomp profiles are read relative to it, as docker-compose does). */
export function emitService(project: ComposeProject, s: ComposeService, cwd: string, report: Report): Service {
  const deploy = emitDeploy(s.deploy, report);
  const mounts: Mount[] = [];
  (s.volumes ?? []).forEach((v, i) => {
    const m = emitMount(project, v, ['volumes', i], report);
    if (m) mounts.push(m);
  });
  const out: Service = {
    name: s.name,
    image: s.image ?? builtImageName(project.name, s.name),
    imageDeclared: s.image !== undefined,
    scale: defaultScale(s.scale, deploy),
    profiles: stringList(s.profiles),
    dependencies: dependenciesOf(s),
    environment: Object.entries(s.environment ?? {}).map(([name, v]) => ({ name, value: v === null ? null : String(v) })),
    labels: stringMap(s.labels),
    tty: s.tty === true,
    stdinOpen: s.stdin_open === true,
    privileged: s.privileged === true,
    readOnly: s.read_only === true,
    ports: ports(s, report),
    expose: expose(s, report),
    networkMode: networkMode(project, s),
    networks: networks(project, s),
    links: (s.links ?? []).map(link),
    externalLinks: (s.external_links ?? []).map(link),
    dns: stringList(s.dns),
    dnsSearch: stringList(s.dns_search),
    dnsOptions: stringList(s.dns_opt),
    extraHosts: hostEntries(s.extra_hosts),
    mounts,
    tmpfs: stringList(s.tmpfs).map((t) => {
      const colon = t.indexOf(':');
      return colon === -1 ? { target: t, options: '' } : { target: t.slice(0, colon), options: t.slice(colon + 1) };
    }),
    volumesFrom: (s.volumes_from ?? []).map((v) => ({ kind: v.type, source: v.source, readOnly: v.mode === 'ro' })),
    secrets: (s.secrets ?? []).map((r) => ({ ...r })),
    configs: (s.configs ?? []).map((r) => ({ ...r })),
    capAdd: stringList(s.cap_add),
    capDrop: stringList(s.cap_drop),
    devices: devices(s),
    deviceCgroupRules: stringList(s['device_cgroup_rules']),
    groupAdd: stringList(s['group_add']),
    securityOpt: stringList(s.security_opt).map((o) => securityOption(o, cwd)),
    sysctls: stringMap(s.sysctls),
    ulimits: Object.entries(s.ulimits ?? {}).map(([name, v]) => (typeof v === 'number' ? { name, soft: v, hard: v } : { name, soft: v.soft, hard: v.hard })),
    limits: limits(s),
    postStart: hooks(s, 'post_start', report),
    preStop: hooks(s, 'pre_stop', report),
    watch: watchRules(s, report),
    configHash: hashInput(project, s, cwd),
  };
  const optional: Partial<Service> = {
    build: build(s, report, project.workingDir),
    platform: optionalString(s['platform']),
    containerName: s.container_name,
    provider: providerType(s),
    entrypoint: words(s.entrypoint, ['entrypoint'], report),
    command: words(s.command, ['command'], report),
    workingDir: s.working_dir,
    user: optionalString(s.user),
    hostname: s.hostname,
    domainname: s.domainname,
    macAddress: optionalString(s['mac_address']),
    init: s.init,
    stopSignal: s.stop_signal,
    stopGracePeriod: s.stop_grace_period === undefined ? undefined : nanos(String(s.stop_grace_period)),
    healthcheck: healthcheck(s),
    restart: restart(s.restart, report),
    logging: s.logging ? { ...(s.logging.driver !== undefined ? { driver: s.logging.driver } : {}), options: stringMap(s.logging.options) } : undefined,
    ipc: namespace(s.ipc, 'ipc', report),
    pid: namespace(s.pid, 'pid', report),
    usernsMode: optionalString(s['userns_mode']),
    cgroupParent: optionalString(s['cgroup_parent']),
    runtime: optionalString(s['runtime']),
    isolation: optionalString(s['isolation']),
    storageOpt: isPlainObject(s['storage_opt']) ? stringMap(s['storage_opt']) : undefined,
    credentialSpec: credentialSpec(s['credential_spec']),
    deploy,
  };
  for (const [k, v] of Object.entries(optional)) if (v !== undefined) Object.assign(out, { [k]: v });
  return out;
}
