/**
 * The config hash of a service, as docker-compose 1.29.2 computes it for its
 * `com.docker.compose.config-hash` label: SHA-256 of Python's sorted compact JSON of
 *
 *   { options:  the normalised service minus what docker-compose turns into objects (links,
 *               networks, network_mode, pid, ipc, volumes_from, secrets, scale, platform) and
 *               minus configs/credential_spec/deploy (deploy is translated into restart, mem_limit,
 *               cpus, mem_reservation, device_requests); named volumes carry their full names;
 *     image_id: the Id of the service's image on the engine, or null;
 *     links:    [[service, alias or null]...];  net: network mode id;  ipc_mode: IPC mode;
 *     networks: {full network name: options};  secrets: [{secret, file}];
 *     volumes_from: [[service, mode]...] }
 *
 * docker-compose's values are namedtuples, which JSON writes as arrays: a port is
 * [target, published, protocol, mode, host_ip], a short-syntax volume [source, target, mode], a
 * security option [value, profile file], a secret [source, target, uid, gid, mode, name]; long-syntax
 * volumes are objects. Computing the very same hash is what makes each tool see the other's
 * containers as up to date.
 */
import { readSeccompProfile } from '../compose/syntax/security-opt.js';
import { resolve } from 'node:path';
import { jsonHash, PyFloat, pythonJsonDefault } from '../util/python-json.js';
import type { PortConfig, Project, Service, ServiceVolume } from '../model/project.js';
import { isPlainObject } from '../compose/yaml/read.js';
import { UsageError } from '../errors.js';

export interface EngineFacts {
  /** The directory docker-compose would run in (it reads seccomp profiles relative to it). */
  cwd?: string;
  /** The Id of the service's image on the engine, or null when it does not have it. */
  imageId: string | null;
  /** The Id of a service's first container, for `ipc: service:NAME` (null when none runs). */
  containerIdOf?: (service: string) => string | null;
}

type Dict = Record<string, unknown>;

const RESTART_POLICY_NAMES: Record<string, string> = { any: 'always', none: 'no', 'on-failure': 'on-failure' };

/** `<project>_<name>`, or the resource's own `name:` (external resources always have one). */
function fullName(project: Project, kind: 'networks' | 'volumes', key: string): string {
  const def = project[kind][key];
  if (def && typeof def['name'] === 'string') return def['name'];
  const prefix = kind === 'volumes' ? project.name.replace(/^[-_]+/, '') : project.name;
  return `${prefix}_${key}`;
}

function restartSpec(value: string): Dict | null {
  if (!value) return null;
  const [name = '', count = '0'] = value.split(':');
  return { Name: name, MaximumRetryCount: Number(count) };
}

function portTuple(p: PortConfig): unknown[] {
  return [p.target, p.published ?? null, p.protocol ?? null, p.mode ?? null, p.host_ip ?? null];
}

function volumeTuple(project: Project, v: ServiceVolume, legacy: boolean): unknown {
  const named = !legacy && v.type === 'volume' && v.source;
  const source = named ? fullName(project, 'volumes', v.source as string) : v.source;
  if (v.shortMode !== undefined) return [source ?? null, v.target, v.shortMode];
  const out: Dict = { type: v.type };
  if (source) out['source'] = source;
  if (v.target) out['target'] = v.target;
  if (v.read_only) out['read_only'] = v.read_only;
  if (v.consistency) out['consistency'] = v.consistency;
  for (const k of ['bind', 'volume', 'tmpfs'] as const) if (v[k]) out[k] = v[k];
  return out;
}

/**
 * [value, profile file]: a seccomp profile option is hashed with the profile's content, as
 * docker-compose reads it (relative paths from the current directory).
 */
function securityOptTuple(value: string, cwd: string): unknown[] {
  const m = /^seccomp[:=](.*)$/.exec(value);
  if (!m || m[1] === 'unconfined' || m[1] === undefined) return [value, null];
  const file = m[1].replace(/^"(.*)"$/, '$1');
  try {
    return [`seccomp=${pythonJsonDefault(readSeccompProfile(resolve(cwd, file)))}`, m[1]];
  } catch {
    return [value, m[1]];
  }
}

function deviceRequests(deploy: Dict | undefined): unknown {
  const resources = isPlainObject(deploy?.['resources']) ? deploy['resources'] : undefined;
  const reservations = isPlainObject(resources?.['reservations']) ? resources['reservations'] : undefined;
  const devices = reservations?.['devices'];
  if (!Array.isArray(devices) || devices.length === 0) return null;
  return devices.map((d: Dict) => {
    const out: Dict = { ...d };
    if (typeof out['count'] !== 'number') {
      if (out['count'] !== undefined && out['count'] !== 'all') {
        throw new UsageError(`invalid devices count "${String(out['count'])}" (expected a number or "all")`);
      }
      out['count'] = -1;
    }
    if ('capabilities' in out) out['capabilities'] = [out['capabilities']];
    return out;
  });
}

/** What docker-compose keeps as `Service.options` for this service. */
export function serviceOptions(project: Project, service: Service, cwd: string): Dict {
  const legacy = project.format === 'v1';
  const removed = new Set(['name', 'networks', 'links', 'network_mode', 'pid', 'ipc', 'volumes_from', 'secrets', 'scale', 'platform', 'configs', 'credential_spec', 'deploy']);
  const options: Dict = {};
  for (const [k, v] of Object.entries(service)) if (!removed.has(k) && v !== undefined) options[k] = v;

  // Passed to docker-compose's Service as a keyword it does not name, so it lands in options.
  options['platform'] = service['platform'] ?? null;
  if ('restart' in options) options['restart'] = restartSpec(String(options['restart']));
  if (service.ports) options['ports'] = service.ports.map(portTuple);
  if (!legacy) options['volumes'] = (service.volumes ?? []).map((v) => volumeTuple(project, v, legacy));
  else if (service.volumes) options['volumes'] = service.volumes.map((v) => volumeTuple(project, v, legacy));
  if (service.security_opt) options['security_opt'] = service.security_opt.map((o) => securityOptTuple(o, cwd));
  const cred = service['credential_spec'];
  if (isPlainObject(cred)) {
    options['security_opt'] = [[`credentialspec=${'file' in cred ? `file://${String(cred['file'])}` : `registry://${String(cred['registry'])}`}`, null]];
  }

  const deploy = isPlainObject(service.deploy) ? service.deploy : undefined;
  options['device_requests'] = deviceRequests(deploy);
  if (deploy) {
    const policy = isPlainObject(deploy['restart_policy']) ? deploy['restart_policy'] : undefined;
    if (policy) {
      const condition = String(policy['condition'] ?? 'any');
      options['restart'] = { Name: RESTART_POLICY_NAMES[condition] ?? condition, MaximumRetryCount: policy['max_attempts'] ?? 0 };
    }
    const resources = isPlainObject(deploy['resources']) ? deploy['resources'] : undefined;
    const limits = isPlainObject(resources?.['limits']) ? resources['limits'] : undefined;
    if (limits) {
      options['mem_limit'] = limits['memory'] ?? null;
      // docker-compose applies float() to it, so an integral value is hashed as "1.0".
      if ('cpus' in limits) options['cpus'] = new PyFloat(Number(limits['cpus']));
    }
    const reservations = isPlainObject(resources?.['reservations']) ? resources['reservations'] : undefined;
    if (reservations) options['mem_reservation'] = reservations['memory'] ?? null;
  }
  return options;
}

function serviceRef(mode: unknown): string | undefined {
  return typeof mode === 'string' && mode.startsWith('service:') ? mode.slice('service:'.length) : undefined;
}

/** The service's networks as docker-compose attaches them: full name → options, sorted. */
export function serviceNetworks(project: Project, service: Service): [string, Dict][] {
  if (project.format === 'v1' || service.network_mode !== undefined) return [];
  const defs = service.networks ?? { default: null };
  const entries: [string, Dict][] = Object.entries(defs).map(([n, cfg]) => [fullName(project, 'networks', n), (cfg ?? {}) as Dict]);
  if (entries.some(([, cfg]) => cfg['priority'])) {
    return entries.sort((a, b) => Number(b[1]['priority'] ?? 0) - Number(a[1]['priority'] ?? 0));
  }
  return entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

export function configDict(project: Project, service: Service, facts: EngineFacts): Dict {
  const networks = serviceNetworks(project, service);
  let net: unknown = null;
  if (service.network_mode !== undefined) net = serviceRef(service.network_mode) ?? service.network_mode;
  else if (project.format !== 'v1') net = networks[0]?.[0] ?? 'none';
  const ipcService = serviceRef(service.ipc);
  const ipcMode = ipcService !== undefined ? (facts.containerIdOf?.(ipcService) ?? null) : (service.ipc ?? null);
  const links = (service.links ?? []).map((l) => {
    const colon = l.indexOf(':');
    return colon === -1 ? [l, null] : [l.slice(0, colon), l.slice(colon + 1)];
  });
  const secrets = (service.secrets ?? [])
    .filter((s) => !project.secrets[s.source]?.['external'])
    .map((s) => ({
      secret: [s.source, s.target ?? null, s.uid ?? null, s.gid ?? null, s.mode ?? null, (s as unknown as Dict)['name'] ?? null],
      file: project.secrets[s.source]?.['file'] ?? null,
    }));
  return {
    options: serviceOptions(project, service, facts.cwd ?? project.workingDir),
    image_id: facts.imageId,
    links,
    net,
    ipc_mode: ipcMode,
    networks: Object.fromEntries(networks),
    secrets,
    volumes_from: (service.volumes_from ?? []).filter((v) => v.type === 'service').map((v) => [v.source, v.mode]),
  };
}

export function configHash(project: Project, service: Service, facts: EngineFacts): string {
  return jsonHash(configDict(project, service, facts));
}

/** `config --hash`: each service's hash, with the image Ids the engine reports (null without one). */
export function configHashes(project: Project, services: readonly Service[], facts: (s: Service) => EngineFacts): [string, string][] {
  return services.map((s) => [s.name, configHash(project, s, facts(s))]);
}
