/**
 * The project's networks and volumes: created when missing (named `<project>_<name>` unless they
 * have a `name`, labelled like docker-compose's), external ones required to exist, and removed by
 * `down` (external ones never).
 */
import { FlotillaError } from '../errors.js';
import type { NetworkSpec, VolumeSpec } from '../engine/engine.js';
import type { NetworkConfig, Project, VolumeConfig } from '../model/project.js';
import { isConflict, isNotFound } from '../engine/errors.js';
import { COMPOSE_COMPAT_VERSION, LABEL } from '../plan/labels.js';
import { isPlainObject } from '../compose/yaml/read.js';
import type { ProjectRuntime } from './runtime.js';
import type { Step } from './progress.js';

export interface ResourceRef {
  /** The key under `networks:`/`volumes:`. */
  key: string;
  /** The engine's name for it. */
  name: string;
  external: boolean;
}

export function networkRef(project: Project, key: string): ResourceRef {
  const def: NetworkConfig = project.networks[key] ?? {};
  const name = typeof def.name === 'string' ? def.name : `${project.name}_${key}`;
  return { key, name, external: Boolean(def.external) };
}

export function volumeRef(project: Project, key: string): ResourceRef {
  const def: VolumeConfig = project.volumes[key] ?? {};
  const name = typeof def.name === 'string' ? def.name : `${project.name.replace(/^[-_]+/, '')}_${key}`;
  return { key, name, external: Boolean(def.external) };
}

/** Networks the given services use (v1 projects use the engine's default bridge, so none). */
export function usedNetworks(project: Project, services: readonly { networks?: Record<string, unknown> | undefined; network_mode?: string | undefined }[]): ResourceRef[] {
  if (project.format === 'v1') return [];
  const keys = new Set<string>();
  for (const s of services) {
    if (s.network_mode !== undefined) continue;
    for (const k of Object.keys(s.networks ?? { default: null })) keys.add(k);
  }
  return [...keys].sort().map((k) => networkRef(project, k));
}

function stringMap(v: unknown): Record<string, string> {
  if (!isPlainObject(v)) return {};
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, String(x ?? '')]));
}

function networkSpec(project: Project, ref: ResourceRef): NetworkSpec {
  const def: NetworkConfig = project.networks[ref.key] ?? {};
  const ipam = isPlainObject(def.ipam) ? def.ipam : undefined;
  const spec: NetworkSpec = {
    name: ref.name,
    driverOpts: stringMap(def.driver_opts),
    internal: def.internal === true,
    enableIpv6: def.enable_ipv6 === true,
    attachable: def.attachable !== false,
    labels: { ...(def.labels ?? {}), [LABEL.network]: ref.key, [LABEL.project]: project.name, [LABEL.version]: COMPOSE_COMPAT_VERSION },
  };
  if (def.driver) spec.driver = def.driver;
  if (ipam) {
    spec.ipam = {
      config: (Array.isArray(ipam['config']) ? ipam['config'] : []).map((c: Record<string, unknown>) => {
        const out: NonNullable<NetworkSpec['ipam']>['config'][number] = {};
        if (typeof c['subnet'] === 'string') out.subnet = c['subnet'];
        if (typeof c['ip_range'] === 'string') out.ipRange = c['ip_range'];
        if (typeof c['gateway'] === 'string') out.gateway = c['gateway'];
        if (isPlainObject(c['aux_addresses'])) out.auxAddresses = stringMap(c['aux_addresses']);
        return out;
      }),
    };
    if (typeof ipam['driver'] === 'string') spec.ipam.driver = ipam['driver'];
    if (isPlainObject(ipam['options'])) spec.ipam.options = stringMap(ipam['options']);
  }
  return spec;
}

function volumeSpec(project: Project, ref: ResourceRef): VolumeSpec {
  const def: VolumeConfig = project.volumes[ref.key] ?? {};
  const spec: VolumeSpec = {
    name: ref.name,
    driverOpts: stringMap(def.driver_opts),
    labels: { ...(def.labels ?? {}), [LABEL.volume]: ref.key, [LABEL.project]: project.name, [LABEL.version]: COMPOSE_COMPAT_VERSION },
  };
  if (def.driver) spec.driver = def.driver;
  return spec;
}

/** Steps that make sure networks and volumes exist (none when they already do). */
export async function ensureResourceSteps(rt: ProjectRuntime, networks: ResourceRef[], volumes: ResourceRef[]): Promise<Step[]> {
  const { engine, project } = rt;
  const [netInfo, volInfo] = await Promise.all([
    Promise.all(networks.map((n) => engine.inspectNetwork(n.name))),
    Promise.all(volumes.map((v) => engine.inspectVolume(v.name))),
  ]);
  const steps: Step[] = [];
  networks.forEach((n, i) => {
    if (netInfo[i]) return;
    if (n.external) {
      throw new FlotillaError(`network ${n.name} is declared as external, but could not be found; create it with \`docker network create ${n.name}\` and try again`);
    }
    const spec = networkSpec(project, n);
    steps.push({
      title: `Creating network "${n.name}" with ${spec.driver ? `driver "${spec.driver}"` : 'the default driver'}`,
      run: () => createNetworkOnce(rt, n, spec),
    });
  });
  volumes.forEach((v, i) => {
    if (volInfo[i]) return;
    if (v.external) {
      throw new FlotillaError(`volume ${v.name} is declared as external, but could not be found; create it with \`docker volume create --name=${v.name}\` and try again`);
    }
    const spec = volumeSpec(project, v);
    steps.push({
      title: `Creating volume "${v.name}" with ${spec.driver ? `driver "${spec.driver}"` : 'the default driver'}`,
      run: async () => {
        await rt.limiter.run(() => engine.createVolume(spec));
      },
    });
  });
  return steps;
}

/**
 * Creates a network that concurrent runs may be creating too. The engine's duplicate-name check
 * is not atomic, so two runs can each create one, and then every container create naming it
 * fails as ambiguous. After creating, a run looks for others: when there are, it removes its own
 * and settles on the survivor (of two racing runs, at least one sees both networks).
 */
async function createNetworkOnce(rt: ProjectRuntime, ref: ResourceRef, spec: NetworkSpec): Promise<string | void> {
  const { engine, project } = rt;
  const same = async () => (await engine.listNetworks({ [LABEL.project]: project.name, [LABEL.network]: ref.key })).filter((x) => x.name === ref.name);
  for (let attempt = 0; attempt < 20; attempt++) {
    let id: string | undefined;
    try {
      id = await rt.limiter.run(() => engine.createNetwork(spec));
    } catch (e) {
      // Created meanwhile by a concurrent run (when it is the project's), else a real conflict.
      if (!isConflict(e) || (await same()).length === 0) throw e;
    }
    const found = await same();
    if (found.length === 1) return id === undefined ? 'created concurrently' : undefined;
    if (id !== undefined && found.length > 1) await engine.removeNetwork(id).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 50 + Math.random() * 200));
    const settled = await same();
    if (settled.length === 1) return 'created concurrently';
    if (settled.length > 1 && attempt >= 5) break;
  }
  throw new FlotillaError(`network ${ref.name} was created more than once by concurrent runs; remove the extra ones (docker network ls) and try again`);
}

export async function removeNetwork(rt: ProjectRuntime, ref: ResourceRef): Promise<boolean> {
  try {
    await rt.engine.removeNetwork(ref.name);
    return true;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}

export async function removeVolume(rt: ProjectRuntime, name: string): Promise<boolean> {
  try {
    await rt.engine.removeVolume(name);
    return true;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}
