/**
 * The Engine interface: the only way the reconciler and the commands touch containers, images,
 * networks and volumes. It is shaped by what the planner needs (observe by label, create/start/
 * stop/remove, wait, logs, exec, events), not by any engine's API. The Docker backend
 * (./docker/) speaks the Docker Engine API; the embedded backend speaks to `flotilla daemon`.
 * Both pass the same contract tests (test/engine/contract).
 *
 * Errors: every method rejects with an EngineError (./errors.ts) whose `kind` says what went
 * wrong in engine-neutral terms (not-found, conflict, unreachable, ...).
 */

export type Labels = Record<string, string>;

export interface EngineVersion {
  engine: 'docker' | 'embedded';
  version: string;
  apiVersion: string;
  os: string;
  arch: string;
}

// ---- images ------------------------------------------------------------------------------------

export interface ImageInfo {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  created: string;
  size: number;
  labels: Labels;
  /** The image's own defaults, which a service's settings override. */
  config: {
    env: string[];
    cmd: string[] | null;
    entrypoint: string[] | null;
    workingDir: string;
    user: string;
    exposedPorts: PortSpec[];
    volumes: string[];
    stopSignal?: string;
    healthcheck?: HealthcheckSpec;
  };
}

export interface ImageSummary {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  created: number;
  size: number;
  labels: Labels;
}

export interface BuildRequest {
  /** Absolute path of the context directory (a URL context is passed to the engine as is). */
  context: string;
  /** Relative to the context. */
  dockerfile: string;
  /** The Dockerfile's text, used instead of reading `dockerfile` (Compose `dockerfile_inline`). */
  dockerfileInline?: string;
  tags: string[];
  args: Record<string, string>;
  labels: Labels;
  target?: string;
  cacheFrom: string[];
  network?: string;
  shmSize?: number;
  extraHosts: ExtraHostSpec[];
  noCache?: boolean;
  pull?: boolean;
  /** Secrets for `RUN --mount=type=secret`: id → contents, base64 (the CLI reads files or its environment). */
  secrets?: Record<string, string>;
  /** os/arch[/variant] to build for (the embedded engine builds only its own). */
  platform?: string;
  /** Named contexts for FROM and COPY --from (Compose `additional_contexts`): name → absolute directory or `docker-image://REF`. */
  additionalContexts?: Record<string, string>;
  /** SSH agents for RUN --mount=type=ssh (Compose `ssh`): id → absolute path of the agent's socket. */
  ssh?: Record<string, string>;
  /** Credentials for the registries base images are pulled from, by registry host (the embedded engine's client fills them in). */
  registryAuth?: Record<string, NonNullable<PullOptions['credentials']>>;
}

/** One line of progress from a long operation (pull, build, push), for the progress display. */
export interface ProgressEvent {
  id?: string;
  status: string;
  detail?: string;
}

export type ProgressSink = (event: ProgressEvent) => void;

export interface PullOptions {
  /** os/arch[/variant]; the engine's own by default. */
  platform?: string;
  /** Registry credentials (the embedded engine's client fills them in from the Docker config). */
  credentials?: { username?: string; password?: string; identityToken?: string } | null;
}

// ---- containers --------------------------------------------------------------------------------

export interface HealthcheckSpec {
  /** ["NONE"], ["CMD", ...] or ["CMD-SHELL", "..."]. */
  test: string[];
  /** Nanoseconds; 0 means the engine's default. */
  interval: number;
  timeout: number;
  startPeriod: number;
  /** Between probes during the start period (Docker API 1.44); absent: `interval` throughout. */
  startInterval?: number;
  retries: number;
}

export type PortProtocol = 'tcp' | 'udp' | 'sctp';

/** A container port (exposed, or the container side of a published one). */
export interface PortSpec {
  port: number;
  protocol: PortProtocol;
}

/** A container port published on the host. */
export interface PublishedPortSpec {
  containerPort: number;
  protocol: PortProtocol;
  /** "" for every address. */
  hostIp: string;
  /** Undefined: a port the engine picks; a range: any free one of it. */
  hostPorts?: { start: number; end: number };
}

export interface MountSpec {
  type: 'bind' | 'volume' | 'tmpfs';
  /** Host path (bind) or volume name (volume); undefined for an anonymous volume and tmpfs. */
  source?: string;
  target: string;
  readOnly: boolean;
  /** A bind whose host path is created when missing, as `-v` does (a `--mount` bind requires it). */
  createHostPath?: boolean;
  /** SELinux relabelling of a bind's source: shared (z) or private (Z). */
  selinuxRelabel?: 'z' | 'Z';
  consistency?: string;
  bindPropagation?: string;
  volumeNoCopy?: boolean;
  tmpfsSize?: number;
}

/** A `tmpfs:` mount: its target and mount options ("size=64k", "mode=1777"). */
export interface TmpfsSpec {
  target: string;
  options: string[];
}

/** Every mount of another container (volumes_from), read-only, read-write, or as it has them. */
export interface VolumesFromSpec {
  container: string;
  mode?: 'ro' | 'rw';
}

/** A legacy link: `container` is reachable as `alias`. */
export interface LinkSpec {
  container: string;
  alias: string;
}

export interface ExtraHostSpec {
  host: string;
  ip: string;
}

export interface EndpointSpec {
  aliases: string[];
  ipv4Address?: string;
  ipv6Address?: string;
  linkLocalIps?: string[];
  links?: LinkSpec[];
}

/** Whose network stack a container has: its own on `networks` (none listed: the engine's default network), the host's, none, another container's. */
export type NetworkModeSpec = { kind: 'networks' } | { kind: 'host' } | { kind: 'none' } | { kind: 'container'; container: string };

/** An IPC or PID namespace: the engine's default is 'private'. */
export type NamespaceSpec = { kind: 'private' } | { kind: 'shareable' } | { kind: 'host' } | { kind: 'none' } | { kind: 'container'; container: string };

export interface RestartPolicySpec {
  name: 'no' | 'always' | 'unless-stopped' | 'on-failure';
  maximumRetryCount: number;
}

/**
 * A file the engine writes into a container it creates, before its first start (Compose
 * secrets and configs from `content` or `environment`, which Compose v2 copies in).
 */
export interface ContainerFileSpec {
  /** Absolute path in the container; missing parent directories are made. */
  target: string;
  /** The bytes, base64. */
  contentBase64: string;
  /** Permission bits. */
  mode: number;
  uid?: number;
  gid?: number;
  /**
   * A secret (swarm secrets and configs): written to a tmpfs, never to disk, and left out of the
   * container's saved record (a container whose tmpfs a reboot emptied cannot start again).
   */
  inMemory?: boolean;
}

/** Everything needed to create one container. */
export interface ContainerSpec {
  name: string;
  image: string;
  labels: Labels;
  /** Undefined: the image's. An empty entrypoint list clears the image's entrypoint. */
  entrypoint?: string[];
  command?: string[];
  env: string[];
  workingDir?: string;
  user?: string;
  hostname?: string;
  domainname?: string;
  macAddress?: string;
  tty: boolean;
  openStdin: boolean;
  stopSignal?: string;
  /** Seconds the engine waits after the stop signal before killing. */
  stopTimeout?: number;
  /** Exposed without being published (published ports are exposed too). */
  exposedPorts: PortSpec[];
  healthcheck?: HealthcheckSpec;
  networkMode: NetworkModeSpec;
  /** Networks to join at creation, by full name (the first is the primary). */
  networks: Record<string, EndpointSpec>;
  publishedPorts: PublishedPortSpec[];
  mounts: MountSpec[];
  volumesFrom: VolumesFromSpec[];
  tmpfs: TmpfsSpec[];
  links: LinkSpec[];
  restartPolicy?: RestartPolicySpec;
  privileged: boolean;
  readOnlyRootfs: boolean;
  init?: boolean;
  capAdd: string[];
  capDrop: string[];
  devices: { pathOnHost: string; pathInContainer: string; permissions: string }[];
  deviceCgroupRules: string[];
  dns: string[];
  dnsSearch: string[];
  dnsOptions: string[];
  extraHosts: ExtraHostSpec[];
  groupAdd: string[];
  ipcMode?: NamespaceSpec;
  pidMode?: NamespaceSpec;
  userNsMode?: string;
  cgroupParent?: string;
  shmSize?: number;
  sysctls: Record<string, string>;
  ulimits: { name: string; soft: number; hard: number }[];
  securityOpt: string[];
  logConfig?: { type: string; config: Record<string, string> };
  memory?: number;
  memorySwap?: number;
  memoryReservation?: number;
  memorySwappiness?: number;
  nanoCpus?: number;
  cpuShares?: number;
  cpuQuota?: number;
  cpuPeriod?: number;
  cpusetCpus?: string;
  pidsLimit?: number;
  oomKillDisable?: boolean;
  oomScoreAdj?: number;
  runtime?: string;
  isolation?: string;
  storageOpt?: Record<string, string>;
  platform?: string;
  files?: ContainerFileSpec[];
}

export type ContainerState = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export interface ContainerSummary {
  id: string;
  name: string;
  image: string;
  labels: Labels;
  state: ContainerState;
  /** Human-readable status ("Up 3 seconds (healthy)", "Exited (0) 2 minutes ago"). */
  status: string;
  created: number;
  /**
   * Embedded engine: published ports (127.0.0.1:8080/tcp) of a running container that the daemon
   * could not hold again after a restart, because another program took them meanwhile.
   */
  unheldPorts?: string[];
}

export interface ContainerInfo {
  id: string;
  name: string;
  image: string;
  /** The image Id the container was created from. */
  imageId: string;
  labels: Labels;
  created: string;
  state: {
    status: ContainerState;
    running: boolean;
    paused: boolean;
    restarting: boolean;
    oomKilled: boolean;
    pid: number;
    exitCode: number;
    startedAt: string;
    finishedAt: string;
    health?: { status: 'starting' | 'healthy' | 'unhealthy'; failingStreak: number; log: { exitCode: number; output: string }[] };
  };
  config: { cmd: string[] | null; entrypoint: string[] | null; env: string[]; tty: boolean; openStdin: boolean };
  /** Its ports: the bindings made while it runs, the requested ones otherwise; exposed ones without a host side. */
  ports: PortState[];
  networks: Record<string, { ipAddress: string; aliases: string[]; networkId: string }>;
  mounts: { type: string; name?: string; source: string; destination: string; rw: boolean }[];
  restartCount: number;
}

export interface PortState {
  containerPort: number;
  protocol: PortProtocol;
  /** Absent for an exposed port that is not published. */
  hostIp?: string;
  /** Absent when not published, or when a stopped container's is for the engine to pick. */
  hostPort?: number;
  /** Embedded engine: why the engine does not hold this published port (another program took it). */
  unheld?: string;
}

export interface LogOptions {
  follow: boolean;
  /** Lines from the end; undefined for all. */
  tail?: number;
  timestamps: boolean;
  since?: number;
  /** No line stamped after this time (seconds since the epoch, with the fraction). */
  until?: number;
  /** Stop following when aborted. */
  signal?: AbortSignal;
}

/** One reading of a container's resource use (`stats`); CPU % comes from two readings. */
export interface ContainerStatsSample {
  /** When it was read, milliseconds since the epoch. */
  readAt: number;
  /** CPU time used so far, nanoseconds. */
  cpuNanos: number;
  /** Memory in use, without the inactive page cache (as docker stats shows it). */
  memoryBytes: number;
  /** The limit, or the host's memory when there is none. */
  memoryLimit: number;
  networkRx: number;
  networkTx: number;
  blockRead: number;
  blockWrite: number;
  pids: number;
}

export interface AttachOptions {
  stdin: boolean;
  tty: boolean;
  /**
   * The keys that detach (Docker's syntax, `ctrl-p,ctrl-q`): the client sends them once it has
   * seen them typed, so that dockerd ends the attach without closing a `StdinOnce` container's stdin.
   */
  detachKeys?: string;
}

export interface LogChunk {
  stream: 'stdout' | 'stderr';
  data: Buffer;
}

export interface ExecSpec {
  command: string[];
  env: string[];
  user?: string;
  workingDir?: string;
  privileged: boolean;
  tty: boolean;
  attachStdin: boolean;
  detach: boolean;
}

/** A running exec or attach: its streams, and how it ends. */
export interface StreamSession {
  /** Output; with a TTY everything comes as stdout. */
  output: AsyncIterable<LogChunk>;
  /** Input to the process (null when not attached to stdin). */
  input: NodeJS.WritableStream | null;
  resize(rows: number, columns: number): Promise<void>;
  /** The exit code, once the process has ended and its output has been read. */
  exitCode(): Promise<number>;
  close(): void;
}

/** A path in a container, as `cp` sees it (Docker's X-Docker-Container-Path-Stat). */
export interface ContainerPathStat {
  name: string;
  size: number;
  /** Permission bits (with setuid, setgid, sticky). */
  mode: number;
  type: 'file' | 'directory' | 'symlink' | 'other';
  /** RFC 3339. */
  mtime: string;
  /** A symlink's target as written; '' otherwise. */
  linkTarget: string;
}

export interface ExtractOptions {
  /** `cp -a`: the files get the container user's owner (the archive's owners otherwise, as Docker does). */
  copyUIDGID: boolean;
}

// ---- networks and volumes ----------------------------------------------------------------------

export interface NetworkSpec {
  name: string;
  driver?: string;
  driverOpts: Record<string, string>;
  ipam?: { driver?: string; config: { subnet?: string; ipRange?: string; gateway?: string; auxAddresses?: Record<string, string> }[]; options?: Record<string, string> };
  internal: boolean;
  enableIpv6: boolean;
  attachable: boolean;
  labels: Labels;
}

export interface NetworkInfo {
  id: string;
  name: string;
  driver: string;
  labels: Labels;
  internal: boolean;
  /** Containers attached: id → name. */
  containers: Record<string, string>;
  options: Record<string, string>;
  ipam: NetworkSpec['ipam'];
}

export interface VolumeSpec {
  name: string;
  driver?: string;
  driverOpts: Record<string, string>;
  labels: Labels;
}

export interface VolumeInfo {
  name: string;
  driver: string;
  labels: Labels;
  mountpoint: string;
  options: Record<string, string>;
}

// ---- events ------------------------------------------------------------------------------------

export interface EngineEvent {
  type: 'container' | 'image' | 'network' | 'volume';
  /** create, start, die, stop, kill, destroy, pause, unpause, health_status: healthy, ... */
  action: string;
  id: string;
  attributes: Labels;
  /** Unix time in nanoseconds. */
  timeNano: bigint;
}

export interface EventFilter {
  labels?: string[];
  types?: EngineEvent['type'][];
  since?: number;
  signal?: AbortSignal;
}

// ---- the interface -----------------------------------------------------------------------------

export interface Engine {
  version(): Promise<EngineVersion>;

  inspectImage(ref: string): Promise<ImageInfo | null>;
  listImages(): Promise<ImageSummary[]>;
  pullImage(ref: string, progress?: ProgressSink, options?: PullOptions): Promise<void>;
  buildImage(request: BuildRequest, progress?: ProgressSink): Promise<string>;
  /** Pushes a tag; resolves to the pushed manifest's digest (sha256:...). */
  pushImage(ref: string, progress?: ProgressSink, options?: Pick<PullOptions, 'credentials'>): Promise<string>;
  tagImage(source: string, target: string): Promise<void>;
  removeImage(ref: string, options?: { force?: boolean }): Promise<void>;
  /**
   * The digest a registry has for `ref` (repo@sha256:...), without pulling; null when it has none.
   * Optional. Credentials as for pullImage (the embedded engine's client reads the Docker config's).
   */
  registryDigest?(ref: string, options?: Pick<PullOptions, 'credentials'>): Promise<string | null>;

  /** Containers with all of these labels (a label given as `true` only has to exist). */
  listContainers(query: { labels: Record<string, string | true>; all: boolean }): Promise<ContainerSummary[]>;
  inspectContainer(idOrName: string): Promise<ContainerInfo | null>;
  createContainer(spec: ContainerSpec): Promise<string>;
  startContainer(id: string): Promise<void>;
  /** Sends the stop signal, waits `timeout` seconds (the container's own by default), then kills. */
  stopContainer(id: string, timeout?: number): Promise<void>;
  restartContainer(id: string, timeout?: number): Promise<void>;
  killContainer(id: string, signal?: string): Promise<void>;
  removeContainer(id: string, options?: { force?: boolean; volumes?: boolean }): Promise<void>;
  renameContainer(id: string, name: string): Promise<void>;
  pauseContainer(id: string): Promise<void>;
  unpauseContainer(id: string): Promise<void>;
  /** Resolves with the exit code once the container is not running. */
  waitContainer(id: string, signal?: AbortSignal): Promise<number>;
  containerLogs(id: string, options: LogOptions): AsyncIterable<LogChunk>;
  attachContainer(id: string, options: AttachOptions): Promise<StreamSession>;
  exec(id: string, spec: ExecSpec): Promise<StreamSession>;
  top(id: string, psArgs?: string): Promise<{ titles: string[]; processes: string[][] }>;
  /** A running container's resource use now. */
  containerStats?(id: string): Promise<ContainerStatsSample>;
  /** `cp`: a path in a container (running or not), without following a symlink at its end; null when it does not exist. */
  statContainerPath?(id: string, path: string): Promise<ContainerPathStat | null>;
  /** `cp`: the tar of a container path (named from its last component, "." for "dir/."); `signal` stops it. */
  containerArchive?(id: string, path: string, signal?: AbortSignal): AsyncIterable<Buffer>;
  /** `cp`: a tar extracted into an existing directory of a container. */
  extractToContainer?(id: string, path: string, archive: NodeJS.ReadableStream, options: ExtractOptions): Promise<void>;

  listNetworks(labels: Record<string, string | true>): Promise<NetworkInfo[]>;
  inspectNetwork(name: string): Promise<NetworkInfo | null>;
  createNetwork(spec: NetworkSpec): Promise<string>;
  removeNetwork(name: string): Promise<void>;
  connectNetwork(network: string, container: string, endpoint: EndpointSpec): Promise<void>;
  disconnectNetwork(network: string, container: string, force?: boolean): Promise<void>;

  listVolumes(labels: Record<string, string | true>): Promise<VolumeInfo[]>;
  inspectVolume(name: string): Promise<VolumeInfo | null>;
  createVolume(spec: VolumeSpec): Promise<VolumeInfo>;
  removeVolume(name: string, force?: boolean): Promise<void>;

  events(filter: EventFilter): AsyncIterable<EngineEvent>;

  /** Releases connections (the process can exit). */
  close(): void;
}
