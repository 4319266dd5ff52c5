/** A new network's record: its subnet (explicit, or the first free one of the pool) and names. */
import { randomBytes } from 'node:crypto';
import { EngineError } from '../../contract/errors.js';
import type { NetworkSpec } from '../../contract/engine.js';
import { DEFAULT_ROOT } from '../../contract/location.js';
import type { DaemonPaths } from '../paths.js';
import { chooseFromPool, poolChoice, type SubnetChoice, type UsedSubnet } from './ipam.js';
import { parseCidr } from './ipv4.js';
import { hostSubnets } from './links.js';
import type { HostNames } from './names.js';
import type { NetworkManagerOptions, NetworkRecord } from './types.js';

/** The subnets of our networks and every subnet the host routes or has an address in. */
export async function usedSubnets(networks: readonly NetworkRecord[]): Promise<UsedSubnet[]> {
  const ours: UsedSubnet[] = networks.map((n) => ({ cidr: parseCidr(n.subnet, true)!, owner: `network ${n.name}` }));
  const host = await hostSubnets((dev) => networks.some((n) => n.bridge === dev));
  return [...ours, ...host];
}

export function poolSubnet(paths: DaemonPaths, options: NetworkManagerOptions, used: UsedSubnet[]): SubnetChoice {
  const pool = parseCidr(options.pool ?? '10.213.0.0/16', true);
  const prefix = options.poolPrefix ?? 24;
  if (!pool || prefix < pool.prefix || prefix > 30) throw new EngineError('invalid', `bad address pool ${options.pool}/${prefix}`);
  const count = 2 ** (prefix - pool.prefix);
  // The machine's daemon starts at the pool's first subnet; other instances (tests) elsewhere,
  // so that daemons creating networks at the same moment rarely reach for the same one.
  const start = paths.root === DEFAULT_ROOT ? 0 : parseInt(paths.instance, 16) % count;
  const subnet = chooseFromPool(pool, prefix, used, start);
  if (!subnet) throw new EngineError('resource', 'could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network');
  return poolChoice(subnet);
}

export function newRecord(names: HostNames, existing: readonly NetworkRecord[], spec: NetworkSpec, choice: SubnetChoice): NetworkRecord {
  let id: string;
  do id = randomBytes(32).toString('hex');
  while (existing.some((n) => n.bridge === names.bridgeFor(id)));
  const record: NetworkRecord = {
    id,
    name: spec.name,
    driver: 'bridge',
    labels: { ...spec.labels },
    options: { ...spec.driverOpts },
    internal: spec.internal,
    attachable: spec.attachable,
    created: new Date().toISOString(),
    bridge: names.bridgeFor(id),
    subnet: choice.subnet,
    gateway: choice.gateway,
    endpoints: {},
  };
  if (choice.ipRange) record.ipRange = choice.ipRange;
  if (choice.auxAddresses) record.auxAddresses = choice.auxAddresses;
  return record;
}
