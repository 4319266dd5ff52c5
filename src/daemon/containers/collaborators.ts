/**
 * What the container manager needs from the image store, the network manager and the runtime,
 * stated as narrow interfaces: the classes in ../images, ../network and ../runtime satisfy them,
 * and the manager depends on nothing else of theirs.
 */
import type { Readable, Writable } from 'node:stream';
import type { ContainerSpec, ContainerStatsSample, ExecSpec, ExtraHostSpec, LogChunk, LogOptions, NetworkSpec } from '../../contract/engine.js';
import type { ImageConfigJson } from '../../contract/image-config.js';
import type { PortRequest, PublishedPort, UnheldPort } from '../network/types.js';

/** The network a container joins when it names none (Docker's default bridge network). */
export const DEFAULT_NETWORK = 'bridge';

/** A published port as messages name it: 127.0.0.1:8080/tcp. */
export function portKey(p: { hostIp: string; hostPort: number; protocol: string }): string {
  return `${p.hostIp}:${p.hostPort}/${p.protocol}`;
}

export interface ImageView {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  created: string;
  size: number;
  config: ImageConfigJson;
  /** The image's layer snapshots, bottom first: the overlay lower dirs of its containers; never written. */
  layers: string[];
}

export interface ImagesPort {
  resolve(reference: string): Promise<ImageView | null>;
}

export interface EndpointView {
  ip: string;
  prefixLength: number;
  gateway: string;
  mac: string;
  aliases: string[];
}

export interface NetworkView {
  id: string;
  name: string;
  driver: string;
  labels: Record<string, string>;
  options: Record<string, string>;
  internal: boolean;
  endpoints: Record<string, { containerName: string }>;
  subnet: string;
  gateway: string;
  ipRange?: string;
}

/** A container's endpoint on a network: its name there, aliases, and maybe a chosen address. */
export interface EndpointRequest {
  containerName: string;
  aliases: string[];
  ipv4Address?: string;
}

export interface NetworkPort {
  create(spec: NetworkSpec): Promise<NetworkView>;
  remove(nameOrId: string): Promise<void>;
  get(nameOrId: string): NetworkView | null;
  list(): NetworkView[];
  createSandbox(containerId: string): Promise<string>;
  /** createSandbox, then connect to `network`, at the cost of one process fewer. */
  createConnectedSandbox(containerId: string, network: string, endpoint: EndpointRequest): Promise<{ sandbox: string; endpoint: EndpointView }>;
  removeSandbox(containerId: string): Promise<void>;
  connect(network: string, containerId: string, sandbox: string, endpoint: EndpointRequest): Promise<EndpointView>;
  disconnect(network: string, containerId: string): Promise<void>;
  publish(containerId: string, network: string, ports: PortRequest[]): Promise<PublishedPort[]>;
  unpublish(containerId: string): Promise<void>;
  /** Ports published to the container that the daemon could not hold again after a restart. */
  unheldPorts(containerId: string): UnheldPort[];
  /** Tries to hold those again; returns the ones now held. */
  holdUnheldAgain(): Promise<{ containerId: string; port: PublishedPort }[]>;
  writeNameFiles(
    containerId: string,
    files: { hosts: string; resolvConf: string },
    settings: { hostname: string; domainname?: string; extraHosts: ExtraHostSpec[]; dns: string[]; dnsSearch: string[]; dnsOptions: string[] },
  ): Promise<void>;
}

export type HostMount =
  | { type: 'bind'; source: string; target: string; readOnly: boolean; propagation?: string }
  | { type: 'tmpfs'; target: string; options: string[] };

export interface BundleRequest {
  id: string;
  spec: ContainerSpec;
  /** The image's layers (overlay lower dirs, bottom first) and config. */
  image: { layers: string[]; config: ImageConfigJson };
  network: { path: string } | 'host';
  ipc?: 'private' | 'shareable' | 'host' | { path: string };
  pid?: 'private' | 'host' | { path: string };
  mounts: HostMount[];
  files: { hosts: string; resolvConf: string; hostname: string };
  cgroupsPath: string;
  log: { path: string; maxSize?: number; maxFiles?: number } | null;
  /** Called with the container's root once it is mounted (empty volumes are filled from it). */
  withRootfs?: (rootfs: string) => Promise<void>;
}

export interface ExitInfo {
  code: number;
  oomKilled: boolean;
  finishedAt: string;
}

export interface RuncEntry {
  id: string;
  status: 'created' | 'running' | 'paused' | 'stopped';
  pid: number;
}

export interface ExecSession {
  stdin: Writable | null;
  stdout: Readable;
  stderr: Readable | null;
  resize(rows: number, columns: number): Promise<void>;
  kill(signal?: NodeJS.Signals): void;
  exit: Promise<number>;
}

export interface RuntimePort {
  /** Refuses, at create, a spec that prepare() would refuse at start (EngineError 'invalid'). */
  checkSpec(spec: ContainerSpec, image: { config: ImageConfigJson }): Promise<void>;
  prepare(request: BundleRequest): Promise<void>;
  start(id: string): Promise<{ pid: number }>;
  kill(id: string, signal: string): Promise<void>;
  exitInfo(id: string): Promise<ExitInfo | null>;
  onExit(listener: (id: string, info: ExitInfo) => void): () => void;
  delete(id: string): Promise<void>;
  release(id: string): Promise<void>;
  destroy(id: string): Promise<void>;
  list(): Promise<RuncEntry[]>;
  /** What runc knows of the container's process (null: nothing, its state is gone). */
  state(id: string): Promise<RuncEntry | null>;
  conmonAlive(id: string): Promise<boolean>;
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  top(id: string, psArgs?: string): Promise<{ titles: string[]; processes: string[][] }>;
  /** CPU, memory, block I/O and pids from the container's cgroup (runc events --stats). */
  stats(id: string): Promise<Omit<ContainerStatsSample, 'readAt' | 'networkRx' | 'networkTx'>>;
  exec(id: string, spec: ExecSpec): Promise<ExecSession>;
  runAttached(id: string, options: { stdin: boolean; tty: boolean }): Promise<ExecSession>;
  readLogs(id: string, logPath: string, options: LogOptions & { isRunning?: () => boolean }): AsyncIterable<LogChunk & { time: string }>;
  rotateLogs(id: string, logPath: string, maxSize: number, maxFiles: number): Promise<boolean>;
}
