/**
 * The names the embedded DNS knows, read from the manager's live records: swarm services and
 * `tasks.<service>` on the client's networks, then which containers a client can see (those sharing one of its networks, the default bridge excepted) and where its
 * other queries go (its own dns: servers, else the host's; nowhere when it is only on internal
 * networks).
 */
import { DEFAULT_NETWORK } from '../containers/collaborators.js';
import type { NameSource } from './dns/resolver.js';
import { parseUpstream, type Upstream } from './dns/upstreams.js';
import { serviceAddresses } from './services.js';
import type { EndpointRecord, NetworkRecord, SandboxRecord } from './types.js';


export interface DirectoryState {
  networks(): Iterable<NetworkRecord>;
  network(id: string): NetworkRecord | undefined;
  sandbox(containerId: string): SandboxRecord | undefined;
  /** The host's upstream resolvers (configured, or from the host's resolv.conf). */
  hostUpstreams(): Promise<Upstream[]>;
}

/** "eth3" → 3, for ordering a container's endpoints by when they were connected. */
export function ifaceIndex(e: EndpointRecord): number {
  return Number(e.iface.replace(/^eth/, '')) || 0;
}

/** A container's endpoints with their networks, in connection order. */
export function endpointsOf(networks: Iterable<NetworkRecord>, containerId: string): { network: NetworkRecord; endpoint: EndpointRecord }[] {
  const out: { network: NetworkRecord; endpoint: EndpointRecord }[] = [];
  for (const network of networks) {
    const endpoint = network.endpoints[containerId];
    if (endpoint) out.push({ network, endpoint });
  }
  return out.sort((a, b) => ifaceIndex(a.endpoint) - ifaceIndex(b.endpoint));
}

export function hasEmbeddedDns(n: NetworkRecord): boolean {
  return n.name !== DEFAULT_NETWORK;
}

function matches(e: EndpointRecord, name: string): boolean {
  return e.containerName.toLowerCase() === name || e.containerId.slice(0, 12) === name || e.aliases.some((a) => a.toLowerCase() === name);
}

export class Directory implements NameSource {
  constructor(private readonly state: DirectoryState) {}

  /** The container behind `client` on network `networkId`, if any. */
  private clientOf(networkId: string, client: string): string | null {
    const network = this.state.network(networkId);
    if (!network) return null;
    for (const e of Object.values(network.endpoints)) if (e.ip === client) return e.containerId;
    return null;
  }

  /** The networks whose names the client sees: the listener's first, then its other ones. */
  private scope(networkId: string, client: string): NetworkRecord[] {
    const own = this.state.network(networkId);
    if (!own || !hasEmbeddedDns(own)) return [];
    const containerId = this.clientOf(networkId, client);
    if (!containerId) return [own];
    const others = endpointsOf(this.state.networks(), containerId)
      .map((x) => x.network)
      .filter((n) => n.id !== own.id && hasEmbeddedDns(n));
    return [own, ...others];
  }

  lookup(networkId: string, client: string, name: string): string[] | null {
    for (const network of this.scope(networkId, client)) {
      // A swarm service's name is its virtual IP's (or its tasks'), not each task's alias.
      const service = serviceAddresses(network, name);
      if (service) return service;
      const found = Object.values(network.endpoints).filter((e) => matches(e, name));
      if (found.length > 0) return found.map((e) => e.ip);
    }
    return null;
  }

  async upstreams(networkId: string, client: string): Promise<Upstream[] | null> {
    const own = this.state.network(networkId);
    if (!own) return null;
    const containerId = this.clientOf(networkId, client);
    const joined = containerId ? endpointsOf(this.state.networks(), containerId).map((x) => x.network) : [own];
    if (joined.every((n) => n.internal)) return null;
    const gateways = new Set([...this.state.networks()].map((n) => n.gateway));
    const configured = containerId ? (this.state.sandbox(containerId)?.nameSettings?.dns ?? []) : [];
    const upstreams = configured.length > 0 ? configured.map(parseUpstream).filter((u): u is Upstream => u !== null) : await this.state.hostUpstreams();
    // Never forward to ourselves.
    return upstreams.filter((u) => !(gateways.has(u.host) && u.port === 53));
  }
}
