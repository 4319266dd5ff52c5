/**
 * Host-global names of this daemon's network objects. Every one carries the instance tag
 * (paths.instance, 4 hex digits), so two daemons (or a test daemon and the machine's) never share
 * or touch each other's bridges, veths or chains.
 *
 *   bridges   flt<inst><6 hex>        13 chars (the kernel allows 15)
 *   veths     flv<inst><8 hex>        15 chars (host side; the container side is eth<N>)
 *   chains    FLT<inst>-FWD, -ISO, -PORTS, -SVCF (filter), -DNAT, -SVC, -POST (nat), -RAW (raw)
 */
import { randomBytes } from 'node:crypto';

/** Every Flotilla bridge, whatever the instance (for isolation between daemons). */
export const ANY_BRIDGE_WILDCARD = 'flt+';

export class HostNames {
  readonly bridgePrefix: string;
  readonly vethPrefix: string;
  /** iptables interface wildcard matching this instance's bridges. */
  readonly bridgeWildcard: string;
  readonly chains: {
    fwd: string;
    iso: string;
    ports: string;
    dnat: string;
    post: string;
    raw: string;
    /** Swarm services: virtual IPs and ingress ports (nat), and what forwarding they need (filter). */
    svc: string;
    svcf: string;
  };

  constructor(readonly instance: string) {
    if (!/^[0-9a-f]{4}$/.test(instance)) throw new Error(`bad instance tag ${JSON.stringify(instance)}`);
    this.bridgePrefix = `flt${instance}`;
    this.vethPrefix = `flv${instance}`;
    this.bridgeWildcard = `${this.bridgePrefix}+`;
    const c = `FLT${instance}`;
    this.chains = { fwd: `${c}-FWD`, iso: `${c}-ISO`, ports: `${c}-PORTS`, dnat: `${c}-DNAT`, post: `${c}-POST`, raw: `${c}-RAW`, svc: `${c}-SVC`, svcf: `${c}-SVCF` };
  }

  bridgeFor(networkId: string): string {
    return this.bridgePrefix + networkId.slice(0, 6);
  }

  newVeth(): string {
    return this.vethPrefix + randomBytes(4).toString('hex');
  }

  /** A link of this instance (bridge or veth), by name. */
  owns(linkName: string): boolean {
    return linkName.startsWith(this.bridgePrefix) || linkName.startsWith(this.vethPrefix);
  }
}
