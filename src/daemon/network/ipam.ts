/**
 * Address management: a subnet for a new network (from the pool, or checked from the Compose
 * file's ipam config) and an address for a new endpoint. Pure functions over the records and
 * the host's routes; the manager supplies both and serialises the calls.
 */
import { EngineError } from '../../contract/errors.js';
import type { NetworkSpec } from '../../contract/engine.js';
import {
  contains,
  formatCidr,
  formatIpv4,
  lastAddress,
  overlaps,
  parseCidr,
  parseIpv4,
  size,
  type Cidr,
} from './ipv4.js';
import type { NetworkRecord } from './types.js';

/** A subnet somebody uses: one of our networks, or a route or address of the host. */
export interface UsedSubnet {
  cidr: Cidr;
  /** "network web_default", "route on eth0", "address on docker0", ... */
  owner: string;
}

export interface SubnetChoice {
  subnet: string;
  gateway: string;
  ipRange?: string;
  auxAddresses?: Record<string, string>;
}

/**
 * The first /poolPrefix of `pool` that overlaps nothing in `used`, scanning from `startIndex`
 * (wrapping), or null when the pool is exhausted.
 */
export function chooseFromPool(pool: Cidr, poolPrefix: number, used: readonly UsedSubnet[], startIndex = 0): Cidr | null {
  const count = 2 ** (poolPrefix - pool.prefix);
  const step = 2 ** (32 - poolPrefix);
  for (let i = 0; i < count; i++) {
    const index = (startIndex + i) % count;
    const candidate = { base: pool.base + index * step, prefix: poolPrefix };
    if (!used.some((u) => overlaps(u.cidr, candidate))) return candidate;
  }
  return null;
}

export function poolChoice(subnet: Cidr): SubnetChoice {
  return { subnet: formatCidr(subnet), gateway: formatIpv4(subnet.base + 1) };
}

/**
 * The first IPv4 entry of a Compose ipam config, checked: a subnet without host bits, a gateway and
 * ip_range inside it, no overlap with anything in `used`. Returns null when the config gives no
 * subnet (the pool then picks one).
 */
export function explicitChoice(ipam: NetworkSpec['ipam'], used: readonly UsedSubnet[]): SubnetChoice | null {
  if (!ipam) return null;
  if (ipam.driver && ipam.driver !== 'default') throw invalid(`ipam driver ${ipam.driver} is not supported by the embedded engine`);
  const configs = ipam.config ?? [];
  for (const c of configs) {
    if (c.subnet && c.subnet.includes(':')) throw invalid(`IPv6 subnet ${c.subnet}: IPv6 is not supported by the embedded engine`);
  }
  const config = configs[0];
  if (configs.length > 1) throw invalid('only one IPv4 ipam config is supported by the embedded engine');
  if (!config || !config.subnet) {
    if (config && (config.gateway || config.ipRange)) throw invalid('ipam config: a gateway or ip_range needs a subnet');
    return null;
  }
  const loose = parseCidr(config.subnet, false);
  if (!loose) throw invalid(`invalid subnet ${config.subnet}`);
  const subnet = parseCidr(config.subnet, true);
  if (!subnet) throw invalid(`invalid subnet ${config.subnet}: it should be ${formatCidr(loose)}`);
  if (subnet.prefix > 30) throw invalid(`subnet ${config.subnet} is too small (at most /30)`);
  const clash = used.find((u) => overlaps(u.cidr, subnet));
  if (clash) throw invalid(`subnet ${config.subnet} overlaps ${formatCidr(clash.cidr)} (${clash.owner})`);

  const usable = (ip: number) => ip > subnet.base && ip < lastAddress(subnet);
  let gateway = subnet.base + 1;
  if (config.gateway) {
    const g = parseIpv4(config.gateway);
    if (g === null) throw invalid(`invalid gateway ${config.gateway}`);
    if (!usable(g)) throw invalid(`gateway ${config.gateway} is not a usable address of subnet ${config.subnet}`);
    gateway = g;
  }
  const choice: SubnetChoice = { subnet: formatCidr(subnet), gateway: formatIpv4(gateway) };
  if (config.ipRange) {
    const range = parseCidr(config.ipRange, true);
    if (!range) throw invalid(`invalid ip_range ${config.ipRange}`);
    if (range.prefix < subnet.prefix || !contains(subnet, range.base)) {
      throw invalid(`ip_range ${config.ipRange} is not inside subnet ${config.subnet}`);
    }
    choice.ipRange = formatCidr(range);
  }
  const aux = config.auxAddresses ?? {};
  for (const [name, ip] of Object.entries(aux)) {
    const a = parseIpv4(ip);
    if (a === null || !contains(subnet, a)) throw invalid(`aux address ${name}=${ip} is not inside subnet ${config.subnet}`);
  }
  if (Object.keys(aux).length > 0) choice.auxAddresses = { ...aux };
  return choice;
}

/**
 * An address for a new endpoint: the requested one (conflict if taken, invalid if outside the
 * subnet), else the lowest free one of ip_range (or of the subnet), skipping the network and
 * broadcast addresses, the gateway, the aux addresses and the swarm services' virtual IPs.
 */
export function allocateAddress(network: NetworkRecord, requested?: string): string {
  const subnet = parseCidr(network.subnet, true);
  if (!subnet) throw new EngineError('engine', `network ${network.name} has a corrupt subnet ${network.subnet}`);
  const taken = new Set<number>();
  taken.add(subnet.base);
  taken.add(lastAddress(subnet));
  taken.add(parseIpv4(network.gateway) ?? -1);
  for (const ip of Object.values(network.auxAddresses ?? {})) taken.add(parseIpv4(ip) ?? -1);
  for (const s of Object.values(network.services ?? {})) if (s.vip) taken.add(parseIpv4(s.vip) ?? -1);
  for (const e of Object.values(network.endpoints)) taken.add(parseIpv4(e.ip) ?? -1);

  if (requested) {
    const ip = parseIpv4(requested);
    if (ip === null) throw invalid(`invalid IPv4 address ${requested}`);
    if (!contains(subnet, ip)) throw invalid(`address ${requested} is not in subnet ${network.subnet} of network ${network.name}`);
    if (taken.has(ip)) throw new EngineError('conflict', `Address already in use: ${requested} on network ${network.name}`);
    return requested;
  }
  const range = (network.ipRange && parseCidr(network.ipRange, true)) || subnet;
  for (let ip = range.base; ip < range.base + size(range); ip++) {
    if (contains(subnet, ip) && !taken.has(ip)) return formatIpv4(ip);
  }
  throw new EngineError('resource', `no available IPv4 address on network ${network.name} (${network.ipRange ?? network.subnet})`);
}

function invalid(message: string): EngineError {
  return new EngineError('invalid', message);
}
