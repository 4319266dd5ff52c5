/** A NetworkRecord in the engine-neutral shape of the Engine interface (inspectNetwork, listNetworks). */
import type { NetworkInfo } from '../../engine/engine.js';
import type { NetworkRecord } from './types.js';

export function toNetworkInfo(n: NetworkRecord): NetworkInfo {
  const containers: Record<string, string> = {};
  for (const e of Object.values(n.endpoints)) containers[e.containerId] = e.containerName;
  const config: { subnet?: string; ipRange?: string; gateway?: string; auxAddresses?: Record<string, string> } = { subnet: n.subnet, gateway: n.gateway };
  if (n.ipRange) config.ipRange = n.ipRange;
  if (n.auxAddresses) config.auxAddresses = { ...n.auxAddresses };
  return {
    id: n.id,
    name: n.name,
    driver: n.driver,
    labels: { ...n.labels },
    internal: n.internal,
    containers,
    options: { ...n.options },
    ipam: { driver: 'default', config: [config], options: {} },
  };
}
