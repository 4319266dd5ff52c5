/**
 * Python's `json.dumps(obj, sort_keys=True, separators=(",", ":"))`, byte for byte: docker-compose
 * hashes that text (config-hash labels, ordering merged lists), so matching it lets Flotilla and
 * docker-compose agree on hashes.
 */
import { sha256Hex } from './lazy-crypto.js';
import { pythonFloatRepr } from './python-float.js';

/** Marks a number that Python holds as a float, so it prints as "1.0" rather than "1". */
export class PyFloat {
  constructor(readonly value: number) {}
}

/** A value these functions write: JSON, with floats Python holds marked. */
export type PyJson = null | boolean | number | string | PyFloat | PyJson[] | { [key: string]: PyJson };

const ESCAPES: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f' };

// One replace over the string: appending character by character made a rope of one node per
// character (a 30 MB value took 28 s and 1.2 GB to hash).
function quote(s: string): string {
  return `"${s.replace(/[^ -~]|["\\]/g, (c) => ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}"`;
}

function floatRepr(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? 'Infinity' : '-Infinity';
  return pythonFloatRepr(n);
}

export function pythonJsonDumps(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (value === true) return 'true';
  if (value === false) return 'false';
  if (value instanceof PyFloat) return floatRepr(value.value);
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : floatRepr(value);
  if (typeof value === 'string') return quote(value);
  if (Array.isArray(value)) return `[${value.map(pythonJsonDumps).join(',')}]`;
  if (typeof value === 'object') {
    const keys = Object.keys(value).sort();
    const obj = value as Record<string, unknown>;
    return `{${keys.filter((k) => obj[k] !== undefined).map((k) => `${quote(k)}:${pythonJsonDumps(obj[k])}`).join(',')}}`;
  }
  return quote(String(value));
}

/** Python's plain `json.dumps(obj)`: keys in insertion order, ", " and ": " separators. */
export function pythonJsonDefault(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(pythonJsonDefault).join(', ')}]`;
  if (value && typeof value === 'object' && !(value instanceof PyFloat)) {
    const obj = value as Record<string, unknown>;
    return `{${Object.keys(obj).map((k) => `${quote(k)}: ${pythonJsonDefault(obj[k])}`).join(', ')}}`;
  }
  return pythonJsonDumps(value);
}

/** docker-compose's json_hash: SHA-256 of the canonical JSON, hex. */
export function jsonHash(value: unknown): string {
  return sha256Hex(pythonJsonDumps(value));
}

/** Python's `json.dumps(obj, indent=indent, sort_keys=True)`, as docker-compose wrote bundles. */
export function pythonJsonPretty(value: unknown, indent = 2, depth = 0): string {
  const pad = ' '.repeat(indent * (depth + 1));
  const close = ' '.repeat(indent * depth);
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v) => pad + pythonJsonPretty(v, indent, depth + 1)).join(',\n')}\n${close}]`;
  }
  if (value && typeof value === 'object' && !(value instanceof PyFloat)) {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
    if (keys.length === 0) return '{}';
    return `{\n${keys.map((k) => `${pad}${pythonJsonDumps(k)}: ${pythonJsonPretty(obj[k], indent, depth + 1)}`).join(',\n')}\n${close}}`;
  }
  return pythonJsonDumps(value);
}
