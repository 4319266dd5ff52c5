/**
 * Last normalisation of a service into the model (docker-compose 1.29.2's finalize_service):
 * env_file folded into environment (environment wins; bare keys taken from the shell/.env),
 * volumes parsed (duplicate targets refused), volumes_from/networks/restart/secrets/configs
 * parsed, build made a mapping with its args resolved, v1's net/log_driver/log_opt/dockerfile
 * moved to their current keys.
 */
import { setOwn } from '../../util/own.js';
import type { Diagnostics } from '../../diagnostics.js';
import type {
  ComposeBuild,
  EnvValue,
  ComposeFileReference,
  ComposeService,
  ComposeVolumeEntry,
  ComposeVolumesFrom,
} from '../document.js';
import { ConfigError } from '../../errors.js';
import { readEnvFile, type Environment, type EnvSource } from '../environment.js';
import { isFile, readTextFile } from '../../util/input-files.js';
import { parseRawDotenv } from '../dotenv.js';
import { parseBuildArgs, parseEnvironment } from '../syntax/mappings.js';
import { parseLongVolume, parseShortVolume, VolumeSyntaxError } from '../syntax/volumes.js';
import { isPlainObject } from '../yaml/read.js';
import { pythonStr } from '../interpolate/conversions.js';
import { ServiceProblem, toList } from './process.js';

type Dict = Record<string, unknown>;

export interface FinalizeContext {
  serviceNames: ReadonlySet<string>;
  legacy: boolean;
  environment: Environment;
  shell: EnvSource;
  diagnostics: Diagnostics;
  interpolate: boolean;
  home: string;
  dir: string;
}

function resolveEnvValue(key: string, value: unknown, env: Environment): EnvValue {
  if (value !== null && value !== undefined) return value as EnvValue;
  const fromEnv = env.get(key);
  return fromEnv === undefined ? null : fromEnv;
}

function finalizeEnvironment(s: Dict, ctx: FinalizeContext): Record<string, EnvValue> {
  const env: Record<string, unknown> = {};
  toList(s['env_file']).forEach((entry, i) => {
    // The Spec's long form: `required: false` skips a missing file; `format: raw` takes lines as written.
    const long = isPlainObject(entry) ? entry : undefined;
    const file = String(long ? long['path'] : entry);
    const required = long?.['required'] ?? true;
    if ((required === false || required === 'false') && !isFile(file)) return;
    const format = long?.['format'];
    if (format !== undefined && format !== 'raw') {
      throw new ServiceProblem(`env_file format "${String(format)}" is not supported (leave it out, or use "raw")`, ['env_file', i, 'format']);
    }
    let values: Map<string, string | null>;
    try {
      values = format === 'raw' ? parseRawDotenv(readTextFile(file, 'env file')) : readEnvFile(file, ctx.interpolate ? ctx.shell : {}, ctx.diagnostics);
    } catch (e) {
      if (e instanceof ConfigError) throw new ServiceProblem(e.message.replace(/^env file/, 'env_file'), ['env_file', i]);
      throw e;
    }
    for (const [k, v] of values) setOwn(env, k, !ctx.interpolate && v !== null ? v.replace(/\$/g, '$$$$') : v);
  });
  for (const [k, v] of Object.entries(parseEnvironment(s['environment']))) setOwn(env, k, v);
  const out: Record<string, EnvValue> = {};
  for (const [k, v] of Object.entries(env)) setOwn(out, k, resolveEnvValue(k, v, ctx.environment));
  return out;
}

function parseVolumesFrom(entry: string, ctx: FinalizeContext): ComposeVolumesFrom {
  const parts = entry.split(':');
  if (ctx.legacy) {
    if (parts.length > 2) throw new Error(`volumes_from "${entry}" must be service[:mode]`);
    const [source = '', mode = 'rw'] = parts;
    return { source, mode, type: ctx.serviceNames.has(source) ? 'service' : 'container' };
  }
  if (parts.length > 3) {
    throw new Error(`volumes_from "${entry}" must be "<service>[:<mode>]" or "container:<name>[:<mode>]"`);
  }
  if (parts.length === 1) return { source: entry, mode: 'rw', type: 'service' };
  if (parts.length === 2) {
    if (parts[0] === 'container') return { source: parts[1] as string, mode: 'rw', type: 'container' };
    return { source: parts[0] as string, mode: parts[1] as string, type: 'service' };
  }
  const [type, source = '', mode = 'rw'] = parts;
  if (type !== 'service' && type !== 'container') throw new Error(`unknown volumes_from type '${type}' in "${entry}"`);
  return { source, mode, type };
}

function finalizeVolumes(list: unknown[], ctx: FinalizeContext): ComposeVolumeEntry[] {
  const volumes = list.map((v, i) => {
    try {
      return isPlainObject(v) ? parseLongVolume(v, ctx.dir, ctx.home) : parseShortVolume(String(v));
    } catch (e) {
      if (e instanceof VolumeSyntaxError) throw new ServiceProblem(e.message, ['volumes', i]);
      throw e;
    }
  });
  const byTarget = new Map<string, number>();
  for (const v of volumes) byTarget.set(v.target, (byTarget.get(v.target) ?? 0) + 1);
  const dupes = volumes.filter((v) => (byTarget.get(v.target) ?? 0) > 1);
  if (dupes.length > 0) {
    const shown = dupes.map((v) => (v.source !== undefined ? `${v.source}:${v.target}:${v.read_only ? 'ro' : 'rw'}` : v.target));
    throw new ServiceProblem(`duplicate mount points: [${shown.join(', ')}]`, ['volumes']);
  }
  return volumes;
}

/** "on-failure:3" stays "on-failure:3"; "always:0" becomes "always"; more than one ":" is an error. */
function normaliseRestart(value: unknown): string {
  if (!value) return '';
  const parts = String(value).split(':');
  if (parts.length > 2) throw new ServiceProblem(`restart "${String(value)}" must be mode[:max_retries]`, ['restart']);
  const [name = '', count = '0'] = parts;
  // Python's int(): surrounding spaces, a sign, digits grouped by single underscores.
  if (!/^\s*[+-]?\d+(?:_\d+)*\s*$/.test(count)) throw new ServiceProblem(`restart "${String(value)}": "${count}" is not a number`, ['restart']);
  const n = Number(count.replace(/_/g, ''));
  return n ? `${name}:${n}` : name;
}

function parseFileReferences(list: unknown[]): ComposeFileReference[] {
  return list.map((item) => {
    if (typeof item === 'string') return { source: item };
    const d = item as Dict;
    const ref: ComposeFileReference = { source: String(d['source'] ?? '') };
    if (d['source'] === undefined || d['source'] === null) delete (ref as Partial<ComposeFileReference>).source;
    for (const k of ['target', 'uid', 'gid'] as const) if (d[k] !== undefined && d[k] !== null) ref[k] = d[k] as string;
    if (d['mode'] !== undefined && d['mode'] !== null) ref.mode = d['mode'] as number;
    if (d['name'] !== undefined && d['name'] !== null) (ref as unknown as Dict)['name'] = d['name'];
    return ref;
  });
}

function normaliseBuild(build: unknown, env: Environment): ComposeBuild {
  if (typeof build === 'string') return { context: build };
  const b = { ...(build as Dict) } as ComposeBuild;
  if ('args' in b) {
    const args = parseBuildArgs(b.args);
    b.args = Object.fromEntries(
      Object.entries(args).map(([k, v]) => {
        const resolved = resolveEnvValue(k, v, env);
        return [k, resolved === null ? '' : String(pythonStr(resolved, false))];
      }),
    );
  }
  return b;
}

/** `label_file` (the Spec): labels read from each file in order, a later file winning, under `labels`. */
function finalizeLabels(s: Dict, ctx: FinalizeContext): Record<string, string> {
  const labels: Record<string, string> = {};
  toList(s['label_file']).forEach((file, i) => {
    try {
      for (const [k, v] of readEnvFile(String(file), {}, ctx.diagnostics)) setOwn(labels, k, v ?? '');
    } catch (e) {
      if (e instanceof ConfigError) throw new ServiceProblem(e.message.replace(/^env file/, 'label_file'), ['label_file', i]);
      throw e;
    }
  });
  return { ...labels, ...(isPlainObject(s['labels']) ? (s['labels'] as Record<string, string>) : {}) };
}

export function finalizeService(name: string, s: Dict, ctx: FinalizeContext): ComposeService {
  const out: Dict = { ...s };
  if ('label_file' in out) {
    out['labels'] = finalizeLabels(out, ctx);
    delete out['label_file'];
  }
  if ('environment' in out || 'env_file' in out) {
    out['environment'] = finalizeEnvironment(out, ctx);
    delete out['env_file'];
  }
  if (Array.isArray(out['volumes_from'])) {
    out['volumes_from'] = out['volumes_from'].map((v, i) => {
      try {
        return parseVolumesFrom(String(v), ctx);
      } catch (e) {
        throw new ServiceProblem((e as Error).message, ['volumes_from', i]);
      }
    });
  }
  if (Array.isArray(out['volumes'])) out['volumes'] = finalizeVolumes(out['volumes'], ctx);
  if ('net' in out) {
    const net = String(out['net']);
    delete out['net'];
    const container = net.startsWith('container:') ? net.slice('container:'.length) : undefined;
    out['network_mode'] = container !== undefined && ctx.serviceNames.has(container) ? `service:${container}` : net;
  }
  if ('networks' in out && Array.isArray(out['networks'])) {
    out['networks'] = Object.fromEntries(out['networks'].map((n) => [String(n), null]));
  }
  if ('restart' in out) out['restart'] = normaliseRestart(out['restart']);
  if (Array.isArray(out['secrets'])) out['secrets'] = parseFileReferences(out['secrets']);
  if (Array.isArray(out['configs'])) out['configs'] = parseFileReferences(out['configs']);
  if ('build' in out) out['build'] = normaliseBuild(out['build'], ctx.environment);
  if ('log_driver' in out || 'log_opt' in out) {
    const logging: Dict = isPlainObject(out['logging']) ? { ...out['logging'] } : {};
    if ('log_driver' in out) logging['driver'] = out['log_driver'];
    if ('log_opt' in out) logging['options'] = out['log_opt'];
    delete out['log_driver'];
    delete out['log_opt'];
    out['logging'] = logging;
  }
  if ('dockerfile' in out) {
    out['build'] = { ...(isPlainObject(out['build']) ? out['build'] : {}), dockerfile: out['dockerfile'] };
    delete out['dockerfile'];
  }
  delete out['extends'];
  return { ...out, name } as ComposeService;
}

