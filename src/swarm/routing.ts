/**
 * Service discovery and load balancing on this node, as the swarm core asks the node's networking
 * for it: each service of endpoint mode vip gets a virtual IP on each of its networks (allocated
 * by the networking, kept in the store as Docker's Endpoint.VirtualIPs), and the networking is
 * told, after every change, which services exist, their names, their ingress ports and the
 * containers of their running tasks (its backends). A task counts from the moment its state is
 * running and its desired state too; health checks gate that state, so they gate the backends.
 */
import type { Engine } from '../contract/engine.js';
import type { Network, Service } from '../contract/swarm.js';
import { ensureEngineNetwork } from './engine-network.js';
import type { SwarmStore } from './store.js';

/** An ingress port of a service: published on the node, balanced over the service's tasks. */
export interface IngressRoute {
  protocol: 'tcp' | 'udp';
  hostPort: number;
  containerPort: number;
}

export interface ServiceRoute {
  serviceId: string;
  /** Its networks (the engine network names), each with the names it answers to there and its virtual IP. */
  networks: { network: string; names: string[]; vip?: string; ingress: IngressRoute[] }[];
  /** The containers of its running tasks, in slot order. */
  backends: string[];
}

/** What the node's networking does for the swarm core (the daemon's network manager). */
export interface ServiceNetworking {
  /** An address of the engine network for the service's virtual IP (`ip/prefix`), kept until routeServices no longer names it. */
  reserveVip(network: string, serviceId: string): Promise<string>;
  /** Routes exactly these services; every other one's names, addresses and rules go. */
  routeServices(routes: readonly ServiceRoute[]): Promise<void>;
}

export class ServiceRouter {
  private running = false;
  private again = false;
  private applied = '';
  private closed = false;

  constructor(
    private readonly store: SwarmStore,
    private readonly engine: Engine,
    private readonly networking: ServiceNetworking,
    private readonly log: (line: string) => void,
  ) {}

  close(): void {
    this.closed = true;
  }

  /** Brings the routes up to date soon (one run at a time; a kick during a run runs it again). */
  kick(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.loop();
  }

  private async loop(): Promise<void> {
    try {
      do {
        this.again = false;
        await this.allocate();
        const routes = this.routes();
        const key = JSON.stringify(routes);
        if (key !== this.applied && !this.closed) {
          await this.networking.routeServices(routes);
          this.applied = key;
        }
      } while (this.again && !this.closed);
    } catch (e) {
      this.applied = ''; // tried again at the next kick
      this.log(`swarm: routing services: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      this.running = false;
    }
  }

  private networksOf(service: Service, networks: readonly Network[]): { network: Network; aliases: string[] }[] {
    return (service.spec.task.networks ?? []).flatMap((a) => {
      const network = networks.find((n) => n.name === a.target || n.id === a.target);
      return network ? [{ network, aliases: a.aliases ?? [] }] : [];
    });
  }

  /** A virtual IP for each network of each vip service that lacks one; none where it no longer belongs. */
  private async allocate(): Promise<void> {
    const networks = this.store.list('network');
    for (const service of this.store.list('service')) {
      const wanted = (service.spec.endpoint?.mode ?? 'vip') === 'vip' ? this.networksOf(service, networks).map((x) => x.network) : [];
      const have = service.virtualIps ?? [];
      const kept = have.filter((v) => wanted.some((n) => n.id === v.networkId));
      const missing = wanted.filter((n) => !kept.some((v) => v.networkId === n.id));
      if (missing.length === 0 && kept.length === have.length) continue;
      const added: { networkId: string; addr: string }[] = [];
      for (const network of missing) {
        await ensureEngineNetwork(this.engine, network);
        added.push({ networkId: network.id, addr: await this.networking.reserveVip(network.name, service.id) });
      }
      this.store.transact((tx) => {
        const current = tx.get('service', service.id);
        if (current) tx.update('service', { ...current, virtualIps: [...kept, ...added] });
      });
    }
  }

  private routes(): ServiceRoute[] {
    const networks = this.store.list('network');
    const tasks = this.store.list('task');
    return this.store
      .list('service')
      .sort((a, b) => a.id.localeCompare(b.id))
      .map((service) => {
        const backends = tasks
          .filter((t) => t.serviceId === service.id && t.state === 'running' && t.desiredState === 'running' && t.containerId)
          .sort((a, b) => a.slot - b.slot || a.id.localeCompare(b.id))
          .map((t) => t.containerId as string);
        const ingress = service.endpointPorts.flatMap((p) =>
          p.mode === 'ingress' && p.published && p.protocol !== 'sctp' ? [{ protocol: p.protocol, hostPort: p.published, containerPort: p.target }] : [],
        );
        return {
          serviceId: service.id,
          networks: this.networksOf(service, networks).map(({ network, aliases }, i) => {
            const vip = service.virtualIps?.find((v) => v.networkId === network.id)?.addr.split('/')[0];
            // Ingress ports go to the tasks' addresses on their first network.
            return { network: network.name, names: [service.spec.name, ...aliases], ...(vip ? { vip } : {}), ingress: i === 0 ? ingress : [] };
          }),
          backends,
        };
      });
  }
}
