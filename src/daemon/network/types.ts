/** The network manager's records and requests (persisted as JSON; see ./store.ts). */
import type { ExtraHostSpec } from '../../contract/engine.js';

export interface PublishedPort {
  containerPort: number;
  protocol: 'tcp' | 'udp';
  /** The address the port is published on; '0.0.0.0' for all. */
  hostIp: string;
  hostPort: number;
}

/** A published port no socket of the daemon holds, and why (the error of the last try). */
export interface UnheldPort extends PublishedPort {
  error: string;
}

export interface EndpointRecord {
  containerId: string;
  containerName: string;
  network: string;
  /** DNS names on this network besides the container name (the service name, network aliases). */
  aliases: string[];
  ip: string;
  prefixLength: number;
  gateway: string;
  mac: string;
  /** The interface inside the container: eth0, eth1, ... */
  iface: string;
  /** The host side of the veth pair (a port of the network's bridge). */
  hostVeth: string;
  /** Ports published to this endpoint's address (see NetworkManager.publish). */
  published?: PublishedPort[];
}

export interface NetworkRecord {
  id: string;
  name: string;
  driver: 'bridge';
  labels: Record<string, string>;
  options: Record<string, string>;
  internal: boolean;
  attachable: boolean;
  created: string;
  /** flt<instance><6 hex>, 13 characters. */
  bridge: string;
  subnet: string;
  gateway: string;
  ipRange?: string;
  /** Addresses kept out of allocation (ipam aux_addresses). */
  auxAddresses?: Record<string, string>;
  /** containerId → endpoint. */
  endpoints: Record<string, EndpointRecord>;
  /** Swarm services routed on this network (see ./services.ts), by service id. */
  services?: Record<string, ServiceEntry>;
}

/** A port published on every host address and balanced over a service's tasks (ingress mode). */
export interface IngressPort {
  protocol: 'tcp' | 'udp';
  hostPort: number;
  containerPort: number;
}

/** A swarm service as one network sees it: its names, its virtual IP, its tasks. */
export interface ServiceEntry {
  /** The names the embedded DNS answers for it on this network (lower case). */
  names: string[];
  /** endpoint_mode vip: the address its names resolve to, balanced over the backends. */
  vip?: string;
  /** The containers of its running tasks, in slot order. */
  backends: string[];
  /** Ingress ports balanced over the backends' addresses on this network. */
  ingress: IngressPort[];
}

export interface PortRequest {
  containerPort: number;
  protocol: 'tcp' | 'udp';
  /** '' = all addresses. */
  hostIp: string;
  /** Undefined: an ephemeral port; else the first free one of the range. */
  hostPorts?: { start: number; end: number };
}

/** Host paths the runtime bind-mounts at /etc/hosts and /etc/resolv.conf. */
export interface NameFiles {
  hosts: string;
  resolvConf: string;
}

export interface NameSettings {
  hostname: string;
  domainname?: string;
  extraHosts: ExtraHostSpec[];
  dns: string[];
  dnsSearch: string[];
  dnsOptions: string[];
  /**
   * network_mode: host: /etc/hosts is the host's plus extra_hosts, resolv.conf the host's
   * resolvers as they are (loopback ones included).
   */
  hostNetwork?: boolean;
}

/** What the manager keeps per container: its netns file and the name files to rewrite. */
export interface SandboxRecord {
  containerId: string;
  /** The netns file, or null when the container has none of its own (host network mode). */
  path: string | null;
  nameFiles?: NameFiles;
  nameSettings?: NameSettings;
}

export interface NetworkManagerOptions {
  /** Upstream resolvers ("ip" or "ip:port"); default: the host's, from resolvConf. */
  dnsUpstreams?: string[];
  /** The host's resolv.conf (default /etc/resolv.conf). */
  resolvConf?: string;
  /** Milliseconds before an unanswered forwarded query gets SERVFAIL (default 2000). */
  dnsTimeoutMs?: number;
  /** The pool automatic subnets come from (default 10.213.0.0/16) and their prefix (default 24). */
  pool?: string;
  poolPrefix?: number;
}
