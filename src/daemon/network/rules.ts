/**
 * The iptables layout, as data (see ./iptables.ts for applying it). Chains, all named with the
 * instance tag (shown here for instance 1a2b, bridge flt1a2b<6 hex> = BR, subnet S):
 *
 *   filter FORWARD     1: -j FLT1a2b-FWD
 *   FLT1a2b-FWD           -j FLT1a2b-ISO                                  isolation first
 *                         -o flt1a2b+ -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
 *                         -j FLT1a2b-PORTS                                published ports
 *                         per network:  -i BR -o BR -j ACCEPT             same bridge (DROP if enable_icc=false)
 *                                       -i BR ! -o BR -j ACCEPT           egress (not if internal)
 *                                       -i BR -j DROP / -o BR -j DROP     even when FORWARD's policy is ACCEPT
 *   FLT1a2b-ISO           per network:  -i BR -o BR -j RETURN
 *                         -m conntrack --ctstate DNAT -j RETURN           published ports via the host
 *                         -i flt1a2b+ -o flt+ -j DROP                     between networks (any daemon's),
 *                         -i flt+ -o flt1a2b+ -j DROP                     both ways
 *                         -j FLT1a2b-SVCF                                 swarm ingress ports
 *   FLT1a2b-PORTS         per port: -d IP/32 -o BR -p tcp -m tcp --dport CP -j ACCEPT
 *   FLT1a2b-SVCF          per ingress port and task: the same, to the task's address
 *   nat PREROUTING, OUTPUT 1: -m addrtype --dst-type LOCAL -j FLT1a2b-DNAT
 *   FLT1a2b-DNAT          -j FLT1a2b-SVC                                  swarm services first
 *                         per port: [-d HOSTIP/32] -p tcp -m tcp --dport HP -j DNAT --to-destination IP:CP
 *   FLT1a2b-SVC           per virtual IP (an address of its bridge) and task i of n:
 *                           -d VIP/32 -m statistic --mode nth --every n-i --packet 0 -j DNAT --to-destination IPi
 *                         per ingress port and task: -p tcp -m tcp --dport HP -m statistic ... -j DNAT --to-destination IPi:CP
 *                         (the last task of each without the statistic match: round robin over the n)
 *   nat POSTROUTING    1: -j FLT1a2b-POST
 *   FLT1a2b-POST          -s 127.0.0.0/8 -o flt1a2b+ -j MASQUERADE        DNAT from 127.0.0.1 (route_localnet)
 *                         per network:  -s S ! -o BR -j MASQUERADE        egress (not if internal or enable_ip_masquerade=false)
 *                                       -s S -o BR -m conntrack --ctstate DNAT -j MASQUERADE   hairpin
 *   raw PREROUTING     1: -j FLT1a2b-RAW
 *   FLT1a2b-RAW           -d 127.0.0.0/8 -i flt1a2b+ -j DROP              containers never reach the host's loopback
 *
 * Every spec is written exactly as iptables-save prints it (test/daemon/network/rules.test.ts
 * checks this against the real iptables), so chains can be compared as text.
 */
import { ANY_BRIDGE_WILDCARD, type HostNames } from './names.js';
import type { ChainContent, Rule } from './iptables.js';
import { bridgeOptions } from './options.js';
import type { NetworkRecord, PublishedPort } from './types.js';

export interface PortTarget {
  port: PublishedPort;
  containerIp: string;
  bridge: string;
}

export class RuleBook {
  constructor(private readonly names: HostNames) {}

  /** The jumps from the built-in chains, each inserted at position 1. */
  jumps(): Rule[] {
    const c = this.names.chains;
    const local = ['-m', 'addrtype', '--dst-type', 'LOCAL'];
    return [
      { table: 'filter', chain: 'FORWARD', spec: ['-j', c.fwd] },
      { table: 'nat', chain: 'PREROUTING', spec: [...local, '-j', c.dnat] },
      { table: 'nat', chain: 'OUTPUT', spec: [...local, '-j', c.dnat] },
      { table: 'nat', chain: 'POSTROUTING', spec: ['-j', c.post] },
      { table: 'raw', chain: 'PREROUTING', spec: ['-j', c.raw] },
    ];
  }

  private fwdHead(): Rule[] {
    const c = this.names.chains;
    return [
      { table: 'filter', chain: c.fwd, spec: ['-j', c.iso] },
      { table: 'filter', chain: c.fwd, spec: ['-o', this.names.bridgeWildcard, '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ACCEPT'] },
      { table: 'filter', chain: c.fwd, spec: ['-j', c.ports] },
      { table: 'filter', chain: c.fwd, spec: ['-j', c.svcf] },
    ];
  }

  private isoTail(): Rule[] {
    const c = this.names.chains;
    const w = this.names.bridgeWildcard;
    return [
      { table: 'filter', chain: c.iso, spec: ['-m', 'conntrack', '--ctstate', 'DNAT', '-j', 'RETURN'] },
      { table: 'filter', chain: c.iso, spec: ['-i', w, '-o', ANY_BRIDGE_WILDCARD, '-j', 'DROP'] },
      { table: 'filter', chain: c.iso, spec: ['-i', ANY_BRIDGE_WILDCARD, '-o', w, '-j', 'DROP'] },
    ];
  }

  private postHead(): Rule[] {
    return [{ table: 'nat', chain: this.names.chains.post, spec: ['-s', '127.0.0.0/8', '-o', this.names.bridgeWildcard, '-j', 'MASQUERADE'] }];
  }

  private rawRules(): Rule[] {
    return [{ table: 'raw', chain: this.names.chains.raw, spec: ['-d', '127.0.0.0/8', '-i', this.names.bridgeWildcard, '-j', 'DROP'] }];
  }

  /** The isolation exception for one network: inserted at the top of the ISO chain. */
  networkIsoRule(n: NetworkRecord): Rule {
    return { table: 'filter', chain: this.names.chains.iso, spec: ['-i', n.bridge, '-o', n.bridge, '-j', 'RETURN'] };
  }

  /** A network's rules appended to FWD and POST. */
  networkRules(n: NetworkRecord): Rule[] {
    const c = this.names.chains;
    const br = n.bridge;
    const o = bridgeOptions(n.name, n.options);
    const rules: Rule[] = [{ table: 'filter', chain: c.fwd, spec: ['-i', br, '-o', br, '-j', o.icc ? 'ACCEPT' : 'DROP'] }];
    if (!n.internal) rules.push({ table: 'filter', chain: c.fwd, spec: ['-i', br, '!', '-o', br, '-j', 'ACCEPT'] });
    rules.push(
      { table: 'filter', chain: c.fwd, spec: ['-i', br, '-j', 'DROP'] },
      { table: 'filter', chain: c.fwd, spec: ['-o', br, '-j', 'DROP'] },
    );
    if (!n.internal && o.masquerade) rules.push({ table: 'nat', chain: c.post, spec: ['-s', n.subnet, '!', '-o', br, '-j', 'MASQUERADE'] });
    rules.push({ table: 'nat', chain: c.post, spec: ['-s', n.subnet, '-o', br, '-m', 'conntrack', '--ctstate', 'DNAT', '-j', 'MASQUERADE'] });
    return rules;
  }

  /** A published port's rules, appended to PORTS and DNAT. */
  portRules(t: PortTarget): Rule[] {
    const c = this.names.chains;
    const { protocol, containerPort, hostPort, hostIp } = t.port;
    const proto = ['-p', protocol, '-m', protocol];
    const dest = hostIp && hostIp !== '0.0.0.0' ? ['-d', `${hostIp}/32`] : [];
    return [
      { table: 'filter', chain: c.ports, spec: ['-d', `${t.containerIp}/32`, '-o', t.bridge, ...proto, '--dport', String(containerPort), '-j', 'ACCEPT'] },
      { table: 'nat', chain: c.dnat, spec: [...dest, ...proto, '--dport', String(hostPort), '-j', 'DNAT', '--to-destination', `${t.containerIp}:${containerPort}`] },
    ];
  }

  /**
   * The swarm services' chains: each virtual IP and ingress port balanced over the addresses of
   * the service's running tasks. A backend without an endpoint on the network is left out.
   */
  serviceChains(networks: readonly NetworkRecord[]): ChainContent[] {
    const c = this.names.chains;
    const nat: Rule[] = [];
    const filter: Rule[] = [];
    // nth with --every k counts only the packets that reach it: k, k-1, ..., 1 share them evenly.
    const spread = (i: number, n: number) => (i === n - 1 ? [] : ['-m', 'statistic', '--mode', 'nth', '--every', String(n - i), '--packet', '0']);
    for (const n of networks) {
      for (const s of Object.values(n.services ?? {})) {
        const ips = s.backends.map((id) => n.endpoints[id]?.ip).filter((ip): ip is string => ip !== undefined);
        ips.forEach((ip, i) => {
          if (s.vip) nat.push({ table: 'nat', chain: c.svc, spec: ['-d', `${s.vip}/32`, ...spread(i, ips.length), '-j', 'DNAT', '--to-destination', ip] });
        });
        for (const p of s.ingress) {
          const proto = ['-p', p.protocol, '-m', p.protocol];
          ips.forEach((ip, i) => {
            nat.push({ table: 'nat', chain: c.svc, spec: [...proto, '--dport', String(p.hostPort), ...spread(i, ips.length), '-j', 'DNAT', '--to-destination', `${ip}:${p.containerPort}`] });
            filter.push({ table: 'filter', chain: c.svcf, spec: ['-d', `${ip}/32`, '-o', n.bridge, ...proto, '--dport', String(p.containerPort), '-j', 'ACCEPT'] });
          });
        }
      }
    }
    return [
      { table: 'nat', chain: c.svc, rules: nat },
      { table: 'filter', chain: c.svcf, rules: filter },
    ];
  }

  /** Every chain of this instance with its full content, for the records given (networks oldest first). */
  allChains(networks: readonly NetworkRecord[], ports: readonly PortTarget[]): ChainContent[] {
    const c = this.names.chains;
    const netRules = networks.flatMap((n) => this.networkRules(n));
    const portRules = ports.flatMap((p) => this.portRules(p));
    const pick = (rules: Rule[], chain: string) => rules.filter((r) => r.chain === chain);
    return [
      { table: 'filter', chain: c.fwd, rules: [...this.fwdHead(), ...pick(netRules, c.fwd)] },
      // Each network's exception is inserted at the top when it is created: newest first.
      { table: 'filter', chain: c.iso, rules: [...[...networks].reverse().map((n) => this.networkIsoRule(n)), ...this.isoTail()] },
      { table: 'filter', chain: c.ports, rules: pick(portRules, c.ports) },
      ...this.serviceChains(networks),
      { table: 'nat', chain: c.dnat, rules: [{ table: 'nat', chain: c.dnat, spec: ['-j', c.svc] }, ...pick(portRules, c.dnat)] },
      { table: 'nat', chain: c.post, rules: [...this.postHead(), ...pick(netRules, c.post)] },
      { table: 'raw', chain: c.raw, rules: this.rawRules() },
    ];
  }
}
