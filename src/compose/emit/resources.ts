/** The top-level networks, volumes, secrets and configs as the typed model's, with their engine names. */
import type { FileObject, Ipam, IpamPool, Network, Volume } from '../../model/resources.js';
import type { ComposeNetwork, ComposeProject, ComposeSecret, ComposeVolume } from '../document.js';
import { isPlainObject } from '../yaml/read.js';
import { fullName } from './networks.js';
import { optionalString, stringMap } from './values.js';

function ipam(v: unknown): Ipam | undefined {
  if (!isPlainObject(v)) return undefined;
  const config: IpamPool[] = (Array.isArray(v['config']) ? v['config'] : []).map((c: unknown) => {
    const d = isPlainObject(c) ? c : {};
    const pool: IpamPool = { auxAddresses: stringMap(d['aux_addresses']) };
    if (typeof d['subnet'] === 'string') pool.subnet = d['subnet'];
    if (typeof d['ip_range'] === 'string') pool.ipRange = d['ip_range'];
    if (typeof d['gateway'] === 'string') pool.gateway = d['gateway'];
    return pool;
  });
  const out: Ipam = { config, options: stringMap(v['options']) };
  if (typeof v['driver'] === 'string') out.driver = v['driver'];
  return out;
}

export function emitNetwork(project: ComposeProject, key: string, def: ComposeNetwork): Network {
  const out: Network = {
    key,
    name: fullName(project, 'networks', key),
    external: Boolean(def.external),
    driverOpts: stringMap(def.driver_opts),
    internal: def.internal === true,
    enableIpv6: def.enable_ipv6 === true,
    labels: stringMap(def.labels),
  };
  const driver = optionalString(def.driver);
  const pools = ipam(def.ipam);
  if (driver !== undefined) out.driver = driver;
  if (pools) out.ipam = pools;
  if (typeof def.attachable === 'boolean') out.attachable = def.attachable;
  return out;
}

export function emitVolume(project: ComposeProject, key: string, def: ComposeVolume): Volume {
  const out: Volume = {
    key,
    name: fullName(project, 'volumes', key),
    external: Boolean(def.external),
    driverOpts: stringMap(def.driver_opts),
    labels: stringMap(def.labels),
  };
  const driver = optionalString(def.driver);
  if (driver !== undefined) out.driver = driver;
  return out;
}

/** A secret or config: named `<project>_<key>` as a stack names it, unless it has its own name. */
export function emitFileObject(project: ComposeProject, key: string, def: ComposeSecret, variable: (name: string) => string | undefined): FileObject {
  const external = Boolean(def.external);
  const out: FileObject = {
    key,
    name: typeof def.name === 'string' ? def.name : external ? key : `${project.name}_${key}`,
    external,
    labels: stringMap(def.labels),
    driverOpts: stringMap(def['driver_opts']),
  };
  if (typeof def.file === 'string') out.file = def.file;
  if (typeof def['content'] === 'string') out.content = def['content'];
  else if (typeof def['environment'] === 'string') {
    const value = variable(def['environment']);
    if (value !== undefined) out.content = value;
  }
  if (typeof def['driver'] === 'string') out.driver = def['driver'];
  if (typeof def['template_driver'] === 'string') out.templateDriver = def['template_driver'];
  return out;
}
