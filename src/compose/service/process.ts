/**
 * First normalisation of a service definition, applied with the directory of the file that
 * defines it (so an `extends` base keeps paths relative to its own file): relative paths made
 * absolute, ports parsed, labels/sysctls/depends_on made mappings, healthcheck durations read.
 * Mirrors docker-compose 1.29.2's process_service; the result may be merged again (extends).
 */
import { canonicalSecurityOpt, readSeccompProfile } from '../syntax/security-opt.js';
import { resolve } from 'node:path';
import { parseBytes } from '../../util/bytes.js';
import { parseDurationNanos } from '../syntax/duration.js';
import { parsePort, PortSyntaxError } from '../syntax/ports.js';
import { expandPath } from '../syntax/paths.js';
import { resolveShortVolume } from '../syntax/volumes.js';
import { parseDependsOn, parseLabels, parseSysctls } from '../syntax/mappings.js';
import { isPlainObject } from '../yaml/read.js';
import { pythonStr } from '../interpolate/conversions.js';
import { ConfigError } from '../../errors.js';
import { longBuildSecrets, resolveAdditionalContexts, resolveWatchPaths } from './spec-paths.js';

type Dict = Record<string, unknown>;

/** A problem found while normalising, with the key path (inside the service) it concerns. */
export class ServiceProblem extends Error {
  constructor(
    message: string,
    readonly keyPath: (string | number)[],
  ) {
    super(message);
  }
}

export interface ProcessContext {
  /** Directory relative paths are resolved against. */
  dir: string;
  home: string;
  /** Where relative seccomp profile paths are read from (docker-compose uses the current directory). */
  cwd: string;
}

const BUILD_URL_PREFIXES = ['http://', 'https://', 'git://', 'github.com/', 'git@'];

export function isBuildUrl(path: string): boolean {
  return BUILD_URL_PREFIXES.some((p) => path.startsWith(p));
}

export function toList(v: unknown): unknown[] {
  if (v === null || v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

export function processService(service: Dict, ctx: ProcessContext): Dict {
  const out: Dict = { ...service };
  const { dir, home } = ctx;
  if ('env_file' in out) {
    // The Spec's long form ({path, required, format}) keeps its other keys; the path is resolved.
    out['env_file'] = toList(out['env_file']).map((p) =>
      isPlainObject(p) ? { ...p, path: expandPath(dir, String(p['path']), home) } : expandPath(dir, String(p), home),
    );
  }
  if ('label_file' in out) out['label_file'] = toList(out['label_file']).map((p) => expandPath(dir, String(p), home));

  if ('build' in out) {
    const build = out['build'];
    const resolveContext = (p: string) => (isBuildUrl(p) ? p : expandPath(dir, p, home));
    if (typeof build === 'string') out['build'] = resolveContext(build);
    else if (isPlainObject(build)) {
      const b: Dict = { ...build };
      if (typeof b['context'] === 'string') b['context'] = resolveContext(b['context']);
      if ('labels' in b) b['labels'] = parseLabels(b['labels']);
      out['build'] = longBuildSecrets(resolveAdditionalContexts(b, dir, home));
    }
  }

  if ('develop' in out) out['develop'] = resolveWatchPaths(out['develop'], dir, home);

  if (Array.isArray(out['volumes']) && (out['volume_driver'] === undefined || out['volume_driver'] === null)) {
    out['volumes'] = out['volumes'].map((v) => {
      if (isPlainObject(v)) {
        const src = typeof v['source'] === 'string' ? v['source'] : '';
        if ((src.startsWith('.') || src.startsWith('~')) && v['type'] === 'bind') return { ...v, source: expandPath(dir, src, home) };
        return v;
      }
      return resolveShortVolume(String(v), dir, home);
    });
  }

  if ('sysctls' in out) {
    const s = parseSysctls(out['sysctls']);
    out['sysctls'] = Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v === null || v === undefined ? '' : String(pythonStr(v, false))]));
  }
  if ('labels' in out) out['labels'] = parseLabels(out['labels']);
  if ('depends_on' in out && !isPlainObject(out['depends_on'])) out['depends_on'] = parseDependsOn(out['depends_on']);
  for (const f of ['dns', 'dns_search', 'tmpfs']) if (f in out) out[f] = toList(out[f]);

  if (isPlainObject(out['healthcheck'])) out['healthcheck'] = processHealthcheck(out['healthcheck']);

  if (Array.isArray(out['ports'])) {
    out['ports'] = out['ports'].flatMap((p, i) => {
      try {
        return parsePort(p);
      } catch (e) {
        if (e instanceof PortSyntaxError) throw new ServiceProblem(e.message, ['ports', i]);
        throw e;
      }
    });
  }
  if (isPlainObject(out['blkio_config'])) out['blkio_config'] = processBlkio(out['blkio_config']);
  if (Array.isArray(out['security_opt'])) {
    out['security_opt'] = out['security_opt'].map((o, i) => checkSecurityOpt(String(o), ctx.cwd, i));
  }
  return out;
}

function processHealthcheck(hc: Dict): Dict {
  const out: Dict = { ...hc };
  if ('disable' in out) {
    // docker-compose 1.29.2 disables the check for `disable: false` too; only `true` disables here.
    const disable = out['disable'];
    delete out['disable'];
    if (disable === true) out['test'] = ['NONE'];
  }
  for (const f of ['interval', 'timeout', 'start_period', 'start_interval']) {
    const v = out[f];
    if (v === undefined || typeof v === 'number') continue;
    const ns = typeof v === 'string' ? parseDurationNanos(v) : undefined;
    if (ns === undefined) {
      throw new ServiceProblem(`"${String(v)}" is not a valid duration (use e.g. "30s", "1m30s", "500ms")`, ['healthcheck', f]);
    }
    out[f] = ns;
  }
  return out;
}

function processBlkio(cfg: Dict): Dict {
  const out: Dict = { ...cfg };
  for (const f of ['device_read_bps', 'device_write_bps']) {
    if (!Array.isArray(out[f])) continue;
    out[f] = (out[f] as unknown[]).map((entry, i) => {
      const e = { ...(entry as Dict) };
      const rate = parseBytes((e['rate'] ?? 0) as string | number);
      if (rate === undefined) throw new ServiceProblem(`"${String(e['rate'])}" is not a valid byte rate`, ['blkio_config', f, i, 'rate']);
      e['rate'] = rate;
      return e;
    });
  }
  for (const f of ['device_read_iops', 'device_write_iops']) {
    if (!Array.isArray(out[f])) continue;
    out[f] = (out[f] as unknown[]).map((entry, i) => {
      const e = { ...(entry as Dict) };
      const rate = Number(e['rate'] ?? 0);
      if (!Number.isInteger(rate) || rate < 0) {
        throw new ServiceProblem(`"${String(e['rate'])}" is not a valid IOPS value (a positive integer)`, ['blkio_config', f, i, 'rate']);
      }
      e['rate'] = rate;
      return e;
    });
  }
  return out;
}

/** Validates a security option; a seccomp profile must be a readable JSON file. */
function checkSecurityOpt(value: string, cwd: string, index: number): string {
  return canonicalSecurityOpt(checkSecurityOptValue(value, cwd, index));
}

function checkSecurityOptValue(value: string, cwd: string, index: number): string {
  let parts = value.split('=');
  if (parts.length === 1 && parts[0] !== 'no-new-privileges') {
    if (!value.includes(':')) throw new ServiceProblem(`"${value}" is not a valid security option`, ['security_opt', index]);
    parts = value.split(':');
  }
  if (parts[0] === 'seccomp' && parts.length > 1 && parts[1] !== 'unconfined') {
    const rest = value.slice(value.indexOf(parts[0]) + parts[0].length + 1);
    const file = resolve(cwd, rest.replace(/^"(.*)"$/, '$1'));
    try {
      readSeccompProfile(file);
    } catch (e) {
      if (e instanceof ConfigError) throw new ServiceProblem(e.message, ['security_opt', index]);
      throw e;
    }
  }
  return value;
}
