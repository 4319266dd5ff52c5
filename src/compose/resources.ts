/**
 * Top-level networks, volumes, secrets and configs across files, as docker-compose 1.29.2 merges
 * them: a later file's entry replaces an earlier one with the same name as a whole. Each entry is
 * normalised: external resources get their real name (and may not set anything else), labels
 * become a mapping, driver_opts strings, secret/config files absolute paths.
 */
import { setOwn } from '../util/own.js';
import { ConfigError } from '../errors.js';
import { pythonStr } from './interpolate/conversions.js';
import { isLegacy, locationIn, type ComposeFile } from './compose-file.js';
import { parseLabels } from './syntax/mappings.js';
import { expandPath, expandUser, pyNormpath } from './syntax/paths.js';
import { isPlainObject } from './yaml/read.js';
import { dropReset } from './reset.js';
import { posix } from 'node:path';
import { isIP } from '../util/ip.js';

type Dict = Record<string, unknown>;
export type ResourceSection = 'networks' | 'volumes' | 'secrets' | 'configs';

const ENTITY: Record<ResourceSection, string> = { networks: 'network', volumes: 'volume', secrets: 'secret', configs: 'config' };

export interface ResourcePaths {
  workingDir: string;
  home: string;
  /** docker-compose makes a bind volume's device absolute from the current directory. */
  cwd: string;
}

export function loadResources(files: readonly ComposeFile[], section: ResourceSection, paths: ResourcePaths): Record<string, Dict> {
  let out: Record<string, Dict> = {};
  for (const file of files) {
    if (isLegacy(file)) continue;
    out = dropReset(out, file.yaml.resetPaths, section);
    const entries = file.doc[section];
    if (!isPlainObject(entries)) continue;
    for (const [name, body] of Object.entries(entries)) {
      const dirs = file.included ? { ...paths, workingDir: file.included.dir } : paths;
      setOwn(out, name, isPlainObject(body) && Object.keys(body).length > 0 ? normalise(section, name, body, file, dirs) : {});
    }
  }
  return out;
}

const IPV4 = '(?:(?:\\d{1,2}|1\\d{2}|2[0-4]\\d|25[0-5])\\.){3}(?:\\d{1,2}|1\\d{2}|2[0-4]\\d|25[0-5])';
const IPV4_CIDR = new RegExp(`^${IPV4}/(?:\\d|[1-2]\\d|3[0-2])$`);

/** docker-compose's subnet check: an IPv4 CIDR, or an IPv6 address (Node's parser) with a /0-128. */
function isCidr(subnet: string): boolean {
  if (IPV4_CIDR.test(subnet)) return true;
  const m = /^([0-9a-fA-F:.]+(?:%[0-9a-zA-Z]+)?)\/(\d|[1-9]\d|1[0-1]\d|12[0-8])$/.exec(subnet);
  return m !== null && isIP((m[1] as string).replace(/%.*$/, '')) === 6;
}

function checkSubnets(section: ResourceSection, name: string, body: Dict, file: ComposeFile): void {
  if (section !== 'networks' || !isPlainObject(body['ipam']) || !Array.isArray(body['ipam']['config'])) return;
  body['ipam']['config'].forEach((pool: unknown, i: number) => {
    const subnet = isPlainObject(pool) ? pool['subnet'] : undefined;
    if (typeof subnet === 'string' && !isCidr(subnet)) {
      throw new ConfigError(`subnet "${subnet}" should use the CIDR format (e.g. 172.28.0.0/16)`, locationIn(file, [section, name, 'ipam', 'config', i, 'subnet']));
    }
  });
}

function normalise(section: ResourceSection, name: string, body: Dict, file: ComposeFile, paths: ResourcePaths): Dict {
  checkSubnets(section, name, body, file);
  const config: Dict = { ...body };
  const external = config['external'];
  if (external) {
    const extra = Object.keys(config).filter((k) => k !== 'external' && k !== 'name' && !(section === 'networks' && k === 'driver'));
    if (extra.length > 0) {
      throw new ConfigError(
        `${ENTITY[section]} ${name} is external, so it cannot also set ${extra.join(', ')}`,
        locationIn(file, [section, name, extra[0] as string]),
      );
    }
    if (isPlainObject(external)) config['name'] = external['name'];
    else if (!config['name']) config['name'] = name;
    // `external: {name: x}` is written `external: true` plus `name: x` in the output.
    if (config['name'] !== undefined) config['external'] = true;
  }
  if ('labels' in config) config['labels'] = parseLabels(config['labels']);
  if (typeof config['file'] === 'string') config['file'] = expandPath(paths.workingDir, config['file'], paths.home);
  if (isPlainObject(config['driver_opts'])) {
    const opts: Dict = {};
    for (const [k, v] of Object.entries(config['driver_opts'])) setOwn(opts, k, v === null || v === undefined ? '' : String(pythonStr(v, false)));
    // A local volume bound to a host directory: the device path is made absolute.
    if (section === 'volumes' && (config['driver'] ?? 'local') === 'local' && opts['o'] === 'bind' && opts['device']) {
      opts['device'] = pyNormpath(posix.resolve(paths.cwd, expandUser(String(opts['device']), paths.home)));
    }
    config['driver_opts'] = opts;
  }
  return config;
}
