/**
 * Top-level networks, volumes, secrets and configs across files, as docker-compose 1.29.2 merges
 * them: a later file's entry replaces an earlier one with the same name as a whole. Each entry is
 * normalised: external resources get their real name (and may not set anything else), labels
 * become a mapping, driver_opts strings, secret/config files absolute paths.
 */
import { ConfigError } from '../errors.js';
import { pythonStr } from './interpolate/conversions.js';
import { isLegacy, locationIn, type ComposeFile } from './compose-file.js';
import { parseLabels } from './merge.js';
import { expandPath, expandUser, pyNormpath } from './syntax/volumes.js';
import { isPlainObject } from './yaml/read.js';
import { posix } from 'node:path';

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
  const out: Record<string, Dict> = {};
  for (const file of files) {
    if (isLegacy(file)) continue;
    const entries = file.doc[section];
    if (!isPlainObject(entries)) continue;
    for (const [name, body] of Object.entries(entries)) {
      out[name] = isPlainObject(body) && Object.keys(body).length > 0 ? normalise(section, name, body, file, paths) : {};
    }
  }
  return out;
}

function normalise(section: ResourceSection, name: string, body: Dict, file: ComposeFile, paths: ResourcePaths): Dict {
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
    for (const [k, v] of Object.entries(config['driver_opts'])) opts[k] = v === null || v === undefined ? '' : String(pythonStr(v, false));
    // A local volume bound to a host directory: the device path is made absolute.
    if (section === 'volumes' && (config['driver'] ?? 'local') === 'local' && opts['o'] === 'bind' && opts['device']) {
      opts['device'] = pyNormpath(posix.resolve(paths.cwd, expandUser(String(opts['device']), paths.home)));
    }
    config['driver_opts'] = opts;
  }
  return config;
}
