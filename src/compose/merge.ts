/**
 * Merging a service defined in several places (`-f a.yml -f b.yml`, or `extends`), with
 * docker-compose 1.29.2's per-key rules:
 *
 *   environment, labels, sysctls, ulimits, depends_on, storage_opt, extra_hosts  mappings merged, override wins per key
 *   links, secrets, configs, security_opt      keyed (alias / source / value), override wins per key
 *   ports                                      keyed by (target, published, host_ip, protocol), sorted by target
 *   volumes, devices                           keyed by container path, sorted by it
 *   networks                                   per network: aliases and link_local_ips unioned, the rest replaced
 *   cap_add, cap_drop, expose, external_links,
 *   volumes_from, device_cgroup_rules, profiles  union, as sorted strings
 *   dns, dns_search, env_file, tmpfs           concatenated
 *   logging, healthcheck, build, deploy, blkio_config  merged field by field (see below)
 *   any other key                              the override's value replaces the base's
 *
 * Keys docker-compose does not know how to merge (x-* extensions, pull_policy) are dropped from a
 * merged service, as 1.29.2 drops them, except in version-less files (see mergeServiceDicts). Pure functions: inputs are never modified.
 */
import { getOwn, setOwn } from '../util/own.js';
import { ConfigError } from '../errors.js';
import { jsonHash } from '../util/python-json.js';
import { isPlainObject } from './yaml/read.js';
import { parsePort, portKey, PortSyntaxError } from './syntax/ports.js';
import { canonicalSecurityOpt } from './syntax/security-opt.js';
import { splitPathMapping } from './syntax/volumes.js';
import { parseBuildArgs, parseDependsOn, parseEnvironment, parseExtraHosts, parseLabels, parseSysctls } from './syntax/mappings.js';
import type { ComposePort } from './document.js';

type Dict = Record<string, unknown>;

/** Keys 1.29.2 merges as plain values ("scalars") when nothing more specific applies. */
const SCALAR_KEYS = [
  'cgroup_parent', 'command', 'cpu_count', 'cpu_percent', 'cpu_period', 'cpu_quota', 'cpu_rt_period',
  'cpu_rt_runtime', 'cpu_shares', 'cpus', 'cpuset', 'detach', 'dns_opt', 'domainname', 'entrypoint',
  'group_add', 'hostname', 'image', 'ipc', 'isolation', 'mac_address', 'mem_limit', 'mem_reservation',
  'memswap_limit', 'mem_swappiness', 'net', 'oom_score_adj', 'oom_kill_disable', 'pid', 'privileged',
  'read_only', 'restart', 'runtime', 'shm_size', 'pids_limit', 'stdin_open', 'stop_signal', 'tty', 'user',
  'userns_mode', 'volume_driver', 'working_dir', 'container_name', 'credential_spec', 'dockerfile', 'init',
  'log_driver', 'log_opt', 'network_mode', 'platform', 'scale', 'stop_grace_period',
];

function has(d: Dict, k: string): boolean {
  return Object.hasOwn(d, k);
}

function flatDict(value: unknown): Dict {
  if (value === null || value === undefined) return {};
  if (isPlainObject(value)) return { ...value };
  throw new ConfigError('invalid type: expected a mapping');
}

// ---- merge helpers -----------------------------------------------------------------------------

class Merger {
  readonly out: Dict = {};
  constructor(
    readonly base: Dict,
    readonly override: Dict,
  ) {}

  needs(field: string): boolean {
    return has(this.base, field) || has(this.override, field);
  }

  field(field: string, merge: (b: unknown, o: unknown) => unknown, dflt?: () => unknown): void {
    if (!this.needs(field)) return;
    const b = has(this.base, field) ? this.base[field] : dflt?.();
    const o = has(this.override, field) ? this.override[field] : dflt?.();
    this.out[field] = merge(b, o);
  }

  mapping(field: string, parse: (v: unknown) => Dict = (v) => (isPlainObject(v) ? { ...v } : {})): void {
    this.field(field, (b, o) => ({ ...parse(b), ...parse(o) }));
  }

  /** Keyed list: items parsed, keyed, later wins, output sorted by `order`. */
  keyed<T>(field: string, parse: (item: unknown) => T, key: (t: T) => string, repr: (t: T) => unknown, order: (t: T) => string): void {
    this.field(field, (b, o) => {
      const merged = new Map<string, T>();
      for (const item of [...asList(b), ...asList(o)]) {
        const t = parse(item);
        merged.set(key(t), t);
      }
      return [...merged.values()].sort((x, y) => compareStrings(order(x), order(y))).map(repr);
    });
  }

  scalar(field: string): void {
    if (this.needs(field)) this.out[field] = has(this.override, field) ? this.override[field] : this.base[field];
  }
}

function asList(v: unknown): unknown[] {
  if (v === null || v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function uniqueSortedStrings(base: unknown, override: unknown): string[] {
  return [...new Set([...asList(base), ...asList(override)].map((x) => pyStr(x)))].sort(compareStrings);
}

/** str() of a list item as Python prints it (numbers, booleans). */
function pyStr(x: unknown): string {
  if (x === true) return 'True';
  if (x === false) return 'False';
  if (x === null || x === undefined) return 'None';
  return String(x);
}

function concatLists(base: unknown, override: unknown): unknown[] {
  return [...asList(base), ...asList(override)];
}

function uniqueObjects(base: unknown, override: unknown): unknown[] {
  const byHash = new Map<string, unknown>();
  for (const item of concatLists(base, override)) byHash.set(jsonHash(item), item);
  return [...byHash.entries()].sort((a, b) => compareStrings(a[0], b[0])).map(([, v]) => v);
}

// ---- field merges ------------------------------------------------------------------------------

function mergeNetworks(base: unknown, override: unknown): Dict {
  const toDict = (v: unknown): Dict =>
    Array.isArray(v) ? Object.fromEntries(v.map((n) => [String(n), {}])) : isPlainObject(v) ? v : {};
  const b = toDict(base);
  const o = toDict(override);
  const out: Dict = {};
  for (const name of new Set([...Object.keys(b), ...Object.keys(o)])) {
    const bn = getOwn(b, name);
    const on = getOwn(o, name);
    const m = new Merger(isPlainObject(bn) ? bn : {}, isPlainObject(on) ? on : {});
    m.field('aliases', uniqueSortedStrings, () => []);
    m.field('link_local_ips', uniqueSortedStrings, () => []);
    m.scalar('priority');
    m.scalar('ipv4_address');
    m.scalar('ipv6_address');
    setOwn(out, name, m.out);
  }
  return out;
}

function mergePathMappings(base: unknown, override: unknown): unknown[] {
  const byContainer = new Map<string, unknown>();
  for (const entry of concatLists(base, override)) {
    const key = isPlainObject(entry) ? String(entry['target'] ?? '') : splitPathMapping(String(entry))[0];
    byContainer.set(key, entry);
  }
  return [...byContainer.entries()].sort((a, b) => compareStrings(a[0], b[0])).map(([, v]) => v);
}

/** A merge that met a value it cannot read; the caller knows which file and service it came from. */
export class MergeProblem extends Error {
  constructor(
    message: string,
    readonly keyPath: (string | number)[],
  ) {
    super(message);
  }
}

function mergePorts(base: unknown, override: unknown): ComposePort[] {
  const merged = new Map<string, ComposePort>();
  for (const entry of concatLists(base, override)) {
    let parsed: ComposePort[];
    try {
      parsed = parsePort(entry);
    } catch (e) {
      if (e instanceof PortSyntaxError) throw new MergeProblem(e.message, ['ports']);
      throw e;
    }
    for (const p of parsed) merged.set(portKey(p), p);
  }
  // Stable sort by container port, as docker-compose does.
  return [...merged.values()].sort((a, b) => a.target - b.target);
}

function mergeLogging(base: unknown, override: unknown): Dict {
  const b = isPlainObject(base) ? base : {};
  const o = isPlainObject(override) ? override : {};
  const m = new Merger(b, o);
  m.scalar('driver');
  if (m.out['driver'] === b['driver'] || b['driver'] === undefined || b['driver'] === null) {
    m.mapping('options');
  } else if (isPlainObject(o['options']) && Object.keys(o['options']).length > 0) {
    m.out['options'] = o['options'];
  }
  return m.out;
}

function mergeHealthchecks(base: unknown, override: unknown): Dict {
  const b = isPlainObject(base) ? base : {};
  const o = isPlainObject(override) ? override : {};
  return { ...b, ...o };
}

function mergeBlkio(base: unknown, override: unknown): Dict {
  const m = new Merger(isPlainObject(base) ? base : {}, isPlainObject(override) ? override : {});
  m.scalar('weight');
  for (const field of ['device_read_bps', 'device_read_iops', 'device_write_bps', 'device_write_iops', 'weight_device']) {
    m.field(
      field,
      (b, o) => {
        const byPath = new Map<string, unknown>();
        for (const e of concatLists(b, o)) byPath.set(String((e as Dict)['path']), e);
        return [...byPath.entries()].sort((x, y) => compareStrings(x[0], y[0])).map(([, v]) => v);
      },
      () => [],
    );
  }
  return m.out;
}

function mergeBuild(base: Dict, override: Dict): Dict {
  const toDict = (v: unknown): Dict => (typeof v === 'string' ? { context: v } : isPlainObject(v) ? v : {});
  const m = new Merger(toDict(base['build']), toDict(override['build']));
  for (const k of ['context', 'dockerfile', 'network', 'target', 'shm_size', 'isolation']) m.scalar(k);
  m.mapping('args', parseBuildArgs);
  m.field('cache_from', uniqueSortedStrings, () => []);
  m.mapping('labels', parseLabels);
  m.mapping('extra_hosts', parseExtraHosts);
  return m.out;
}

function mergeReservations(base: unknown, override: unknown): Dict {
  const m = new Merger(isPlainObject(base) ? base : {}, isPlainObject(override) ? override : {});
  m.scalar('cpus');
  m.scalar('memory');
  m.keyed(
    'generic_resources',
    (item) => {
      const spec = isPlainObject(item) ? item['discrete_resource_spec'] : undefined;
      if (!isPlainObject(spec)) throw new ConfigError('generic_resource entry must include a discrete_resource_spec key');
      if (!has(spec, 'kind')) throw new ConfigError('generic_resource entry must include a discrete_resource_spec.kind subkey');
      return { kind: String(spec['kind']), value: spec['value'] ?? null };
    },
    (r) => r.kind,
    (r) => ({ discrete_resource_spec: { kind: r.kind, value: r.value } }),
    (r) => r.kind,
  );
  m.field('devices', uniqueObjects, () => []);
  return m.out;
}

function mergeDeploy(base: unknown, override: unknown): Dict {
  const b = isPlainObject(base) ? base : {};
  const o = isPlainObject(override) ? override : {};
  const m = new Merger(b, o);
  m.scalar('mode');
  m.scalar('endpoint_mode');
  m.scalar('replicas');
  m.mapping('labels', parseLabels);
  m.mapping('update_config');
  m.mapping('rollback_config');
  m.mapping('restart_policy');
  if (m.needs('resources')) {
    const r = new Merger(isPlainObject(b['resources']) ? b['resources'] : {}, isPlainObject(o['resources']) ? o['resources'] : {});
    r.mapping('limits');
    r.field('reservations', mergeReservations, () => ({}));
    m.out['resources'] = r.out;
  }
  if (m.needs('placement')) {
    const p = new Merger(isPlainObject(b['placement']) ? b['placement'] : {}, isPlainObject(o['placement']) ? o['placement'] : {});
    p.scalar('max_replicas_per_node');
    p.field('constraints', uniqueSortedStrings, () => []);
    p.field('preferences', uniqueObjects, () => []);
    m.out['placement'] = p.out;
  }
  return m.out;
}

interface Link {
  target: string;
  alias: string;
}

function parseLink(item: unknown): Link {
  const s = String(item);
  const colon = s.indexOf(':');
  const target = colon === -1 ? s : s.slice(0, colon);
  const alias = colon === -1 ? '' : s.slice(colon + 1);
  return { target, alias: alias || target };
}

function parseFileRef(item: unknown): Dict {
  if (typeof item === 'string') return { source: item };
  if (isPlainObject(item)) {
    const out: Dict = {};
    for (const k of ['source', 'target', 'uid', 'gid', 'mode', 'name']) if (item[k] !== undefined && item[k] !== null) out[k] = item[k];
    return out;
  }
  return { source: String(item) };
}

/**
 * Merges `override` onto `base` (two definitions of one service). `legacy` selects v1 image/build
 * rules; `spec` (version-less files) keeps the keys 1.29.2's table does not know, merged as
 * compose-go merges them (override/merge.go MergeYaml: mappings key by key, lists appended, any
 * other value replaced), where 1.29.2 drops them.
 */
export function mergeServiceDicts(base: Dict, override: Dict, legacy: boolean, spec = false): Dict {
  const m = new Merger(base, override);
  m.mapping('environment', parseEnvironment);
  m.mapping('labels', parseLabels);
  m.mapping('ulimits', flatDict);
  m.mapping('sysctls', parseSysctls);
  m.mapping('depends_on', parseDependsOn);
  m.mapping('storage_opt', flatDict);
  m.keyed('links', parseLink, (l) => l.alias, (l) => (l.target === l.alias ? l.target : `${l.target}:${l.alias}`), (l) => `${l.target}\0${l.alias}`);
  m.keyed('secrets', parseFileRef, (r) => String(r['source']), (r) => r, (r) => String(r['source']));
  m.keyed('configs', parseFileRef, (r) => String(r['source']), (r) => r, (r) => String(r['source']));
  m.keyed('security_opt', (i) => canonicalSecurityOpt(String(i)), (s) => s, (s) => s, (s) => s);
  m.mapping('extra_hosts', parseExtraHosts);
  m.field('networks', mergeNetworks, () => ({}));
  m.field('volumes', mergePathMappings);
  m.field('devices', mergePathMappings);
  for (const f of ['cap_add', 'cap_drop', 'expose', 'external_links', 'volumes_from', 'device_cgroup_rules', 'profiles']) {
    m.field(f, uniqueSortedStrings, () => []);
  }
  for (const f of ['dns', 'dns_search', 'env_file', 'tmpfs']) m.field(f, concatLists);
  m.field('logging', mergeLogging, () => ({}));
  m.field('ports', mergePorts);
  m.field('blkio_config', mergeBlkio, () => ({}));
  m.field('healthcheck', mergeHealthchecks, () => ({}));
  m.field('deploy', mergeDeploy, () => ({}));
  for (const f of SCALAR_KEYS) if (!has(m.out, f)) m.scalar(f);

  if (legacy) {
    // v1: whichever of image/build the override sets wins and removes the other.
    delete m.out['image'];
    delete m.out['build'];
    for (const [src, key] of [[override, 'image'], [override, 'build'], [base, 'image'], [base, 'build']] as const) {
      if (has(src, key)) {
        m.out[key] = src[key];
        break;
      }
    }
  } else if (m.needs('build')) {
    m.out['build'] = mergeBuild(base, override);
  }
  if (spec) {
    m.field('label_file', concatLists);
    for (const k of new Set([...Object.keys(base), ...Object.keys(override)])) {
      if (has(m.out, k) || k === 'extends') continue;
      m.out[k] = has(base, k) && has(override, k) ? mergeYaml(base[k], override[k]) : has(override, k) ? override[k] : base[k];
    }
  }
  return m.out;
}

/** compose-go's default merge of two YAML values (override/merge.go MergeYaml without its special rules). */
export function mergeYaml(base: unknown, override: unknown): unknown {
  if (override === null || override === undefined) return base;
  if (isPlainObject(base) && isPlainObject(override)) {
    const out: Dict = { ...base };
    for (const [k, v] of Object.entries(override)) setOwn(out, k, has(out, k) ? mergeYaml(out[k], v) : v);
    return out;
  }
  if (Array.isArray(base) && Array.isArray(override)) return [...base, ...override];
  return override;
}

/** Merging the same service from two files: also carries `extends` over (the override's first). */
export function mergeServiceFromFiles(base: Dict, override: Dict, legacy: boolean, spec = false): Dict {
  const merged = mergeServiceDicts(base, override, legacy, spec);
  if (has(override, 'extends')) merged['extends'] = override['extends'];
  else if (has(base, 'extends')) merged['extends'] = base['extends'];
  return merged;
}
