/**
 * Swarm services on this node's networks, as the network records keep them (NetworkRecord.services):
 * what the swarm core's routes become per network, the virtual IPs held as addresses of the
 * bridges, and the ingress ports. The rules are RuleBook.serviceChains; the names are answered by
 * the Directory.
 */
import type { ServiceRoute } from '../../swarm/routing.js';
import { ipBatch } from './links.js';
import { run } from '../command.js';
import type { IngressPort, NetworkRecord, ServiceEntry } from './types.js';

/** The entries of network `n` for these routes (a route names networks by name or id). */
export function entriesFor(n: NetworkRecord, routes: readonly ServiceRoute[]): Record<string, ServiceEntry> {
  const out: Record<string, ServiceEntry> = {};
  for (const route of routes) {
    const on = route.networks.find((a) => a.network === n.name || a.network === n.id);
    if (!on) continue;
    out[route.serviceId] = {
      names: [...new Set(on.names.map((x) => x.toLowerCase()))],
      ...(on.vip ? { vip: on.vip } : {}),
      backends: [...route.backends],
      ingress: on.ingress.map((p) => ({ protocol: p.protocol, hostPort: p.hostPort, containerPort: p.containerPort })),
    };
  }
  return out;
}

export function vipsOf(n: NetworkRecord): string[] {
  return Object.values(n.services ?? {}).flatMap((s) => (s.vip ? [s.vip] : []));
}

export function hasServices(n: NetworkRecord): boolean {
  return Object.keys(n.services ?? {}).length > 0;
}

/** Whether the container is a task some service of the network balances over. */
export function isBackend(n: NetworkRecord, containerId: string): boolean {
  return Object.values(n.services ?? {}).some((s) => s.backends.includes(containerId));
}

/** Every ingress port of the records, by `protocol/port`. */
export function ingressKeys(networks: Iterable<NetworkRecord>): Map<string, IngressPort> {
  const out = new Map<string, IngressPort>();
  for (const n of networks) for (const s of Object.values(n.services ?? {})) for (const p of s.ingress) out.set(`${p.protocol}/${p.hostPort}`, p);
  return out;
}

/**
 * The addresses a name stands for on the network: a service's virtual IP (or, endpoint mode
 * dnsrr, its tasks' addresses); `tasks.<name>` its tasks' addresses. null: not a service's name.
 */
export function serviceAddresses(n: NetworkRecord, name: string): string[] | null {
  const tasks = name.startsWith('tasks.') ? name.slice('tasks.'.length) : null;
  for (const s of Object.values(n.services ?? {})) {
    if (!s.names.includes(tasks ?? name)) continue;
    if (s.vip && tasks === null) return [s.vip];
    return s.backends.map((id) => n.endpoints[id]?.ip).filter((ip): ip is string => ip !== undefined);
  }
  return null;
}

/** Adds the virtual IPs to the bridge (as /32: the bridge answers ARP for them, so they are routed through the host's nat). */
export async function addVips(bridge: string, vips: readonly string[]): Promise<void> {
  await ipBatch(vips.map((ip) => `addr replace ${ip}/32 dev ${bridge}`));
}

export async function removeVips(bridge: string, vips: readonly string[]): Promise<void> {
  for (const ip of vips) await run(['ip', 'addr', 'del', `${ip}/32`, 'dev', bridge], { allowFailure: true });
}
