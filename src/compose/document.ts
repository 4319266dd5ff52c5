/**
 * The Compose-shaped document the compiler resolves a project to: what `config` prints, what the
 * config hash is computed from and what `bundle` converts. A v1 file, a v3 file and a .dab bundle
 * all end up as a ComposeProject; its last stage (./emit/) turns it into the typed Deployment
 * (src/model/) that everything after the compiler reads.
 *
 * Services keep Compose's key names, in the canonical shapes docker-compose 1.29.2 normalises them
 * to (ports and volumes parsed, env_file folded into environment, paths absolute, depends_on a
 * mapping, ...), because `config` prints them so and docker-compose hashes them so.
 */

export type EnvValue = string | number | null;

export interface ComposePort {
  target: number;
  /** A host port, or a range "8000-8010" when several host ports serve one container port. */
  published?: number | string;
  protocol?: string;
  mode?: string;
  host_ip?: string;
  /** The Compose Specification's long-form `name` and `app_protocol` (version-less files). */
  name?: string;
  app_protocol?: string;
}

export interface ComposeVolumeEntry {
  type: string;
  /** Host path for binds, volume name for named volumes; absent for anonymous volumes and tmpfs. */
  source?: string;
  target: string;
  read_only?: boolean;
  consistency?: string;
  bind?: { propagation?: string } & Record<string, unknown>;
  volume?: { nocopy?: boolean } & Record<string, unknown>;
  tmpfs?: { size?: number } & Record<string, unknown>;
  /** Set when written in short syntax ("src:dst:mode"); the mode as written ("rw", "ro", "ro,z", ...). */
  shortMode?: string;
}

export interface ComposeVolumesFrom {
  type: 'service' | 'container';
  source: string;
  mode: string;
}

export interface ComposeDependsOn {
  condition: 'service_started' | 'service_healthy' | 'service_completed_successfully';
  /** Compose Specification: restart this service when the dependency is restarted or recreated. */
  restart?: boolean;
  required?: boolean;
}

export interface ComposeServiceNetwork {
  aliases?: string[];
  ipv4_address?: string;
  ipv6_address?: string;
  link_local_ips?: string[];
  priority?: number;
}

export interface ComposeFileReference {
  source: string;
  target?: string;
  uid?: string;
  gid?: string;
  mode?: number;
}

export interface ComposeBuild {
  /** Absolute path, or a URL (git, http) used as given. */
  context?: string;
  dockerfile?: string;
  args?: Record<string, string>;
  labels?: Record<string, string>;
  cache_from?: string[];
  network?: string;
  target?: string;
  shm_size?: number | string;
  extra_hosts?: Record<string, string>;
  isolation?: string;
  [extension: `x-${string}`]: unknown;
}

export interface ComposeHealthcheck {
  test?: string | string[];
  /** Durations in nanoseconds. */
  interval?: number;
  timeout?: number;
  start_period?: number;
  /** Compose Specification: the interval during the start period. */
  start_interval?: number;
  retries?: number;
  [extension: `x-${string}`]: unknown;
}

export interface ComposeLogging {
  driver?: string;
  options?: Record<string, string | number | null>;
}

export interface ComposeUlimit {
  soft: number;
  hard: number;
}

/** A service, keyed like Compose; keys not listed here (cgroup_parent, blkio_config, x-*, ...) stay untyped. */
export interface ComposeService {
  name: string;
  image?: string;
  build?: ComposeBuild;
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, EnvValue>;
  labels?: Record<string, string>;
  ports?: ComposePort[];
  expose?: string[];
  volumes?: ComposeVolumeEntry[];
  volumes_from?: ComposeVolumesFrom[];
  depends_on?: Record<string, ComposeDependsOn>;
  links?: string[];
  external_links?: string[];
  networks?: Record<string, ComposeServiceNetwork | null>;
  network_mode?: string;
  pid?: string | null;
  ipc?: string;
  healthcheck?: ComposeHealthcheck;
  restart?: string;
  logging?: ComposeLogging;
  container_name?: string;
  hostname?: string;
  domainname?: string;
  user?: string;
  working_dir?: string;
  stop_signal?: string;
  stop_grace_period?: string;
  init?: boolean;
  privileged?: boolean;
  read_only?: boolean;
  stdin_open?: boolean;
  tty?: boolean;
  cap_add?: string[];
  cap_drop?: string[];
  devices?: string[];
  dns?: string[];
  dns_search?: string[];
  dns_opt?: string[];
  extra_hosts?: Record<string, string> | string[];
  tmpfs?: string[];
  sysctls?: Record<string, string>;
  ulimits?: Record<string, number | ComposeUlimit>;
  security_opt?: string[];
  mem_limit?: number | string;
  memswap_limit?: number | string;
  mem_reservation?: number | string;
  shm_size?: number | string;
  cpus?: number | string;
  cpu_shares?: number | string;
  pids_limit?: number | string;
  scale?: number;
  profiles?: string[];
  secrets?: ComposeFileReference[];
  configs?: ComposeFileReference[];
  deploy?: Record<string, unknown> | null;
  [key: string]: unknown;
}

export interface ComposeNetwork {
  name?: string;
  driver?: string;
  driver_opts?: Record<string, string>;
  ipam?: Record<string, unknown>;
  external?: boolean;
  internal?: boolean;
  enable_ipv6?: boolean;
  attachable?: boolean;
  labels?: Record<string, string>;
  [key: string]: unknown;
}

export interface ComposeVolume {
  name?: string;
  driver?: string;
  driver_opts?: Record<string, string>;
  external?: boolean;
  labels?: Record<string, string>;
  [key: string]: unknown;
}

export interface ComposeSecret {
  name?: string;
  file?: string;
  external?: boolean;
  labels?: Record<string, string>;
  [key: string]: unknown;
}

/** The file format family a project was written in. */
export type FormatFamily = 'v1' | 'v2' | 'v3' | 'spec';

export interface ComposeProject {
  name: string;
  /** Absolute directory relative paths were resolved against. */
  workingDir: string;
  /** Absolute paths of the files, in the order they were merged ("-" for standard input). */
  configFiles: string[];
  /** `--env-file` as given, when one was. */
  environmentFile?: string;
  format: FormatFamily;
  /** The `version` `config` prints: the first file's own string, "1" for v1, "3.9" when absent. */
  version: string;
  /** In dependency order: a service comes after everything it depends on. */
  services: ComposeService[];
  networks: Record<string, ComposeNetwork>;
  volumes: Record<string, ComposeVolume>;
  secrets: Record<string, ComposeSecret>;
  configs: Record<string, ComposeSecret>;
  /** Top-level `x-` keys of version-less files, which `config` prints as Compose v2 does. */
  extensions?: Record<string, unknown>;
}

