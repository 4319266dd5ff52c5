/**
 * Creating and removing the project's networks and volumes, labelled like docker-compose's (the
 * plan, src/plan/up.ts and down.ts, says which and when).
 */
import { FlotillaError } from '../errors.js';
import type { NetworkSpec, VolumeSpec } from '../contract/engine.js';
import type { Deployment } from '../model/deployment.js';
import type { Network, Volume } from '../model/resources.js';
import { isConflict, isNotFound } from '../contract/errors.js';
import { COMPOSE_COMPAT_VERSION, LABEL } from '../plan/labels.js';
import type { ProjectRuntime } from './runtime.js';

function networkSpec(deployment: Deployment, def: Network): NetworkSpec {
  const spec: NetworkSpec = {
    name: def.name,
    driverOpts: def.driverOpts,
    internal: def.internal,
    enableIpv6: def.enableIpv6,
    attachable: def.attachable !== false,
    labels: { ...def.labels, [LABEL.network]: def.key, [LABEL.project]: deployment.name, [LABEL.version]: COMPOSE_COMPAT_VERSION },
  };
  if (def.driver) spec.driver = def.driver;
  if (def.ipam) {
    spec.ipam = {
      config: def.ipam.config.map((c) => {
        const out: NonNullable<NetworkSpec['ipam']>['config'][number] = {};
        if (c.subnet !== undefined) out.subnet = c.subnet;
        if (c.ipRange !== undefined) out.ipRange = c.ipRange;
        if (c.gateway !== undefined) out.gateway = c.gateway;
        if (Object.keys(c.auxAddresses).length > 0) out.auxAddresses = c.auxAddresses;
        return out;
      }),
    };
    if (def.ipam.driver !== undefined) spec.ipam.driver = def.ipam.driver;
    if (Object.keys(def.ipam.options).length > 0) spec.ipam.options = def.ipam.options;
  }
  return spec;
}

export function volumeSpec(deployment: Deployment, def: Volume): VolumeSpec {
  const spec: VolumeSpec = {
    name: def.name,
    driverOpts: def.driverOpts,
    labels: { ...def.labels, [LABEL.volume]: def.key, [LABEL.project]: deployment.name, [LABEL.version]: COMPOSE_COMPAT_VERSION },
  };
  if (def.driver) spec.driver = def.driver;
  return spec;
}

/**
 * Creates a network that concurrent runs may be creating too. The engine's duplicate-name check
 * is not atomic, so two runs can each create one, and then every container create naming it
 * fails as ambiguous. After creating, a run looks for others: when there are, it removes its own
 * and settles on the survivor (of two racing runs, at least one sees both networks).
 */
export async function createNetworkOnce(rt: ProjectRuntime, ref: Network): Promise<string | void> {
  const { engine, deployment } = rt;
  const spec = networkSpec(deployment, ref);
  const same = async () => (await engine.listNetworks({ [LABEL.project]: deployment.name, [LABEL.network]: ref.key })).filter((x) => x.name === ref.name);
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

export async function removeVolume(rt: ProjectRuntime, name: string): Promise<boolean> {
  try {
    await rt.engine.removeVolume(name);
    return true;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}
