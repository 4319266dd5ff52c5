/**
 * What the embedded DNS answers. A names of containers reachable from the client (container
 * name, aliases, 12-character short id), several addresses in rotating order (round-robin across
 * the replicas of a service); other types for those names get an empty NOERROR; everything else
 * goes to the upstream resolvers, SERVFAIL when none answers.
 */
import {
  addressResponse,
  emptyResponse,
  formatErrorResponse,
  parseQuery,
  RCODE_FORMERR,
  RCODE_NOERROR,
  RCODE_NOTIMP,
  RCODE_SERVFAIL,
  TYPE_A,
  CLASS_IN,
} from './codec.js';
import type { Forwarder } from './forwarder.js';
import type { DnsHandler } from './server.js';
import type { Upstream } from './upstreams.js';

/** Docker's TTL for container names. */
const TTL_SECONDS = 600;

export interface NameSource {
  /**
   * The addresses of `name` (lower case, no trailing dot) for a client asking the listener of
   * network `networkId`; null when the name is not a container's.
   */
  lookup(networkId: string, client: string, name: string): string[] | null;
  /** Where to forward the client's other queries; null: nowhere (internal networks only). */
  upstreams(networkId: string, client: string): Promise<Upstream[] | null>;
}

export class Resolver {
  private readonly rotation = new Map<string, number>();

  constructor(
    private readonly source: NameSource,
    private readonly forwarder: Forwarder,
  ) {}

  /** Forgets the round-robin positions (when endpoints change). */
  reset(): void {
    this.rotation.clear();
  }

  handler(networkId: string): DnsHandler {
    return (message, client, transport) => this.answer(networkId, message, client, transport);
  }

  async answer(networkId: string, message: Buffer, client: string, transport: 'udp' | 'tcp'): Promise<Buffer | null> {
    let query;
    try {
      query = parseQuery(message);
    } catch {
      return formatErrorResponse(message);
    }
    if ((query.flags & 0x8000) !== 0) return null; // a response, not a query: never answer those
    if (query.opcode !== 0) return emptyResponse(message, query, RCODE_NOTIMP);
    if (!query.question) return emptyResponse(message, query, RCODE_FORMERR);
    const limit = transport === 'udp' ? query.udpSize : 65535;

    const name = query.question.name.toLowerCase().replace(/\.$/, '');
    const addresses = query.question.class === CLASS_IN ? this.source.lookup(networkId, client, name) : null;
    if (addresses) {
      if (query.question.type !== TYPE_A || addresses.length === 0) return emptyResponse(message, query, RCODE_NOERROR, true);
      return addressResponse(message, query, this.rotate(`${networkId}\0${name}`, addresses), TTL_SECONDS, limit);
    }
    const upstreams = await this.source.upstreams(networkId, client);
    const answer = upstreams ? await this.forwarder.forward(message, query, upstreams, transport) : null;
    return answer ?? emptyResponse(message, query, RCODE_SERVFAIL);
  }

  private rotate(key: string, addresses: string[]): string[] {
    const n = this.rotation.get(key) ?? 0;
    this.rotation.set(key, n + 1);
    const k = n % addresses.length;
    return [...addresses.slice(k), ...addresses.slice(0, k)];
  }
}
