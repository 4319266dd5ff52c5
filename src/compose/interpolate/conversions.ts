/**
 * After interpolation docker-compose re-types values by where they stand, so that
 * `privileged: "${PRIV:-yes}"` is a boolean and `published: "${PORT}"` a number. The table is keyed
 * by "config paths": the section (service, network, ...), the entry name, then keys, with list
 * indexes left out (so `ports.target` covers every item of `ports`).
 */
import { parseBytes } from '../../util/bytes.js';
import { parseDurationNanos } from '../syntax/duration.js';
import { pythonFloatRepr } from '../../util/python-float.js';

export type Section = 'service' | 'network' | 'volume' | 'secret' | 'config';

export class ConversionError extends Error {}

type Converter = (value: unknown, isIntegralFloat: boolean) => unknown;

const BOOLEAN_WORDS: Record<string, boolean> = { y: true, yes: true, true: true, on: true, n: false, no: false, false: false, off: false };

const toBoolean: Converter = (v) => {
  if (typeof v !== 'string') return v;
  const b = BOOLEAN_WORDS[v.toLowerCase()];
  if (b === undefined) throw new ConversionError(`"${v.toLowerCase()}" is not a valid boolean value`);
  return b;
};

/** Python's int(s, 0), after docker-compose rewrites a leading-zero number as octal. */
const toInt: Converter = (v) => {
  if (typeof v !== 'string') return v;
  let s = v.trim();
  if (/^0[0-9]+$/.test(s)) s = `0o${s.slice(1)}`;
  const m = /^([+-]?)(?:0([xob])([0-9a-fA-F](?:_?[0-9a-fA-F])*)|([1-9](?:_?\d)*|0(?:_?0)*))$/i.exec(s);
  if (m) {
    const sign = m[1] === '-' ? -1 : 1;
    if (m[2]) {
      const radix = { x: 16, o: 8, b: 2 }[m[2].toLowerCase() as 'x' | 'o' | 'b'];
      const digits = (m[3] ?? '').replace(/_/g, '');
      const valid = radix === 16 || new RegExp(`^[0-${radix - 1}]+$`).test(digits);
      if (valid) return sign * parseInt(digits, radix);
    } else {
      return sign * Number((m[4] ?? '').replace(/_/g, ''));
    }
  }
  throw new ConversionError(`"${v}" is not a valid integer`);
};

const FLOAT_TEXT = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?|inf|infinity|nan)$/i;

/** Python's float(s): digits may be grouped with single underscores (`1_000.5`). */
const toFloat: Converter = (v) => {
  if (typeof v !== 'string') return v;
  const s = v.trim();
  const plain = s.replace(/(?<=\d)_(?=\d)/g, '');
  if (!FLOAT_TEXT.test(plain)) throw new ConversionError(`"${v}" is not a valid float`);
  const lower = plain.toLowerCase();
  if (lower.includes('inf')) return lower.startsWith('-') ? -Infinity : Infinity;
  if (lower.includes('nan')) return NaN;
  return Number(lower);
};

/** Python's str() of a scalar: labels are strings, so `true` becomes "True" and `1.0` "1.0". */
export function pythonStr(v: unknown, isIntegralFloat: boolean): unknown {
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number') {
    // A YAML int stays as written; a float (`1.0`, `0.5`) is Python's repr of it.
    if (Number.isInteger(v) && !isIntegralFloat) return String(v);
    return pythonFloatRepr(v);
  }
  return v;
}

const toStr: Converter = pythonStr;

/**
 * Numbers become strings here for the values docker-compose makes strings later (build args,
 * sysctls, driver options): only here is it still known that `1.0` was written as a float.
 * Booleans stay, so that the schema still refuses them.
 */
const numberToStr: Converter = (v, integral) => (typeof v === 'number' ? pythonStr(v, integral) : v);

const toBytes: Converter = (v) => {
  if (typeof v !== 'string' && typeof v !== 'number') return v;
  const n = parseBytes(v);
  if (n === undefined) throw new ConversionError(`"${v}" is not a valid byte value`);
  return n;
};

const toMicroseconds: Converter = (v) => {
  if (typeof v !== 'string') return v;
  const ns = parseDurationNanos(v);
  if (ns === undefined) throw new ConversionError(`"${v}" is not a valid duration`);
  return Math.trunc(ns / 1000);
};

// "*" is exactly one path segment, "**" one or more.
const TABLE: [string, Converter][] = [
  ['service.*.blkio_config.weight', toInt],
  ['service.*.blkio_config.weight_device.weight', toInt],
  ['service.*.build.labels.**', toStr],
  ['service.*.build.args.*', numberToStr],
  ['service.*.sysctls.*', numberToStr],
  ['service.*.cpus', toFloat],
  ['service.*.cpu_count', toInt],
  ['service.*.cpu_quota', toMicroseconds],
  ['service.*.cpu_period', toMicroseconds],
  ['service.*.cpu_rt_period', toMicroseconds],
  ['service.*.cpu_rt_runtime', toMicroseconds],
  ['service.*.configs.mode', toInt],
  ['service.*.secrets.mode', toInt],
  ['service.*.healthcheck.retries', toInt],
  ['service.*.healthcheck.disable', toBoolean],
  ['service.*.deploy.labels.*', toStr],
  ['service.*.deploy.replicas', toInt],
  ['service.*.deploy.placement.max_replicas_per_node', toInt],
  ['service.*.deploy.resources.limits.cpus', toFloat],
  ['service.*.deploy.update_config.parallelism', toInt],
  ['service.*.deploy.update_config.max_failure_ratio', toFloat],
  ['service.*.deploy.rollback_config.parallelism', toInt],
  ['service.*.deploy.rollback_config.max_failure_ratio', toFloat],
  ['service.*.deploy.restart_policy.max_attempts', toInt],
  ['service.*.mem_swappiness', toInt],
  ['service.*.labels.**', toStr],
  ['service.*.oom_kill_disable', toBoolean],
  ['service.*.oom_score_adj', toInt],
  ['service.*.ports.target', toInt],
  ['service.*.ports.published', toInt],
  ['service.*.scale', toInt],
  ['service.*.ulimits.*', toInt],
  ['service.*.ulimits.*.soft', toInt],
  ['service.*.ulimits.*.hard', toInt],
  ['service.*.privileged', toBoolean],
  ['service.*.read_only', toBoolean],
  ['service.*.stdin_open', toBoolean],
  ['service.*.tty', toBoolean],
  ['service.*.volumes.read_only', toBoolean],
  ['service.*.volumes.volume.nocopy', toBoolean],
  ['service.*.volumes.tmpfs.size', toBytes],
  ['network.*.attachable', toBoolean],
  ['network.*.external', toBoolean],
  ['network.*.internal', toBoolean],
  ['network.*.labels.**', toStr],
  ['network.*.driver_opts.*', numberToStr],
  ['volume.*.external', toBoolean],
  ['volume.*.labels.**', toStr],
  ['volume.*.driver_opts.*', numberToStr],
  ['secret.*.external', toBoolean],
  ['secret.*.labels.**', toStr],
  ['secret.*.driver_opts.*', numberToStr],
  ['config.*.external', toBoolean],
  ['config.*.labels.**', toStr],
];

const COMPILED: [string[], Converter][] = TABLE.map(([p, c]) => [p.split('.'), c]);

// Every pattern names its section and then one entry ("*"); a scalar is converted once, so the
// patterns are grouped by section and third segment, the only ones worth trying for a path.
const BY_HEAD = new Map<string, [string[], Converter][]>();
for (const entry of COMPILED) {
  if (entry[0][1] !== '*' || entry[0][2] === undefined || entry[0][2].includes('*')) {
    throw new Error(`conversion pattern ${entry[0].join('.')} must be section.*.key...`);
  }
  const head = `${entry[0][0]}.${entry[0][2]}`;
  BY_HEAD.set(head, [...(BY_HEAD.get(head) ?? []), entry]);
}

function matches(pattern: readonly string[], path: readonly string[]): boolean {
  const last = pattern[pattern.length - 1];
  if (last === '**') {
    if (path.length < pattern.length) return false;
  } else if (path.length !== pattern.length) {
    return false;
  }
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i];
    if (p === '**') return true;
    if (p !== '*' && p !== path[i]) return false;
  }
  return true;
}

/** The converter for a config path (`["service", "web", "ports", "target"]`), if any. */
export function converterFor(path: readonly string[]): Converter | undefined {
  if (path.length < 3) return undefined;
  const candidates = BY_HEAD.get(`${path[0]}.${path[2]}`);
  if (candidates) for (const [pattern, conv] of candidates) if (matches(pattern, path)) return conv;
  return undefined;
}
