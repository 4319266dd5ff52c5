/**
 * The config hash input of a service, as docker-compose 1.29.2 computes its
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
 * volumes are objects. Built here, from the Compose-shaped service, with the engine's facts
 * (image_id, and the container a `ipc: service:` names) left for plan/config-hash.ts to fill.
 */
import { resolve } from 'node:path';
import { readSeccompProfile } from '../syntax/security-opt.js';
import { PyFloat, pythonJsonDefault, type PyJson } from '../../util/python-json.js';
import type { ConfigHashInput } from '../../model/hash-input.js';
import type { ComposePort, ComposeProject, ComposeService, ComposeVolumeEntry } from '../document.js';
import { isPlainObject } from '../yaml/read.js';
import { attachedNetworks, fullName } from './networks.js';

type Dict = { [key: string]: PyJson };

const RESTART_POLICY_NAMES: Record<string, string> = { any: 'always', none: 'no', 'on-failure': 'on-failure' };

/** docker-compose rejects a device count that is neither a number nor "all" while hashing. */
class HashInputError extends Error {}

/** The document's values are JSON-like: what YAML and interpolation make. */
const json = (v: unknown): PyJson => v as PyJson;

function restartSpec(value: string): Dict | null {
  if (!value) return null;
  const [name = '', count = '0'] = value.split(':');
  return { Name: name, MaximumRetryCount: Number(count) };
}

function portTuple(p: ComposePort): PyJson[] {
  return [p.target, p.published ?? null, p.protocol ?? null, p.mode ?? null, p.host_ip ?? null];
}

function volumeTuple(project: ComposeProject, v: ComposeVolumeEntry, legacy: boolean): PyJson {
  const named = !legacy && v.type === 'volume' && v.source;
  const source = named ? fullName(project, 'volumes', v.source as string) : v.source;
  if (v.shortMode !== undefined) return [source ?? null, v.target, v.shortMode];
  const out: Dict = { type: v.type };
  if (source) out['source'] = source;
  if (v.target) out['target'] = v.target;
  if (v.read_only) out['read_only'] = v.read_only;
  if (v.consistency) out['consistency'] = v.consistency;
  for (const k of ['bind', 'volume', 'tmpfs'] as const) if (v[k]) out[k] = json(v[k]);
  return out;
}

/**
 * [value, profile file]: a seccomp profile option is hashed with the profile's content, as
 * docker-compose reads it (relative paths from the current directory).
 */
function securityOptTuple(value: string, cwd: string): PyJson[] {
  const m = /^seccomp[:=](.*)$/.exec(value);
  if (!m || m[1] === 'unconfined' || m[1] === undefined) return [value, null];
  const file = m[1].replace(/^"(.*)"$/, '$1');
  try {
    return [`seccomp=${pythonJsonDefault(readSeccompProfile(resolve(cwd, file)))}`, m[1]];
  } catch {
    return [value, m[1]];
  }
}

function deviceRequests(deploy: Record<string, unknown> | undefined): PyJson {
  const resources = isPlainObject(deploy?.['resources']) ? deploy['resources'] : undefined;
  const reservations = isPlainObject(resources?.['reservations']) ? resources['reservations'] : undefined;
  const devices = reservations?.['devices'];
  if (!Array.isArray(devices) || devices.length === 0) return null;
  return devices.map((d: Dict) => {
    const out: Dict = { ...d };
    if (typeof out['count'] !== 'number') {
      if (out['count'] !== undefined && out['count'] !== 'all') {
        throw new HashInputError(`invalid devices count "${String(out['count'])}" (expected a number or "all")`);
      }
      out['count'] = -1;
    }
    if ('capabilities' in out) out['capabilities'] = [out['capabilities'] as PyJson];
    return out;
  });
}

/** What docker-compose keeps as `Service.options` for this service. */
function serviceOptions(project: ComposeProject, service: ComposeService, cwd: string): Dict {
  const legacy = project.format === 'v1';
  const removed = new Set(['name', 'networks', 'links', 'network_mode', 'pid', 'ipc', 'volumes_from', 'secrets', 'scale', 'platform', 'configs', 'credential_spec', 'deploy']);
  const options: Dict = {};
  for (const [k, v] of Object.entries(service)) if (!removed.has(k) && v !== undefined) options[k] = json(v);

  // Passed to docker-compose's Service as a keyword it does not name, so it lands in options.
  options['platform'] = json(service['platform'] ?? null);
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
      options['restart'] = { Name: RESTART_POLICY_NAMES[condition] ?? condition, MaximumRetryCount: json(policy['max_attempts'] ?? 0) };
    }
    const resources = isPlainObject(deploy['resources']) ? deploy['resources'] : undefined;
    const limits = isPlainObject(resources?.['limits']) ? resources['limits'] : undefined;
    if (limits) {
      options['mem_limit'] = json(limits['memory'] ?? null);
      // docker-compose applies float() to it, so an integral value is hashed as "1.0".
      if ('cpus' in limits) options['cpus'] = new PyFloat(Number(limits['cpus']));
    }
    const reservations = isPlainObject(resources?.['reservations']) ? resources['reservations'] : undefined;
    if (reservations) options['mem_reservation'] = json(reservations['memory'] ?? null);
  }
  return options;
}

/** "service:NAME" → NAME ("" for "service:", which docker-compose hashes so). */
function serviceRef(mode: unknown): string | undefined {
  return typeof mode === 'string' && mode.startsWith('service:') ? mode.slice('service:'.length) : undefined;
}

/** `cwd`: where docker-compose would run (it reads seccomp profiles relative to it). */
export function hashInput(project: ComposeProject, service: ComposeService, cwd: string): ConfigHashInput {
  const networks = attachedNetworks(project, service);
  let net: PyJson = null;
  if (service.network_mode !== undefined) net = serviceRef(service.network_mode) ?? service.network_mode;
  else if (project.format !== 'v1') net = networks[0]?.name ?? 'none';
  const links = (service.links ?? []).map((l) => {
    const colon = l.indexOf(':');
    return colon === -1 ? [l, null] : [l.slice(0, colon), l.slice(colon + 1)];
  });
  const secrets = (service.secrets ?? [])
    .filter((s) => !project.secrets[s.source]?.['external'])
    .map((s) => ({
      secret: [s.source, s.target ?? null, s.uid ?? null, s.gid ?? null, s.mode ?? null, json((s as unknown as Record<string, unknown>)['name'] ?? null)],
      file: json(project.secrets[s.source]?.['file'] ?? null),
    }));
  let options: Dict;
  try {
    options = serviceOptions(project, service, cwd);
  } catch (e) {
    if (e instanceof HashInputError) return { error: e.message };
    throw e;
  }
  const fields: Dict = {
    options,
    links,
    net,
    networks: Object.fromEntries(networks.map((n) => [n.name, json(n.options)])),
    secrets,
    volumes_from: (service.volumes_from ?? []).filter((v) => v.type === 'service').map((v) => [v.source, v.mode]),
  };
  const ipcService = serviceRef(service.ipc);
  if (ipcService !== undefined) return { fields, ipcService };
  fields['ipc_mode'] = service.ipc ?? null;
  return { fields };
}
