/**
 * The daemon's networking: bridges (one per network), IPAM, a network namespace per container
 * with a veth per network, iptables rules in this instance's own chains, the embedded DNS on each
 * gateway, /etc/hosts and resolv.conf, published ports.
 *
 * The in-memory records are the truth while the daemon runs; every change is saved to
 * paths.networks at once. Kernel objects outlive the daemon (containers keep their networking
 * while it is down); init() rebuilds what is missing from the files and leaves what survived
 * working, without duplicates. Changes to what containers share (networks, addresses, names,
 * port rules) run one at a time (one queue); a container's own sandbox is not queued.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EngineError } from '../../contract/errors.js';
import type { NetworkSpec } from '../../contract/engine.js';
import type { EndpointRequest, NetworkPort } from '../containers/collaborators.js';
import type { DaemonPaths } from '../paths.js';
import { DEFAULT_NETWORK, portKey } from '../containers/collaborators.js';
import { Directory, endpointsOf, hasEmbeddedDns, ifaceIndex } from './directory.js';
import { Forwarder } from './dns/forwarder.js';
import { Resolver } from './dns/resolver.js';
import { DnsListener } from './dns/server.js';
import { isLoopback, parseUpstream, readHostResolvConf, type Upstream } from './dns/upstreams.js';
import { allocateAddress, explicitChoice, type UsedSubnet } from './ipam.js';
import { addRules, deleteRules, rebuildChains, type RuleChange } from './iptables.js';
import { formatCidr, macFor, overlaps, parseCidr, parseIpv4 } from './ipv4.js';
import { addVeth, deleteLink, hostSubnets, linkGone, setDefaultRoute } from './links.js';
import { FALLBACK_NAMESERVERS, renderHosts, renderResolvConf, writeInPlace } from './name-files.js';
import { HostNames } from './names.js';
import { addressesOverlap, reserve, type Reservation } from './ports.js';
import { bridgeOptions } from './options.js';
import { newRecord, poolSubnet, usedSubnets } from './new-network.js';
import { bridgeUp, dropStaleSandboxes, ensureIpForward, purgeHost, restoreLinks, restoreRules, type HostState } from './restore.js';
import { RuleBook } from './rules.js';
import { addVips, entriesFor, hasServices, ingressKeys, isBackend, removeVips, vipsOf } from './services.js';
import type { ServiceNetworking, ServiceRoute } from '../../swarm/routing.js';
import { createNetns, removeNetns } from './sandbox.js';
import { NetworkStore } from './store.js';
import type {
  EndpointRecord,
  NameFiles,
  NameSettings,
  NetworkManagerOptions,
  NetworkRecord,
  PortRequest,
  PublishedPort,
  SandboxRecord,
  UnheldPort,
} from './types.js';

const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const RESERVED_NAMES = new Set(['host', 'none']);
const UPSTREAM_CACHE_MS = 5000;
/** How long a veth may take to go with its namespace before it is deleted by hand. */
const LINK_GONE_MS = 3000;

/** Runs `f`; an EngineError it throws gets the network's name in front of its message. */
function named<T>(network: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof EngineError && !e.message.startsWith(`network ${network}:`)) throw new EngineError(e.kind, `network ${network}: ${e.message}`, e.statusCode);
    throw e;
  }
}

export class NetworkManager implements NetworkPort, ServiceNetworking {
  private readonly names: HostNames;
  private readonly rules: RuleBook;
  private readonly store: NetworkStore;
  private readonly resolver: Resolver;
  private readonly networks = new Map<string, NetworkRecord>();
  private readonly sandboxes = new Map<string, SandboxRecord>();
  /** Sandboxes made since the last save of their record (createSandbox does not save). */
  private readonly unsavedSandboxes = new Set<string>();
  private readonly listeners = new Map<string, DnsListener>();
  /** `${networkId}/${containerId}` → the sockets holding that endpoint's published ports. */
  private readonly reservations = new Map<string, Reservation[]>();
  /** `${networkId}/${containerId}/${port}` → why a port recorded as published could not be held again at start. */
  private readonly unheldWhy = new Map<string, string>();
  /** `tcp/8080` → the socket holding a swarm service's ingress port. */
  private readonly ingressHolds = new Map<string, Reservation>();
  private queue: Promise<unknown> = Promise.resolve();
  private upstreamCache: { at: number; upstreams: Upstream[] } | null = null;
  /** What restore.ts works on: the records above, shared. */
  private readonly host: HostState;

  constructor(
    private readonly paths: DaemonPaths,
    private readonly log: (line: string) => void,
    private readonly options: NetworkManagerOptions = {},
  ) {
    this.names = new HostNames(paths.instance);
    this.rules = new RuleBook(this.names);
    this.store = new NetworkStore(paths.networks);
    this.host = { paths, names: this.names, rules: this.rules, store: this.store, networks: this.networks, sandboxes: this.sandboxes, log };
    const directory = new Directory({
      networks: () => this.networks.values(),
      network: (id) => this.networks.get(id),
      sandbox: (id) => this.sandboxes.get(id),
      hostUpstreams: () => this.hostUpstreams(),
    });
    this.resolver = new Resolver(directory, new Forwarder(options.dnsTimeoutMs ?? 2000));
  }

  /** Runs `task` after every earlier one has finished (one change at a time). */
  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const result = this.queue.then(task, task);
    this.queue = result.catch(() => undefined);
    return result;
  }

  // ---- daemon start and stop -------------------------------------------------------------------

  init(): Promise<void> {
    return this.exclusive(async () => {
      await this.store.init();
      await ensureIpForward(this.log);
      for (const s of await this.store.loadSandboxes(this.log)) this.sandboxes.set(s.containerId, s);
      await dropStaleSandboxes(this.host);
      for (const n of await this.store.loadNetworks(this.log)) this.networks.set(n.id, n);

      await restoreLinks(this.host);
      await restoreRules(this.host);
      for (const n of this.networks.values()) {
        for (const e of Object.values(n.endpoints)) await this.restoreReservations(n, e);
        await addVips(n.bridge, vipsOf(n));
        await this.startDns(n);
      }
      await this.holdIngress();
      if (!this.findNetwork(DEFAULT_NETWORK)) {
        await this.createNetwork({ name: DEFAULT_NETWORK, driverOpts: {}, internal: false, enableIpv6: false, attachable: false, labels: {} });
      }
    });
  }

  /** Stops the DNS listeners and releases the port reservations; bridges and rules stay. */
  close(): Promise<void> {
    return this.exclusive(() => this.closeSockets());
  }

  private async closeSockets(): Promise<void> {
    await Promise.all([...this.listeners.values()].map((l) => l.close()));
    this.listeners.clear();
    await Promise.all([...this.reservations.values()].flat().map((r) => r.close()));
    this.reservations.clear();
    this.unheldWhy.clear();
    await Promise.all([...this.ingressHolds.values()].map((r) => r.close()));
    this.ingressHolds.clear();
  }

  /**
   * Removes every host object of this instance (found by name, so also what no record describes,
   * e.g. after a crash), and the manager's files. Every step runs even when an earlier one fails;
   * the first failure is thrown at the end.
   */
  purge(): Promise<void> {
    return this.exclusive(async () => {
      const failures: Error[] = [];
      const step = async (what: () => Promise<unknown>): Promise<void> => {
        try {
          await what();
        } catch (e) {
          failures.push(e as Error);
        }
      };
      await step(() => this.closeSockets());
      await purgeHost(this.host, step);
      await step(() => this.store.removeAll());
      this.networks.clear();
      this.sandboxes.clear();
      this.unsavedSandboxes.clear();
      this.resolver.reset();
      if (failures.length > 0) throw new EngineError('engine', `purging the networking of instance ${this.paths.instance}: ${failures.map((f) => f.message).join('; ')}`);
    });
  }

  /**
   * Whether a container other than `containerId` has the port recorded as published, held by a
   * socket or not (one the daemon could not hold again after a restart stays its).
   */
  private isRecordedForOther(containerId: string, protocol: 'tcp' | 'udp', hostIp: string, port: number): boolean {
    for (const n of this.networks.values()) {
      for (const e of Object.values(n.endpoints)) {
        if (e.containerId === containerId) continue;
        if ((e.published ?? []).some((p) => p.protocol === protocol && p.hostPort === port && addressesOverlap(p.hostIp, hostIp))) return true;
      }
    }
    return false;
  }

  private async restoreReservations(n: NetworkRecord, e: EndpointRecord): Promise<void> {
    if (this.reservations.has(`${n.id}/${e.containerId}`)) return; // init() run again: still held
    const held: Reservation[] = [];
    for (const p of e.published ?? []) {
      try {
        held.push(await this.holdAgain(p));
      } catch (err) {
        const why = (err as Error).message;
        this.unheldWhy.set(`${n.id}/${e.containerId}/${portKey(p)}`, why);
        this.log(`network ${n.name}: cannot hold ${portKey(p)} for ${e.containerName} again: ${why}`);
      }
    }
    if (held.length > 0) this.reservations.set(`${n.id}/${e.containerId}`, held);
  }

  private holdAgain(p: PublishedPort): Promise<Reservation> {
    return reserve({ containerPort: p.containerPort, protocol: p.protocol, hostIp: p.hostIp, hostPorts: { start: p.hostPort, end: p.hostPort } });
  }

  /**
   * The ports published to the container that no socket of the daemon holds: another program
   * took them while the daemon was down. They stay the container's (never given to another).
   */
  unheldPorts(containerId: string): UnheldPort[] {
    const out: UnheldPort[] = [];
    for (const { network, endpoint } of endpointsOf(this.networks.values(), containerId)) {
      const held = new Set((this.reservations.get(`${network.id}/${containerId}`) ?? []).map(portKey));
      for (const p of endpoint.published ?? []) {
        const key = portKey(p);
        if (!held.has(key)) out.push({ ...p, error: this.unheldWhy.get(`${network.id}/${containerId}/${key}`) ?? 'not held' });
      }
    }
    return out;
  }

  /** Tries again to hold every unheld port (its program may have let go); returns those now held. */
  holdUnheldAgain(): Promise<{ containerId: string; port: PublishedPort }[]> {
    return this.exclusive(async () => {
      const regained: { containerId: string; port: PublishedPort }[] = [];
      for (const key of [...this.unheldWhy.keys()]) {
        const [networkId = '', containerId = ''] = key.split('/');
        const n = this.networks.get(networkId);
        const p = n?.endpoints[containerId]?.published?.find((x) => `${networkId}/${containerId}/${portKey(x)}` === key);
        if (!n || !p) {
          this.unheldWhy.delete(key);
          continue;
        }
        const r = await this.holdAgain(p).catch(() => null);
        if (!r) continue;
        this.unheldWhy.delete(key);
        const rkey = `${networkId}/${containerId}`;
        this.reservations.set(rkey, [...(this.reservations.get(rkey) ?? []), r]);
        regained.push({ containerId, port: p });
      }
      return regained;
    });
  }

  private async startDns(n: NetworkRecord): Promise<void> {
    if (!hasEmbeddedDns(n) || this.listeners.has(n.id)) return;
    const listener = new DnsListener(n.gateway, this.resolver.handler(n.id), this.log);
    try {
      await listener.start();
      this.listeners.set(n.id, listener);
    } catch (e) {
      this.log(`network ${n.name}: no DNS on ${n.gateway}:53: ${(e as Error).message}`);
    }
  }

  private async hostUpstreams(): Promise<Upstream[]> {
    if (this.options.dnsUpstreams) return this.options.dnsUpstreams.map(parseUpstream).filter((u): u is Upstream => u !== null);
    const now = Date.now();
    if (!this.upstreamCache || now - this.upstreamCache.at > UPSTREAM_CACHE_MS) {
      const conf = await readHostResolvConf(this.options.resolvConf ?? '/etc/resolv.conf');
      // Loopback resolvers of the host are unreachable from where containers' queries go on.
      let upstreams = conf.nameservers.map(parseUpstream).filter((u): u is Upstream => u !== null && !isLoopback(u.host));
      if (upstreams.length === 0) {
        // As the resolv.conf of containers without the embedded DNS (see name-files.ts).
        upstreams = FALLBACK_NAMESERVERS.map(parseUpstream).filter((u): u is Upstream => u !== null);
        if (!this.upstreamCache) this.log(`dns: no usable resolver in ${this.options.resolvConf ?? '/etc/resolv.conf'} (none, or only loopback ones); forwarding to ${FALLBACK_NAMESERVERS.join(', ')}`);
      }
      this.upstreamCache = { at: now, upstreams };
    }
    return this.upstreamCache.upstreams;
  }

  // ---- networks --------------------------------------------------------------------------------

  get(nameOrId: string): NetworkRecord | null {
    return this.findNetwork(nameOrId);
  }

  list(): NetworkRecord[] {
    return [...this.networks.values()].sort((a, b) => a.created.localeCompare(b.created));
  }

  /** By exact id, exact name, or a unique id prefix. */
  private findNetwork(nameOrId: string): NetworkRecord | null {
    if (!nameOrId) return null;
    const byId = this.networks.get(nameOrId);
    if (byId) return byId;
    const all = [...this.networks.values()];
    const byName = all.find((n) => n.name === nameOrId);
    if (byName) return byName;
    const byPrefix = all.filter((n) => n.id.startsWith(nameOrId));
    return byPrefix.length === 1 ? byPrefix[0]! : null;
  }

  private mustFind(nameOrId: string): NetworkRecord {
    const n = this.findNetwork(nameOrId);
    if (!n) throw new EngineError('not-found', `network ${nameOrId} not found`);
    return n;
  }

  create(spec: NetworkSpec): Promise<NetworkRecord> {
    return this.exclusive(() => this.createNetwork(spec));
  }

  private async createNetwork(spec: NetworkSpec): Promise<NetworkRecord> {
    if (!NAME_PATTERN.test(spec.name)) throw new EngineError('invalid', `invalid network name ${JSON.stringify(spec.name)}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    if (this.findByExactName(spec.name) || RESERVED_NAMES.has(spec.name)) throw new EngineError('conflict', `network with name ${spec.name} already exists`);
    if (spec.driver && spec.driver !== 'bridge') throw new EngineError('invalid', `network ${spec.name}: driver ${spec.driver} is not supported by the embedded engine (only bridge)`);
    if (spec.enableIpv6) throw new EngineError('invalid', `network ${spec.name}: IPv6 is not supported by the embedded engine`);
    bridgeOptions(spec.name, spec.driverOpts); // refuses bad options before anything is made

    const explicit = spec.ipam?.config?.some((c) => c.subnet);
    const excluded: UsedSubnet[] = [];
    for (let attempt = 0; ; attempt++) {
      const used = [...(await usedSubnets([...this.networks.values()])), ...excluded];
      const choice = named(spec.name, () => explicitChoice(spec.ipam, used)) ?? poolSubnet(this.paths, this.options, used);
      const record = newRecord(this.names, [...this.networks.values()], spec, choice);
      await bridgeUp(record, false);
      // Another daemon may have taken the same subnet between our look and our add.
      const clash = (await hostSubnets((dev) => dev === record.bridge)).find((u) => overlaps(u.cidr, parseCidr(record.subnet, true)!));
      if (!clash) return this.finishCreate(record);
      await deleteLink(record.bridge);
      if (explicit || attempt >= 4) throw new EngineError('invalid', `network ${spec.name}: subnet ${record.subnet} overlaps ${formatCidr(clash.cidr)} (${clash.owner})`);
      excluded.push({ cidr: parseCidr(record.subnet, true)!, owner: clash.owner });
    }
  }

  private async finishCreate(record: NetworkRecord): Promise<NetworkRecord> {
    const changes: RuleChange[] = [
      { op: 'insert', rule: this.rules.networkIsoRule(record) },
      ...this.rules.networkRules(record).map((rule) => ({ op: 'append' as const, rule })),
    ];
    try {
      await addRules(changes);
      await this.store.saveNetwork(record);
    } catch (e) {
      await deleteRules(changes.map((c) => c.rule)).catch(() => undefined);
      await deleteLink(record.bridge).catch(() => undefined);
      throw e;
    }
    this.networks.set(record.id, record);
    await this.startDns(record);
    return record;
  }

  private findByExactName(name: string): NetworkRecord | undefined {
    return [...this.networks.values()].find((n) => n.name === name);
  }

  remove(nameOrId: string): Promise<void> {
    return this.exclusive(async () => {
      const n = this.mustFind(nameOrId);
      if (n.name === DEFAULT_NETWORK) throw new EngineError('invalid', `${DEFAULT_NETWORK} is a pre-defined network and cannot be removed`);
      if (Object.keys(n.endpoints).length > 0) throw new EngineError('conflict', `error while removing network: network ${n.name} id ${n.id} has active endpoints`);
      await this.listeners.get(n.id)?.close();
      this.listeners.delete(n.id);
      await deleteRules([this.rules.networkIsoRule(n), ...this.rules.networkRules(n)]);
      await deleteLink(n.bridge);
      await this.store.removeNetwork(n.id);
      this.networks.delete(n.id);
      if (hasServices(n)) await this.serviceRulesAgain();
    });
  }

  // ---- sandboxes and endpoints -----------------------------------------------------------------

  // A container's own namespace, veths and name files are its own: the container manager's lock on
  // that container orders the calls about it, so only what containers share (addresses, names,
  // the networks' records, the port rules) is changed in the queue. Done in the queue, the
  // commands each container start runs (unshare, ip) made 30 starting containers wait in line.

  async createSandbox(containerId: string): Promise<string> {
    const path = this.registerSandbox(containerId);
    await createNetns(path);
    return path;
  }

  /**
   * createSandbox and connect to the first network in one: the namespace is made by the process
   * that configures its end of the veth (a container start runs one process fewer). On failure
   * nothing of it is left.
   */
  async createConnectedSandbox(containerId: string, network: string, endpoint: EndpointRequest): Promise<{ sandbox: string; endpoint: EndpointRecord }> {
    const path = this.registerSandbox(containerId);
    try {
      return { sandbox: path, endpoint: await this.connectIn(network, containerId, path, endpoint, (lines) => createNetns(path, lines)) };
    } catch (e) {
      await this.removeSandbox(containerId).catch((err: Error) => this.log(`container ${endpoint.containerName}: cannot remove its network namespace: ${err.message}`));
      throw e;
    }
  }

  private registerSandbox(containerId: string): string {
    const path = join(this.paths.netns, containerId);
    const record = this.sandboxes.get(containerId) ?? { containerId, path };
    record.path = path;
    this.sandboxes.set(containerId, record);
    // Saved by the first connect or writeNameFiles, whichever comes first: a daemon killed before
    // that finds a namespace no record owns, and removes it (dropStaleSandboxes).
    this.unsavedSandboxes.add(containerId);
    return path;
  }

  /**
   * Removes the container's namespace and its endpoints. The namespace goes first: the kernel
   * then drops the container's end of each veth and with it the host's end, which spares an
   * `ip link del` (a spawn) per endpoint. An endpoint's record goes once its host end has (until
   * then its address and MAC stay taken); a host end still there after a while (a process still
   * in the namespace keeps it alive) is deleted as disconnect() does.
   */
  async removeSandbox(containerId: string): Promise<void> {
    const mine = endpointsOf(this.networks.values(), containerId);
    for (const { network, endpoint } of mine) {
      if (this.hasPorts(network, endpoint)) await this.exclusive(() => this.unpublishEndpoint(network, endpoint));
    }
    const failed = await removeNetns(this.sandboxes.get(containerId)?.path ?? join(this.paths.netns, containerId)).then(
      () => null,
      (e: unknown) => e,
    );
    await Promise.all(mine.map(({ endpoint }) => linkGone(endpoint.hostVeth, failed === null ? LINK_GONE_MS : 0)));
    for (const { network, endpoint } of mine) {
      if (network.endpoints[containerId] === endpoint) delete network.endpoints[containerId];
      await this.store.saveNetwork(network);
    }
    if (mine.length > 0) this.resolver.reset();
    // Its address may go to another container before the swarm core routes the service again.
    if (mine.some(({ network }) => isBackend(network, containerId))) await this.exclusive(() => this.serviceRulesAgain());
    if (failed !== null) throw failed;
    this.sandboxes.delete(containerId);
    this.unsavedSandboxes.delete(containerId);
    await this.store.removeSandbox(containerId);
  }

  connect(network: string, containerId: string, sandbox: string, endpoint: EndpointRequest): Promise<EndpointRecord> {
    return this.connectIn(network, containerId, sandbox, endpoint);
  }

  /** connect; `inside` runs the sandbox's half of the veth (by default in the existing netns). */
  private async connectIn(network: string, containerId: string, sandbox: string, endpoint: EndpointRequest, inside?: (lines: string[]) => Promise<void>): Promise<EndpointRecord> {
    // The address and the name are taken in the queue (the record is in the network from then on,
    // so no other container gets them); the veth is made outside it.
    const { n, record, providesDefault } = await this.exclusive(async () => {
      const n = this.mustFind(network);
      if (n.endpoints[containerId] || Object.values(n.endpoints).some((e) => e.containerName === endpoint.containerName)) {
        throw new EngineError('conflict', `endpoint with name ${endpoint.containerName} already exists in network ${n.name}`);
      }
      const ip = allocateAddress(n, endpoint.ipv4Address); // its errors name the network
      const mine = endpointsOf(this.networks.values(), containerId);
      const index = mine.length === 0 ? 0 : Math.max(...mine.map((x) => ifaceIndex(x.endpoint))) + 1;
      const record: EndpointRecord = {
        containerId,
        containerName: endpoint.containerName,
        network: n.name,
        aliases: [...new Set(endpoint.aliases)],
        ip,
        prefixLength: Number(n.subnet.split('/')[1]),
        gateway: n.gateway,
        mac: macFor(parseIpv4(ip)!),
        iface: `eth${index}`,
        hostVeth: this.names.newVeth(),
      };
      n.endpoints[containerId] = record;
      // The first network (not internal) gives the default route; later ones only their subnet.
      return { n, record, providesDefault: !n.internal && !mine.some((x) => !x.network.internal) };
    });
    const sandboxRecord = this.sandboxes.get(containerId) ?? { containerId, path: sandbox };
    const unsaved = this.unsavedSandboxes.has(containerId) || !this.sandboxes.has(containerId);
    try {
      await addVeth(
        {
          netns: sandbox,
          iface: record.iface,
          mac: record.mac,
          hostVeth: record.hostVeth,
          bridge: n.bridge,
          address: `${record.ip}/${record.prefixLength}`,
          defaultVia: providesDefault ? n.gateway : null,
          mtu: bridgeOptions(n.name, n.options).mtu,
        },
        inside,
      );
      this.sandboxes.set(containerId, sandboxRecord);
      await this.store.saveNetwork(n);
      if (unsaved) await this.saveSandbox(sandboxRecord);
    } catch (e) {
      await deleteLink(record.hostVeth).catch(() => undefined);
      if (n.endpoints[containerId] === record) delete n.endpoints[containerId];
      await this.store.saveNetwork(n).catch(() => undefined);
      throw e;
    }
    this.resolver.reset();
    await this.rewriteNameFiles(containerId);
    return record;
  }

  async disconnect(network: string, containerId: string): Promise<void> {
    const n = this.mustFind(network);
    const e = n.endpoints[containerId];
    if (!e) throw new EngineError('not-found', `container ${containerId} is not connected to network ${n.name}`);
    await this.releaseEndpoint(n, e);
  }

  private async releaseEndpoint(n: NetworkRecord, e: EndpointRecord): Promise<void> {
    const containerId = e.containerId;
    if (this.hasPorts(n, e)) {
      await this.exclusive(() => this.unpublishEndpoint(n, e)); // the port rules are shared chains
    }
    const before = endpointsOf(this.networks.values(), containerId);
    const defaultHolder = before.find((x) => !x.network.internal);
    // The link goes first: until the record does, its address and MAC stay taken.
    await deleteLink(e.hostVeth); // takes the container's end with it
    if (n.endpoints[containerId] === e) delete n.endpoints[containerId];
    this.resolver.reset();
    await this.store.saveNetwork(n);
    // Hand the default route to the next network, as the first one's is gone.
    if (defaultHolder?.network.id === n.id) {
      const next = before.find((x) => x.network.id !== n.id && !x.network.internal);
      const sandbox = this.sandboxes.get(containerId)?.path;
      if (next && sandbox) {
        await setDefaultRoute(sandbox, next.endpoint.gateway, next.endpoint.iface).catch((err: Error) =>
          this.log(`container ${e.containerName}: cannot move the default route to ${next.network.name}: ${err.message}`),
        );
      }
    }
    await this.rewriteNameFiles(containerId);
  }

  // ---- published ports -------------------------------------------------------------------------

  publish(containerId: string, network: string, ports: PortRequest[]): Promise<PublishedPort[]> {
    return this.exclusive(async () => {
      const n = this.mustFind(network);
      const e = n.endpoints[containerId];
      if (!e) throw new EngineError('not-found', `container ${containerId} is not connected to network ${n.name}`);
      if (n.internal) {
        if (ports.length > 0) this.log(`network ${n.name} is internal: ports of ${e.containerName} are not published`);
        return [];
      }
      const held: Reservation[] = [];
      const published: PublishedPort[] = [];
      const defaultHostIp = bridgeOptions(n.name, n.options).hostBindingIpv4;
      try {
        for (const request of ports) {
          if (!Number.isInteger(request.containerPort) || request.containerPort < 1 || request.containerPort > 65535) {
            throw new EngineError('invalid', `invalid container port ${request.containerPort}`);
          }
          const hostIp = request.hostIp === '' ? defaultHostIp : request.hostIp;
          const r = await reserve({ ...request, hostIp }, (protocol, ip, port) => this.isRecordedForOther(containerId, protocol, ip, port));
          held.push(r);
          published.push({ containerPort: request.containerPort, protocol: request.protocol, hostIp: r.hostIp, hostPort: r.hostPort });
        }
        await addRules(
          published.flatMap((port) => this.rules.portRules({ port, containerIp: e.ip, bridge: n.bridge })).map((rule) => ({ op: 'append' as const, rule })),
        );
      } catch (err) {
        await Promise.all(held.map((r) => r.close()));
        throw err;
      }
      e.published = [...(e.published ?? []), ...published];
      const key = `${n.id}/${containerId}`;
      this.reservations.set(key, [...(this.reservations.get(key) ?? []), ...held]);
      await this.store.saveNetwork(n);
      return published;
    });
  }

  async unpublish(containerId: string): Promise<void> {
    const mine = endpointsOf(this.networks.values(), containerId);
    if (!mine.some(({ network, endpoint }) => this.hasPorts(network, endpoint))) return;
    return this.exclusive(async () => {
      for (const { network, endpoint } of endpointsOf(this.networks.values(), containerId)) {
        if (await this.unpublishEndpoint(network, endpoint)) await this.store.saveNetwork(network);
      }
    });
  }

  /** Whether the endpoint has port rules or reservations to remove (else unpublishing needs no turn in the queue). */
  private hasPorts(n: NetworkRecord, e: EndpointRecord): boolean {
    return (e.published?.length ?? 0) > 0 || this.reservations.has(`${n.id}/${e.containerId}`);
  }

  /** Removes an endpoint's port rules and reservations; true when it had any. */
  private async unpublishEndpoint(n: NetworkRecord, e: EndpointRecord): Promise<boolean> {
    const ports = e.published ?? [];
    const key = `${n.id}/${e.containerId}`;
    await Promise.all((this.reservations.get(key) ?? []).map((r) => r.close()));
    this.reservations.delete(key);
    for (const p of ports) this.unheldWhy.delete(`${key}/${portKey(p)}`);
    if (ports.length === 0) return false;
    await deleteRules(ports.flatMap((port) => this.rules.portRules({ port, containerIp: e.ip, bridge: n.bridge })));
    delete e.published;
    return true;
  }

  // ---- swarm services ------------------------------------------------------------------------

  /**
   * An address of the network for a service's virtual IP: kept from containers, and an address
   * of the bridge (so containers reach it), until routeServices no longer names it.
   */
  reserveVip(network: string, serviceId: string): Promise<string> {
    return this.exclusive(async () => {
      const n = this.mustFind(network);
      const entry = n.services?.[serviceId] ?? { names: [], backends: [], ingress: [] };
      const vip = entry.vip ?? allocateAddress(n);
      n.services = { ...n.services, [serviceId]: { ...entry, vip } };
      await addVips(n.bridge, [vip]);
      await this.store.saveNetwork(n);
      return `${vip}/${n.subnet.split('/')[1]}`;
    });
  }

  /**
   * Routes exactly these services on this node: their names in the embedded DNS, their virtual
   * IPs and ingress ports balanced over their tasks; every other service's are removed.
   */
  routeServices(routes: readonly ServiceRoute[]): Promise<void> {
    return this.exclusive(async () => {
      for (const n of this.networks.values()) {
        const before = n.services ?? {};
        const next = entriesFor(n, routes);
        if (JSON.stringify(before) === JSON.stringify(next)) continue;
        const kept = new Set(Object.values(next).map((e) => e.vip));
        await removeVips(n.bridge, vipsOf(n).filter((ip) => !kept.has(ip)));
        if (Object.keys(next).length > 0) n.services = next;
        else delete n.services;
        await addVips(n.bridge, vipsOf(n));
        await this.store.saveNetwork(n);
      }
      await this.serviceRulesAgain();
    });
  }

  /** The services' chains and ingress sockets made to match the records (in the queue). */
  private async serviceRulesAgain(): Promise<void> {
    await this.holdIngress();
    await rebuildChains(this.rules.serviceChains(this.list()));
    this.resolver.reset();
  }

  /** Holds a socket on every ingress port the records name (so nothing else takes it), and no other. */
  private async holdIngress(): Promise<void> {
    const wanted = ingressKeys(this.networks.values());
    for (const [key, r] of [...this.ingressHolds]) {
      if (wanted.has(key)) continue;
      this.ingressHolds.delete(key);
      await r.close();
    }
    for (const [key, port] of wanted) {
      if (this.ingressHolds.has(key)) continue;
      try {
        const r = await reserve({ containerPort: port.containerPort, protocol: port.protocol, hostIp: '', hostPorts: { start: port.hostPort, end: port.hostPort } }, (protocol, ip, p) =>
          this.isRecordedForOther('', protocol, ip, p),
        );
        this.ingressHolds.set(key, r);
      } catch (e) {
        this.log(`swarm ingress port ${key}: ${(e as Error).message}`);
      }
    }
  }

  // ---- /etc/hosts and resolv.conf --------------------------------------------------------------

  async writeNameFiles(containerId: string, files: NameFiles, settings: NameSettings): Promise<void> {
    const record = this.sandboxes.get(containerId) ?? { containerId, path: null };
    record.nameFiles = { ...files };
    record.nameSettings = structuredClone(settings);
    this.sandboxes.set(containerId, record);
    await this.saveSandbox(record);
    await this.rewriteNameFiles(containerId);
  }

  private async saveSandbox(record: SandboxRecord): Promise<void> {
    this.unsavedSandboxes.delete(record.containerId);
    await this.store.saveSandbox(record);
  }

  private async rewriteNameFiles(containerId: string): Promise<void> {
    const record = this.sandboxes.get(containerId);
    if (!record?.nameFiles || !record.nameSettings) return;
    const settings = record.nameSettings;
    const hostNetwork = settings.hostNetwork === true;
    const mine = endpointsOf(this.networks.values(), containerId);
    const dnsNetwork = mine.find((x) => hasEmbeddedDns(x.network));
    const hostConf = await readHostResolvConf(this.options.resolvConf ?? '/etc/resolv.conf');
    const hosts = renderHosts({
      settings,
      addresses: mine.map((x) => x.endpoint.ip),
      hostGateway: this.findNetwork(DEFAULT_NETWORK)?.gateway ?? null,
      ...(hostNetwork ? { hostHostsFile: await readFile('/etc/hosts', 'utf8').catch(() => '') } : {}),
    });
    const resolv = renderResolvConf({ settings, host: hostConf, embeddedDns: hostNetwork ? null : (dnsNetwork?.network.gateway ?? null), hostNetwork });
    await writeInPlace(record.nameFiles.hosts, hosts);
    await writeInPlace(record.nameFiles.resolvConf, resolv);
  }
}

