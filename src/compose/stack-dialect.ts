/**
 * Compose files as `docker stack deploy` (Docker CLI 28) reads them, which is not how
 * docker-compose reads them: only format 3.x (a file without `version` is 3.13, never v1 or the
 * Compose Specification), every file of one version, no `.env` unless asked for, and three lists
 * of service keys it treats apart, checked on each file as written:
 * - forbidden: the deploy fails, naming the key and what to use instead;
 * - unsupported: ignored, with a warning;
 * - deprecated: ignored, with a warning saying why.
 * Keys Docker drops without a word are warned about too. `restart` is not warned about here:
 * Docker calls it unsupported but uses it when deploy.restart_policy is absent, and so does the
 * stack compiler (which warns when deploy.restart_policy makes it pointless).
 */
import { ConfigError, ErrorList, formatKeyPath } from '../errors.js';
import type { Diagnostics } from '../diagnostics.js';
import { isPlainObject, type YamlFile } from './yaml/read.js';

export type Dialect = 'compose' | 'stack';

/** Key → what to do instead. */
export const FORBIDDEN_STACK_KEYS: Readonly<Record<string, string>> = {
  extends: 'stack deploy does not support extends',
  volume_driver: 'define a volume under the top-level "volumes" with its driver, and mount that',
  volumes_from: 'to share a volume between services, define it under the top-level "volumes" and mount it in each',
  cpu_quota: 'set resource limits with deploy.resources',
  cpu_shares: 'set resource limits with deploy.resources',
  cpuset: 'set resource limits with deploy.resources',
  mem_limit: 'set resource limits with deploy.resources',
  memswap_limit: 'set resource limits with deploy.resources',
};

export const UNSUPPORTED_STACK_KEYS: readonly string[] = [
  'build',
  'cgroupns_mode',
  'cgroup_parent',
  'devices',
  'domainname',
  'external_links',
  'ipc',
  'links',
  'mac_address',
  'network_mode',
  'pid',
  'privileged',
  'restart',
  'security_opt',
  'shm_size',
  'userns_mode',
];

export const DEPRECATED_STACK_KEYS: Readonly<Record<string, string>> = {
  container_name: 'setting the container name is not supported',
  expose: 'exposing ports is unnecessary: services on the same network reach each other on any port',
};

/** Keys Docker ignores without a warning (depends_on is the stack compiler's: --ordered uses it). */
const SILENTLY_IGNORED: Readonly<Record<string, string>> = {
  tmpfs: 'mount a volume of type tmpfs instead',
};

/** `version` values docker stack deploy has a schema for. */
export function isStackVersion(version: string): boolean {
  return /^3(\.(\d|1[0-3]))?$/.test(version);
}

function servicesOf(doc: Record<string, unknown>): [string, Record<string, unknown>][] {
  const services = doc['services'];
  if (!isPlainObject(services)) return [];
  return Object.entries(services).filter((e): e is [string, Record<string, unknown>] => isPlainObject(e[1]));
}

/** Forbidden keys of one file (all of them at once), before anything else is checked. */
export function checkForbiddenKeys(doc: Record<string, unknown>, yaml: YamlFile): void {
  const errors: ConfigError[] = [];
  for (const [name, service] of servicesOf(doc)) {
    for (const key of Object.keys(service)) {
      const hint = FORBIDDEN_STACK_KEYS[key];
      if (hint === undefined) continue;
      const path = ['services', name, key];
      errors.push(new ConfigError(`"${key}" is not supported by stack deploy: ${hint}`, { file: yaml.file, ...yaml.locate(path), path: formatKeyPath(path) }));
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new ErrorList(errors);
}

/** Warnings for the keys a stack deploy ignores, where each is written. */
export function warnIgnoredKeys(doc: Record<string, unknown>, yaml: YamlFile, diagnostics: Diagnostics): void {
  for (const [name, service] of servicesOf(doc)) {
    for (const key of Object.keys(service)) {
      const path = ['services', name, key];
      const at = { file: yaml.file, ...yaml.locate(path), path: formatKeyPath(path) };
      if (key === 'restart') continue;
      if (UNSUPPORTED_STACK_KEYS.includes(key)) {
        diagnostics.warn(`ignoring unsupported option "${key}" (stack deploy does not support it)`, at);
      } else if (DEPRECATED_STACK_KEYS[key] !== undefined) {
        diagnostics.warn(`ignoring deprecated option "${key}": ${DEPRECATED_STACK_KEYS[key]}`, at);
      } else if (SILENTLY_IGNORED[key] !== undefined) {
        diagnostics.warn(`ignoring "${key}" (docker stack deploy ignores it too): ${SILENTLY_IGNORED[key]}`, at);
      }
    }
  }
}
