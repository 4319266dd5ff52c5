/**
 * Compose values written as a list ("KEY=value") or a mapping, read into a mapping as
 * docker-compose 1.29.2 reads them: environment and build args (a bare KEY is null), labels and
 * sysctls (a bare key is ""), depends_on (a list means service_started), extra_hosts ("host:ip").
 */
import { setOwn } from '../../util/own.js';
import { ConfigError } from '../../errors.js';
import { isPlainObject } from '../yaml/read.js';

type Dict = Record<string, unknown>;

function splitEnv(entry: string): [string, string | null] {
  const eq = entry.indexOf('=');
  const key = eq === -1 ? entry : entry.slice(0, eq);
  if (/\s/.test(key)) throw new ConfigError(`environment variable name '${key}' may not contain whitespace`);
  return [key, eq === -1 ? null : entry.slice(eq + 1)];
}

function splitKeyValue(entry: string): [string, string] {
  const eq = entry.indexOf('=');
  return eq === -1 ? [entry, ''] : [entry.slice(0, eq), entry.slice(eq + 1)];
}

function dictOrList(value: unknown, split: (entry: string) => [string, unknown], what: string): Dict {
  if (value === null || value === undefined || value === '' || (Array.isArray(value) && value.length === 0)) return {};
  if (Array.isArray(value)) {
    const out: Dict = {};
    for (const e of value) {
      const [k, v] = split(String(e));
      setOwn(out, k, v);
    }
    return out;
  }
  if (isPlainObject(value)) return { ...value };
  throw new ConfigError(`${what} "${String(value)}" must be a list or mapping`);
}

export const parseEnvironment = (v: unknown): Dict => dictOrList(v, splitEnv, 'environment');
export const parseBuildArgs = (v: unknown): Dict => dictOrList(v, splitEnv, 'build arguments');
export const parseLabels = (v: unknown): Dict => dictOrList(v, splitKeyValue, 'labels');
export const parseSysctls = (v: unknown): Dict => dictOrList(v, splitKeyValue, 'sysctls');
export const parseDependsOn = (v: unknown): Dict =>
  dictOrList(v, (name) => [name, { condition: 'service_started' }], 'depends_on');

export function parseExtraHosts(value: unknown): Dict {
  if (value === null || value === undefined) return {};
  if (isPlainObject(value)) return { ...value };
  if (Array.isArray(value)) {
    const out: Dict = {};
    for (const line of value) {
      const s = String(line);
      const colon = s.indexOf(':');
      if (colon === -1) throw new ConfigError(`extra_hosts entry "${s}" must be "host:ip"`);
      setOwn(out, s.slice(0, colon).trim(), s.slice(colon + 1).trim());
    }
    return out;
  }
  return {};
}
