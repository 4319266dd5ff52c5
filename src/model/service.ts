/**
 * One service of a deployment, typed: everything after the compiler reads this and never Compose
 * syntax. Durations are nanoseconds, sizes bytes, CPUs nano-CPUs, commands argv arrays, ports
 * numbers, mounts records; names of networks and volumes are the engine's. A v1 file, a v3 file,
 * the Compose Spec and a .dab bundle all end up as these types (src/compose/emit/).
 */
import type { Deploy } from './deploy.js';
import type { ConfigHashInput } from './hash-input.js';

export interface Service {
  name: string;
  /** The image it runs: `image`, else the one `build` makes (`<project>_<service>`). */
  image: string;
  /** Whether `image` was written (a built image without one is the project's own: `down --rmi local`). */
  imageDeclared: boolean;
  build?: Build;
  platform?: string;
  /** Containers `up` runs by default: `scale`, else `deploy.replicas` (capped by max_replicas_per_node), else 1. */
  scale: number;
  profiles: string[];
  /** What must be there before it, each kind once per service, in a stable order. */
  dependencies: Dependency[];
  containerName?: string;
  /** `provider.type`: a service Compose v2 runs through a plugin; `up` leaves it out. */
  provider?: string;

  /** Undefined: the image's. An empty list clears the image's entrypoint. */
  entrypoint?: string[];
  command?: string[];
  environment: EnvVar[];
  labels: Record<string, string>;
  workingDir?: string;
  user?: string;
  hostname?: string;
  domainname?: string;
  macAddress?: string;
  tty: boolean;
  stdinOpen: boolean;
  init?: boolean;
  privileged: boolean;
  readOnly: boolean;
  stopSignal?: string;
  /** Nanoseconds; undefined: the engine's default (10 s). */
  stopGracePeriod?: number;
  healthcheck?: Healthcheck;
  /** Compose Specification hooks: run in each container right after it starts, and before it is stopped. */
  postStart: LifecycleHook[];
  preStop: LifecycleHook[];
  /** `develop.watch`: what `watch` and `up --watch` do when files under a path change. */
  watch: WatchRule[];
  /** The `restart` key (for containers; `deploy.restartPolicy` is Swarm's, and wins for `up` too). */
  restart?: RestartSetting;
  logging?: Logging;

  ports: PortMapping[];
  /** Container ports exposed without publishing (`expose`, ranges expanded). */
  expose: ExposedPort[];
  networkMode: NetworkMode;
  /** Networks joined, in the order docker-compose attaches them (priority, else name); empty unless networkMode is 'networks'. */
  networks: ServiceNetwork[];
  links: Link[];
  externalLinks: Link[];
  dns: string[];
  dnsSearch: string[];
  dnsOptions: string[];
  extraHosts: HostEntry[];

  mounts: Mount[];
  /** `tmpfs:` entries: a target and mount options ("size=64k,mode=1777"), or "". */
  tmpfs: TmpfsMount[];
  volumesFrom: VolumesFrom[];
  secrets: FileReference[];
  configs: FileReference[];

  ipc?: NamespaceMode;
  pid?: NamespaceMode;
  usernsMode?: string;
  capAdd: string[];
  capDrop: string[];
  devices: Device[];
  deviceCgroupRules: string[];
  groupAdd: string[];
  securityOpt: SecurityOption[];
  sysctls: Record<string, string>;
  ulimits: Ulimit[];
  cgroupParent?: string;
  runtime?: string;
  isolation?: string;
  storageOpt?: Record<string, string>;
  credentialSpec?: CredentialSpec;
  limits: ContainerLimits;

  deploy?: Deploy;
  /** docker-compose's config hash input, the engine's facts left as holes (plan/config-hash.ts fills them). */
  configHash: ConfigHashInput;
}

export interface Dependency {
  /** The service that must be there first. */
  service: string;
  kind: 'depends_on' | 'links' | 'volumes_from' | 'network_mode' | 'pid' | 'ipc';
  /** What "there" means; always 'service_started' for kinds other than depends_on. */
  condition: 'service_started' | 'service_healthy' | 'service_completed_successfully';
}

export interface EnvVar {
  name: string;
  /** null: passed by name only (not set where the project was loaded). */
  value: string | null;
}

export interface Build {
  /** Absolute path, or a URL (git, http) used as given. */
  context: string;
  /** Relative to the context. */
  dockerfile: string;
  args: Record<string, string>;
  labels: Record<string, string>;
  cacheFrom: string[];
  network?: string;
  target?: string;
  shmSize?: number;
  extraHosts: HostEntry[];
  isolation?: string;
  /** Compose Specification `dockerfile_inline`: the Dockerfile's text (then `dockerfile` is unused). */
  dockerfileInline?: string;
  /** `tags`: names the image gets besides the service's image. */
  tags: string[];
  noCache: boolean;
  pull: boolean;
  /** `platforms` as written (os/arch[/variant]). */
  platforms: string[];
  /** `secrets`: top-level secrets for RUN --mount=type=secret, by id (the target, else the source). */
  secrets: BuildSecret[];
  /** `ssh`: agent sockets or key files for RUN --mount=type=ssh ("default": the agent of SSH_AUTH_SOCK). */
  ssh: { id: string; path?: string }[];
  /** `additional_contexts`: name → absolute directory, or a `docker-image://`/`service:`/URL source as written. */
  additionalContexts: Record<string, string>;
}

export interface BuildSecret {
  /** The key under the top-level `secrets:`. */
  source: string;
  /** What RUN --mount=type=secret,id=… names: `target` when given, else the source (Compose v2). */
  id: string;
}

export interface Healthcheck {
  /** ["NONE"], ["CMD", ...] or ["CMD-SHELL", "..."]; empty: the image's test. */
  test: string[];
  /** Nanoseconds; 0: the engine's default. */
  interval: number;
  timeout: number;
  startPeriod: number;
  /** Nanoseconds between probes during the start period; 0: `interval` throughout. */
  startInterval: number;
  retries: number;
}

/** A `post_start`/`pre_stop` hook: a command run in the container as an exec. */
export interface LifecycleHook {
  command: string[];
  user?: string;
  privileged: boolean;
  workingDir?: string;
  environment: EnvVar[];
}

export type WatchAction = 'sync' | 'rebuild' | 'restart' | 'sync+restart' | 'sync+exec';

/** One `develop.watch` rule. */
export interface WatchRule {
  /** Absolute host path watched (a directory or a file). */
  path: string;
  action: WatchAction;
  /** Where `path` is copied to in the containers (sync actions). */
  target?: string;
  /** Patterns (.dockerignore syntax) relative to `path`: changes matching one are left alone. */
  ignore: string[];
  /** Patterns relative to `path`: when any, only changes matching one count. */
  include: string[];
  /** Copy everything under `path` into the containers when watching starts (sync actions). */
  initialSync: boolean;
  /** `sync+exec`: the command run in each container after a sync. */
  exec?: LifecycleHook;
}

export interface RestartSetting {
  name: 'no' | 'always' | 'unless-stopped' | 'on-failure';
  maxRetries: number;
}

export interface Logging {
  driver?: string;
  options: Record<string, string>;
}

export type Protocol = 'tcp' | 'udp' | 'sctp';

export interface PortRange {
  start: number;
  end: number;
}

export interface PortMapping {
  target: number;
  protocol: Protocol;
  /** Host ports; undefined: one the engine picks. A range: any free one of it. */
  published?: PortRange;
  hostIp?: string;
  mode: 'ingress' | 'host';
}

export interface ExposedPort {
  port: number;
  protocol: Protocol;
}

export type NetworkMode =
  /** Joins `networks` (v2+). */
  | { kind: 'networks' }
  /** v1 files: the engine's default bridge. */
  | { kind: 'engine-default' }
  | { kind: 'host' }
  | { kind: 'none' }
  | { kind: 'bridge' }
  /** Shares the network of the first container of a service of the project. */
  | { kind: 'service'; service: string }
  | { kind: 'container'; container: string }
  /** A network of the engine named directly (`network_mode: mynet`). */
  | { kind: 'network'; network: string };

export interface ServiceNetwork {
  /** The key under the top-level `networks:`. */
  key: string;
  /** The engine's name for it. */
  name: string;
  aliases: string[];
  ipv4Address?: string;
  ipv6Address?: string;
  linkLocalIps: string[];
  priority?: number;
}

export interface Link {
  /** A service (links) or a container name (external_links). */
  target: string;
  alias?: string;
}

export interface HostEntry {
  host: string;
  ip: string;
}

export type Mount = BindMount | VolumeMount | TmpfsVolume;

interface MountBase {
  target: string;
  readOnly: boolean;
  consistency?: 'consistent' | 'cached' | 'delegated' | 'default';
  /** Written in short syntax ("src:dst:mode"): the engine creates a missing host path, as for `-v`. */
  short: boolean;
}

export interface BindMount extends MountBase {
  type: 'bind';
  /** Absolute host path. */
  source: string;
  propagation?: 'shared' | 'rshared' | 'slave' | 'rslave' | 'private' | 'rprivate';
  /** SELinux relabelling (`:z` shared, `:Z` private). */
  selinux?: 'z' | 'Z';
}

export interface VolumeMount extends MountBase {
  type: 'volume';
  /** The engine's volume name; undefined for an anonymous volume. */
  source?: string;
  /** The key under the top-level `volumes:` (named volumes of v2+ files). */
  key?: string;
  noCopy: boolean;
}

export interface TmpfsVolume extends MountBase {
  type: 'tmpfs';
  sizeBytes?: number;
}

export interface TmpfsMount {
  target: string;
  options: string;
}

export interface VolumesFrom {
  kind: 'service' | 'container';
  source: string;
  readOnly: boolean;
}

export interface FileReference {
  /** The key under the top-level `secrets:`/`configs:`. */
  source: string;
  /** As written; undefined: the source's name (secrets go under /run/secrets). */
  target?: string;
  uid?: string;
  gid?: string;
  mode?: number;
}

export type NamespaceMode = { kind: 'service'; service: string } | { kind: 'host' } | { kind: 'shareable' } | { kind: 'private' } | { kind: 'container'; container: string } | { kind: 'none' };

export interface Device {
  pathOnHost: string;
  pathInContainer: string;
  /** "rwm" unless written. */
  permissions: string;
}

/** A security option as the engine takes it; a seccomp profile file is read and sent inline. */
export interface SecurityOption {
  /** "no-new-privileges", "label=type:x", "seccomp=<profile JSON>", "apparmor=x". */
  value: string;
}

export interface Ulimit {
  name: string;
  soft: number;
  hard: number;
}

export type CredentialSpec = { kind: 'file'; value: string } | { kind: 'registry'; value: string } | { kind: 'config'; value: string };

/** Limits set on the service itself (`deploy.resources` is typed apart and wins for `up`). */
export interface ContainerLimits {
  memoryBytes?: number;
  memorySwapBytes?: number;
  memoryReservationBytes?: number;
  memorySwappiness?: number;
  shmSizeBytes?: number;
  nanoCpus?: number;
  cpuShares?: number;
  cpuQuota?: number;
  cpuPeriod?: number;
  cpuset?: string;
  cpuCount?: number;
  cpuPercent?: number;
  cpuRtPeriod?: number;
  cpuRtRuntime?: number;
  pids?: number;
  oomKillDisable?: boolean;
  oomScoreAdj?: number;
  blkio?: BlkioConfig;
}

export interface BlkioConfig {
  weight?: number;
  weightDevice: { path: string; weight: number }[];
  deviceReadBps: BlkioRate[];
  deviceWriteBps: BlkioRate[];
  deviceReadIops: BlkioRate[];
  deviceWriteIops: BlkioRate[];
}

export interface BlkioRate {
  path: string;
  rate: number;
}
