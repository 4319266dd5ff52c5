/** The engine network a swarm network is on this node: a bridge network made on first use. */
import type { Engine } from '../contract/engine.js';
import type { Network } from '../contract/swarm.js';

/** Engine networks the core made carry this label (the swarm network's id). */
export const NETWORK_ID_LABEL = 'com.docker.swarm.network.id';

/** Makes the engine network of a swarm network when it is missing (named as the swarm network). */
export async function ensureEngineNetwork(engine: Engine, network: Network): Promise<void> {
  if (await engine.inspectNetwork(network.name)) return;
  try {
    await engine.createNetwork({
      name: network.name,
      driver: 'bridge',
      driverOpts: {},
      internal: network.internal,
      enableIpv6: false,
      attachable: network.attachable,
      labels: { ...network.labels, [NETWORK_ID_LABEL]: network.id },
      ...(network.subnets.length > 0 ? { ipam: { config: network.subnets.map((subnet) => ({ subnet })) } } : {}),
    });
  } catch (e) {
    // Another task of the same pass (or the router) made it.
    if (!(await engine.inspectNetwork(network.name))) throw e;
  }
}
