/** What the swarm has of a stack, and of the external objects it names, read in parallel. */
import type { Network, Service, StoredObject, SwarmCluster } from '../contract/swarm.js';
import { namespaceFilter } from './names.js';
import type { StackSpec } from './spec.js';

export interface Observed {
  /** The stack's services (by its namespace label). */
  services: Service[];
  /** The stack's networks, by name. */
  networks: Map<string, Network>;
  /** External networks that exist, by the name the file gives. */
  externalNetworks: Map<string, Network>;
  /** Secrets and configs with the names the stack uses (its own and external ones). */
  secrets: StoredObject[];
  configs: StoredObject[];
}

export async function observeStack(cluster: SwarmCluster, stack: StackSpec): Promise<Observed> {
  const label = [namespaceFilter(stack.name)];
  const secretNames = [...stack.secrets.map((s) => s.name), ...stack.externalSecrets];
  const configNames = [...stack.configs.map((s) => s.name), ...stack.externalConfigs];
  const [services, networks, externals, secrets, configs] = await Promise.all([
    cluster.listServices({ labels: label }),
    cluster.listNetworks({ labels: label }),
    Promise.all(stack.externalNetworks.map(async (n) => [n, await cluster.inspectNetwork(n)] as const)),
    secretNames.length > 0 ? cluster.listSecrets({ names: secretNames }) : [],
    configNames.length > 0 ? cluster.listConfigs({ names: configNames }) : [],
  ]);
  const externalNetworks = new Map<string, Network>();
  for (const [name, n] of externals) if (n) externalNetworks.set(name, n);
  return {
    services,
    networks: new Map(networks.filter((n) => n.scope === 'swarm').map((n) => [n.name, n])),
    externalNetworks,
    secrets,
    configs,
  };
}
