/**
 * One Compose service as a swarm ServiceSpec, converted as Docker CLI 28's `docker stack deploy`
 * converts it (its cli/compose/convert package), so that either tool deploying the same file makes
 * the same service: same names, labels, sort orders and defaults left to the swarm.
 */
import type {
  ContainerSpec,
  EndpointSpec,
  FileReference,
  Healthcheck,
  NetworkAttachment,
  PortConfig,
  ResourceRequirements,
  RestartPolicy,
  ServiceMode,
  ServiceSpec,
  UpdatePolicy,
} from '../contract/swarm.js';
import type { ComposeService } from '../compose/document.js';
import { splitShellWords, ShellWordsError } from '../util/shell-words.js';
import { familiarTagged, parseImageReference } from './image-ref.js';
import { mountsOf } from './mounts.js';
import { IMAGE_LABEL, scope, topLevelName, withNamespace } from './names.js';
import { ServiceDefinitionError, type ServiceContext } from './spec.js';
import { durationNanos, memoryBytes, nanoCpus } from './units.js';

type Dict = Record<string, unknown>;

function dict(v: unknown): Dict | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Dict) : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
}

function strings(v: unknown): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  return (Array.isArray(v) ? v : [v]).map((x) => String(x));
}

/** A mapping of strings, written as a mapping or as a list of `key=value` (a bare key is ""). */
function stringMap(v: unknown): Record<string, string> | undefined {
  if (Array.isArray(v)) {
    return Object.fromEntries(
      v.map((entry) => {
        const text = String(entry);
        const eq = text.indexOf('=');
        return eq < 0 ? [text, ''] : [text.slice(0, eq), text.slice(eq + 1)];
      }),
    );
  }
  const d = dict(v);
  if (!d) return undefined;
  return Object.fromEntries(Object.entries(d).map(([k, x]) => [k, x === null || x === undefined ? '' : String(x)]));
}

function fail(service: string, keyPath: (string | number)[], message: string): never {
  throw new ServiceDefinitionError(service, keyPath, message);
}

function duration(service: string, keyPath: (string | number)[], v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  const ns = typeof v === 'string' || typeof v === 'number' ? durationNanos(v) : undefined;
  if (ns === undefined) fail(service, keyPath, `"${String(v)}" is not a duration (write e.g. "10s", "1m30s", "500ms")`);
  return ns;
}

/** An argv: a list as written, a string split as a shell would (Docker splits with shlex rules). */
function argv(service: string, key: string, v: unknown): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) return v.map((x) => String(x));
  try {
    return splitShellWords(String(v));
  } catch (e) {
    if (e instanceof ShellWordsError) fail(service, [key], e.message);
    throw e;
  }
}

/** `KEY=value` sorted, `KEY` alone for a variable with no value (the task does not get it). */
function environment(s: ComposeService): string[] | undefined {
  const env = s.environment;
  if (!env || Object.keys(env).length === 0) return undefined;
  return Object.entries(env)
    .map(([k, v]) => (v === null ? k : `${k}=${v}`))
    .sort(byteOrder);
}

export function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `host:ip` (or a mapping host → ip) as swarm's `ip host` lines; a list keeps its order. */
function hosts(v: unknown): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  const pairs = Array.isArray(v)
    ? v.map((e) => {
        const text = String(e);
        const sep = text.includes('=') ? '=' : ':';
        const at = text.indexOf(sep);
        return at < 0 ? undefined : ([text.slice(0, at), text.slice(at + 1)] as const);
      })
    : Object.entries(dict(v) ?? {})
        .filter(([, ip]) => ip !== null && ip !== undefined)
        .map(([h, ip]) => [h, String(ip)] as const)
        .sort((a, b) => byteOrder(`${a[0]}:${a[1]}`, `${b[0]}:${b[1]}`));
  return pairs.flatMap((p) => {
    if (!p) return [];
    const ip = p[1].length > 2 && p[1].startsWith('[') && p[1].endsWith(']') ? p[1].slice(1, -1) : p[1];
    return [`${ip} ${p[0]}`];
  });
}

/** Capabilities as Docker normalises them: upper case, CAP_ prefix, ALL wins, add beats drop, sorted. */
export function capabilities(add: string[] | undefined, drop: string[] | undefined): { add?: string[]; drop?: string[] } {
  const norm = (c: string) => {
    const u = c.trim().toUpperCase();
    return u === 'ALL' || u === 'RESET' || u.startsWith('CAP_') ? u : `CAP_${u}`;
  };
  let adds = new Set((add ?? []).map(norm));
  let drops = new Set((drop ?? []).map(norm));
  if (adds.has('ALL')) adds = new Set(['ALL']);
  if (drops.has('ALL')) drops = new Set(['ALL']);
  const outAdd = [...adds].filter((c) => c !== 'RESET').sort(byteOrder);
  const outDrop = [...drops].filter((c) => c !== 'RESET' && !adds.has(c)).sort(byteOrder);
  const out: { add?: string[]; drop?: string[] } = {};
  if (outAdd.length > 0) out.add = outAdd;
  if (outDrop.length > 0) out.drop = outDrop;
  return out;
}

function healthcheck(s: ComposeService): Healthcheck | undefined {
  const h = s.healthcheck as (Dict & ComposeService['healthcheck']) | undefined;
  if (!h) return undefined;
  if (h['disable'] === true) {
    if (h.test !== undefined && !(Array.isArray(h.test) && h.test.length === 1 && h.test[0] === 'NONE')) {
      fail(s.name, ['healthcheck'], 'test and disable cannot be set at the same time');
    }
    return { test: ['NONE'] };
  }
  const out: Healthcheck = {};
  if (h.test !== undefined) out.test = typeof h.test === 'string' ? ['CMD-SHELL', h.test] : h.test.map(String);
  const d = (key: string) => duration(s.name, ['healthcheck', key], h[key]);
  const interval = d('interval');
  const timeout = d('timeout');
  const startPeriod = d('start_period');
  const startInterval = d('start_interval');
  if (interval) out.interval = interval;
  if (timeout) out.timeout = timeout;
  if (startPeriod) out.startPeriod = startPeriod;
  if (startInterval) out.startInterval = startInterval;
  if (typeof h.retries === 'number' && h.retries !== 0) out.retries = h.retries;
  return out;
}

function ulimits(s: ComposeService): ContainerSpec['ulimits'] {
  if (!s.ulimits || Object.keys(s.ulimits).length === 0) return undefined;
  return Object.entries(s.ulimits)
    .map(([name, v]) => (typeof v === 'number' ? { name, soft: v, hard: v } : { name, soft: v.soft, hard: v.hard }))
    .sort((a, b) => byteOrder(a.name, b.name));
}

/** Secrets or configs of a service, named as the stack creates them; sorted by name, as Docker sorts them. */
function fileReferences(s: ComposeService, ctx: ServiceContext, kind: 'secrets' | 'configs'): FileReference[] | undefined {
  const refs = s[kind];
  if (!refs || refs.length === 0) return undefined;
  const declared = ctx.project[kind];
  const targets = new Set<string>();
  const out = refs.map((ref, i): FileReference => {
    const top = declared[ref.source];
    if (!top) fail(s.name, [kind, i], `undefined ${kind === 'secrets' ? 'secret' : 'config'} "${ref.source}": declare it under the top-level "${kind}"`);
    const target = ref.target ?? ref.source;
    if (targets.has(target)) fail(s.name, [kind, i], `two ${kind} go to the same target "${target}"`);
    targets.add(target);
    return {
      source: topLevelName(ctx.stack, ref.source, top),
      target,
      uid: ref.uid ?? '0',
      gid: ref.gid ?? '0',
      mode: ref.mode ?? 0o444,
    };
  });
  // A stable sort by name, as Docker's sort.SliceStable.
  return out.map((r, i) => [r, i] as const).sort((a, b) => byteOrder(a[0].source, b[0].source) || a[1] - b[1]).map(([r]) => r);
}

/** Networks a service attaches to: Docker's default network when it names none; sorted by target. */
function networks(s: ComposeService, ctx: ServiceContext): NetworkAttachment[] {
  const named = s.networks && Object.keys(s.networks).length > 0 ? s.networks : { default: null };
  const out: NetworkAttachment[] = [];
  for (const [name, opts] of Object.entries(named)) {
    const config = ctx.project.networks[name];
    if (!config && name !== 'default') fail(s.name, ['networks', name], `undefined network "${name}": declare it under the top-level "networks"`);
    const target = topLevelName(ctx.stack, name, config ?? {});
    const attachment: NetworkAttachment = { target };
    const aliases = [...(opts?.aliases ?? [])];
    // Only user-defined networks take aliases: not the node-local ones every node has.
    if (!['host', 'bridge', 'none', 'default'].includes(target) && !target.startsWith('container:')) aliases.push(s.name);
    if (aliases.length > 0) attachment.aliases = aliases;
    const driverOpts = stringMap(dict(opts)?.['driver_opts']);
    if (driverOpts) attachment.driverOpts = driverOpts;
    out.push(attachment);
  }
  return out.sort((a, b) => byteOrder(a.target, b.target));
}

/** Published ports: ranges expanded, sorted by published port (stable), host IPs dropped with a warning. */
function ports(s: ComposeService, ctx: ServiceContext): PortConfig[] {
  const out: PortConfig[] = [];
  (s.ports ?? []).forEach((p, i) => {
    const protocol = (p.protocol ?? 'tcp').toLowerCase();
    if (protocol !== 'tcp' && protocol !== 'udp' && protocol !== 'sctp') fail(s.name, ['ports', i], `protocol "${p.protocol}" is not tcp, udp or sctp`);
    const mode = p.mode ?? 'ingress';
    if (mode !== 'ingress' && mode !== 'host') fail(s.name, ['ports', i], `mode "${p.mode}" is not ingress or host`);
    if (p.host_ip !== undefined && p.host_ip !== '' && p.host_ip !== '0.0.0.0' && p.host_ip !== '::') {
      ctx.diagnostics.warn(`ignoring the IP address ${p.host_ip}: a swarm service listens on every address`, ctx.locate(s.name, ['ports', i]));
    }
    const base = { protocol: protocol as PortConfig['protocol'], target: p.target, mode: mode as PortConfig['mode'] };
    if (p.published === undefined || p.published === '') {
      out.push(base);
    } else if (typeof p.published === 'number') {
      out.push({ ...base, published: p.published });
    } else {
      const m = /^(\d+)(?:-(\d+))?$/.exec(p.published);
      if (!m) fail(s.name, ['ports', i], `"${p.published}" is not a port or a port range`);
      const first = Number(m[1]);
      const last = Number(m[2] ?? m[1]);
      for (let port = first; port <= last; port++) out.push({ ...base, published: port });
    }
  });
  return out.map((p, i) => [p, i] as const).sort((a, b) => (a[0].published ?? 0) - (b[0].published ?? 0) || a[1] - b[1]).map(([p]) => p);
}

function mode(s: ComposeService, deploy: Dict): ServiceMode {
  const replicas = deploy['replicas'];
  const count = typeof replicas === 'number' ? replicas : undefined;
  const kind = str(deploy['mode']) ?? 'replicated';
  switch (kind) {
    case 'global':
    case 'global-job':
      if (replicas !== undefined && replicas !== null) fail(s.name, ['deploy', 'replicas'], 'replicas can only be used with mode replicated or replicated-job');
      return { kind };
    case 'replicated-job': {
      const job: ServiceMode = { kind };
      if (count !== undefined) {
        job.maxConcurrent = count;
        job.totalCompletions = count;
      }
      return job;
    }
    case 'replicated':
    case '':
      return count === undefined ? { kind: 'replicated' } : { kind: 'replicated', replicas: count };
    default:
      return fail(s.name, ['deploy', 'mode'], `unknown mode "${kind}" (use replicated, global, replicated-job or global-job)`);
  }
}

function resources(s: ComposeService, deploy: Dict): ResourceRequirements {
  const r = dict(deploy['resources']) ?? {};
  const out: ResourceRequirements = {};
  const cpus = (block: string, v: unknown) => {
    if (v === undefined || v === null || v === '') return undefined;
    const n = typeof v === 'string' || typeof v === 'number' ? nanoCpus(v) : undefined;
    if (n === undefined) fail(s.name, ['deploy', 'resources', block, 'cpus'], `"${String(v)}" is not a number of CPUs (or is more precise than a nanoCPU)`);
    return n;
  };
  const memory = (block: string, v: unknown) => {
    if (v === undefined || v === null) return undefined;
    const n = typeof v === 'string' || typeof v === 'number' ? memoryBytes(v) : undefined;
    if (n === undefined) fail(s.name, ['deploy', 'resources', block, 'memory'], `"${String(v)}" is not a size (write e.g. "64M", "1G")`);
    return n;
  };
  const limits = dict(r['limits']);
  if (limits) {
    const l: NonNullable<ResourceRequirements['limits']> = {};
    const c = cpus('limits', limits['cpus']);
    const m = memory('limits', limits['memory']);
    if (c) l.nanoCpus = c;
    if (m) l.memoryBytes = m;
    if (typeof limits['pids'] === 'number' && limits['pids'] !== 0) l.pids = limits['pids'];
    out.limits = l;
  }
  const reservations = dict(r['reservations']);
  if (reservations) {
    const v: NonNullable<ResourceRequirements['reservations']> = {};
    const c = cpus('reservations', reservations['cpus']);
    const m = memory('reservations', reservations['memory']);
    if (c) v.nanoCpus = c;
    if (m) v.memoryBytes = m;
    const generic = (Array.isArray(reservations['generic_resources']) ? reservations['generic_resources'] : []).flatMap((g) => {
      const spec = dict(dict(g)?.['discrete_resource_spec']);
      return spec ? [{ kind: String(spec['kind'] ?? ''), value: Number(spec['value'] ?? 0) }] : [];
    });
    if (generic.length > 0) v.generic = generic;
    out.reservations = v;
  }
  return out;
}

/** deploy.restart_policy, else `restart` read as Docker reads it (no → none of its own). */
function restartPolicy(s: ComposeService, deploy: Dict, ctx: ServiceContext): RestartPolicy | undefined {
  const policy = dict(deploy['restart_policy']);
  if (policy) {
    if (s.restart !== undefined) ctx.diagnostics.warn('ignoring "restart": deploy.restart_policy is set', ctx.locate(s.name, ['restart']));
    const out: RestartPolicy = {};
    const condition = str(policy['condition']);
    if (condition !== undefined) {
      if (!['none', 'on-failure', 'any'].includes(condition)) fail(s.name, ['deploy', 'restart_policy', 'condition'], `unknown condition "${condition}" (use none, on-failure or any)`);
      out.condition = condition as RestartPolicy['condition'];
    }
    const delay = duration(s.name, ['deploy', 'restart_policy', 'delay'], policy['delay']);
    const window = duration(s.name, ['deploy', 'restart_policy', 'window'], policy['window']);
    if (delay !== undefined) out.delay = delay;
    if (typeof policy['max_attempts'] === 'number') out.maxAttempts = policy['max_attempts'];
    if (window !== undefined) out.window = window;
    return out;
  }
  const restart = s.restart;
  if (restart === undefined || restart === '' || restart === 'no') return undefined;
  if (restart === 'always' || restart === 'unless-stopped') return { condition: 'any' };
  const m = /^on-failure(?::(\d+))?$/.exec(restart);
  if (m) return { condition: 'on-failure', maxAttempts: Number(m[1] ?? 0) };
  return fail(s.name, ['restart'], `unknown restart policy "${restart}" (use no, always, on-failure[:N] or unless-stopped)`);
}

function updatePolicy(s: ComposeService, deploy: Dict, key: 'update_config' | 'rollback_config'): UpdatePolicy | undefined {
  const c = dict(deploy[key]);
  if (!c) return undefined;
  const out: UpdatePolicy = { parallelism: typeof c['parallelism'] === 'number' ? c['parallelism'] : 1 };
  const delay = duration(s.name, ['deploy', key, 'delay'], c['delay']);
  const monitor = duration(s.name, ['deploy', key, 'monitor'], c['monitor']);
  if (delay) out.delay = delay;
  const action = str(c['failure_action']);
  if (action !== undefined && action !== '') {
    if (!['pause', 'continue', 'rollback'].includes(action)) fail(s.name, ['deploy', key, 'failure_action'], `unknown failure_action "${action}" (use pause, continue or rollback)`);
    out.failureAction = action as UpdatePolicy['failureAction'];
  }
  if (monitor) out.monitor = monitor;
  out.maxFailureRatio = typeof c['max_failure_ratio'] === 'number' ? c['max_failure_ratio'] : 0;
  const order = str(c['order']);
  if (order !== undefined && order !== '') {
    if (order !== 'stop-first' && order !== 'start-first') fail(s.name, ['deploy', key, 'order'], `unknown order "${order}" (use stop-first or start-first)`);
    out.order = order;
  }
  return out;
}

function endpoint(s: ComposeService, deploy: Dict, ctx: ServiceContext): EndpointSpec {
  const out: EndpointSpec = {};
  const modeText = str(deploy['endpoint_mode']);
  if (modeText !== undefined && modeText !== '') {
    const m = modeText.toLowerCase();
    if (m !== 'vip' && m !== 'dnsrr') fail(s.name, ['deploy', 'endpoint_mode'], `unknown endpoint_mode "${modeText}" (use vip or dnsrr)`);
    out.mode = m;
  }
  const p = ports(s, ctx);
  if (p.length > 0) out.ports = p;
  return out;
}

function checkImage(s: ComposeService): string {
  const image = s.image;
  if (image === undefined || image === '') fail(s.name, [], `service "${s.name}" has no image: a stack deploys images (build them and push them first)`);
  if (!parseImageReference(image)) fail(s.name, ['image'], `"${image}" is not a valid image reference`);
  return image;
}

export function serviceSpec(s: ComposeService, ctx: ServiceContext): ServiceSpec {
  const image = checkImage(s);
  const deploy = dict(s.deploy) ?? {};
  // The file's image is kept in a label; the spec gets it as Docker's client sends it (tagged).
  const container: ContainerSpec = { image: familiarTagged(image), labels: withNamespace(ctx.stack, s.labels) };
  const command = argv(s.name, 'entrypoint', s.entrypoint);
  const args = argv(s.name, 'command', s.command);
  if (command) container.command = command;
  if (args) container.args = args;
  if (s.hostname) container.hostname = s.hostname;
  const h = hosts(s.extra_hosts);
  if (h && h.length > 0) container.hosts = h;
  const dns = strings(s.dns);
  const search = strings(s.dns_search);
  if (dns || search) {
    container.dns = {};
    if (dns) container.dns.nameservers = dns;
    if (search) container.dns.search = search;
  }
  const health = healthcheck(s);
  if (health) container.healthcheck = health;
  const env = environment(s);
  if (env) container.env = env;
  if (s.working_dir) container.dir = s.working_dir;
  if (s.user) container.user = s.user;
  const mounts = mountsOf(s, ctx);
  if (mounts.length > 0) container.mounts = mounts;
  const grace = duration(s.name, ['stop_grace_period'], s.stop_grace_period);
  if (grace !== undefined) container.stopGracePeriod = grace;
  if (s.stop_signal) container.stopSignal = s.stop_signal;
  if (s.tty) container.tty = true;
  if (s.stdin_open) container.openStdin = true;
  const secrets = fileReferences(s, ctx, 'secrets');
  const configs = fileReferences(s, ctx, 'configs');
  if (secrets) container.secrets = secrets;
  if (configs) container.configs = configs;
  if (s.read_only) container.readOnly = true;
  const credential = dict(s['credential_spec']);
  if (credential) {
    const c: NonNullable<ContainerSpec['credentialSpec']> = {};
    for (const key of ['file', 'registry'] as const) if (typeof credential[key] === 'string') c[key] = credential[key] as string;
    if (credential['config'] !== undefined) fail(s.name, ['credential_spec', 'config'], 'credential_spec.config is not supported (Windows only)');
    if (c.file && c.registry) fail(s.name, ['credential_spec'], 'credential_spec: set only one of file and registry');
    container.credentialSpec = c;
  }
  // "default" is what the swarm stores for no isolation at all: said or not, the same service.
  if (s['isolation'] !== undefined && s['isolation'] !== '' && s['isolation'] !== 'default') container.isolation = String(s['isolation']);
  if (typeof s.init === 'boolean') container.init = s.init;
  if (s.sysctls && Object.keys(s.sysctls).length > 0) container.sysctls = stringMap(s.sysctls) as Record<string, string>;
  const caps = capabilities(s.cap_add, s.cap_drop);
  if (caps.add) container.capabilityAdd = caps.add;
  if (caps.drop) container.capabilityDrop = caps.drop;
  const limits = ulimits(s);
  if (limits && limits.length > 0) container.ulimits = limits;
  if (typeof s['oom_score_adj'] === 'number' && s['oom_score_adj'] !== 0) container.oomScoreAdj = s['oom_score_adj'];

  const spec: ServiceSpec = {
    name: scope(ctx.stack, s.name),
    labels: { ...withNamespace(ctx.stack, stringMap(deploy['labels'])), [IMAGE_LABEL]: image },
    task: { container, resources: resources(s, deploy), placement: {}, networks: networks(s, ctx) },
    mode: mode(s, deploy),
    endpoint: endpoint(s, deploy, ctx),
  };
  const restart = restartPolicy(s, deploy, ctx);
  if (restart) spec.task.restart = restart;
  const placement = dict(deploy['placement']);
  if (placement) {
    const constraints = strings(placement['constraints']);
    const spread = (Array.isArray(placement['preferences']) ? placement['preferences'] : []).flatMap((p) => {
      const d = str(dict(p)?.['spread']);
      return d === undefined ? [] : [d];
    });
    if (constraints && constraints.length > 0) spec.task.placement = { ...spec.task.placement, constraints };
    if (spread.length > 0) spec.task.placement = { ...spec.task.placement, spread };
    if (typeof placement['max_replicas_per_node'] === 'number' && placement['max_replicas_per_node'] !== 0) {
      spec.task.placement = { ...spec.task.placement, maxReplicas: placement['max_replicas_per_node'] };
    }
  }
  if (s.logging) {
    const log: NonNullable<typeof spec.task.logDriver> = { name: s.logging.driver ?? '' };
    const options = stringMap(s.logging.options);
    if (options) log.options = options;
    spec.task.logDriver = log;
  }
  const update = updatePolicy(s, deploy, 'update_config');
  const rollback = updatePolicy(s, deploy, 'rollback_config');
  if (update) spec.update = update;
  if (rollback) spec.rollback = rollback;
  return spec;
}
