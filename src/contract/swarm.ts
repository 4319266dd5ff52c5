/**
 * A swarm as the stack commands see it: services, tasks, nodes, networks, secrets and configs, in
 * engine-neutral terms (swarmkit's vocabulary, camelCase, durations in nanoseconds, sizes in
 * bytes). The Docker backend (engine/docker/swarm) speaks it to Docker Swarm through the Engine
 * API; an embedded swarm core can implement the same interface. Objects are named by name in specs
 * (networks, secrets, configs): a backend resolves names to its own ids.
 */

export type Labels = Record<string, string>;

/** Durations in nanoseconds. */
export type Nanoseconds = number;

// ---------------------------------------------------------------- specs (what is asked for)

export interface ServiceSpec {
  name: string;
  labels: Labels;
  task: TaskSpec;
  mode: ServiceMode;
  update?: UpdatePolicy;
  rollback?: UpdatePolicy;
  endpoint?: EndpointSpec;
}

export type ServiceMode =
  /** `replicas` absent: the swarm's default (1). */
  | { kind: 'replicated'; replicas?: number }
  | { kind: 'global' }
  | { kind: 'replicated-job'; maxConcurrent?: number; totalCompletions?: number }
  | { kind: 'global-job' };

export interface TaskSpec {
  container: ContainerSpec;
  resources?: ResourceRequirements;
  restart?: RestartPolicy;
  placement?: Placement;
  networks?: NetworkAttachment[];
  logDriver?: { name: string; options?: Labels };
  /** A counter: a change forces the tasks to be replaced. */
  forceUpdate?: number;
}

export interface ContainerSpec {
  image: string;
  labels?: Labels;
  /** Replaces the image's entrypoint. */
  command?: string[];
  /** Replaces the image's command. */
  args?: string[];
  hostname?: string;
  /** `NAME=value`, or `NAME` alone for a variable the task gets from nowhere (left unset). */
  env?: string[];
  dir?: string;
  user?: string;
  groups?: string[];
  credentialSpec?: { config?: string; file?: string; registry?: string };
  init?: boolean;
  stopSignal?: string;
  stopGracePeriod?: Nanoseconds;
  tty?: boolean;
  openStdin?: boolean;
  readOnly?: boolean;
  mounts?: Mount[];
  healthcheck?: Healthcheck;
  /** `IP hostname...` lines for /etc/hosts. */
  hosts?: string[];
  dns?: { nameservers?: string[]; search?: string[]; options?: string[] };
  secrets?: FileReference[];
  configs?: FileReference[];
  isolation?: string;
  sysctls?: Labels;
  capabilityAdd?: string[];
  capabilityDrop?: string[];
  ulimits?: { name: string; soft: number; hard: number }[];
  oomScoreAdj?: number;
}

export type Mount =
  | { type: 'bind'; source: string; target: string; readOnly?: boolean; consistency?: string; propagation?: string }
  | {
      type: 'volume';
      /** Absent for an anonymous volume. */
      source?: string;
      target: string;
      readOnly?: boolean;
      consistency?: string;
      noCopy?: boolean;
      /** Labels and driver of the volume the swarm creates on each node where it is missing. */
      volumeLabels?: Labels;
      driver?: { name: string; options?: Labels };
    }
  | { type: 'tmpfs'; target: string; readOnly?: boolean; consistency?: string; sizeBytes?: number; mode?: number };

export interface Healthcheck {
  /** ["NONE"], ["CMD", ...] or ["CMD-SHELL", "..."]; absent: the image's test with these timings. */
  test?: string[];
  interval?: Nanoseconds;
  timeout?: Nanoseconds;
  startPeriod?: Nanoseconds;
  startInterval?: Nanoseconds;
  retries?: number;
}

/** A secret or config made a file in the task's containers. */
export interface FileReference {
  /** The secret's or config's name in the swarm. */
  source: string;
  /** Path (or, for secrets, a name under /run/secrets). */
  target: string;
  uid: string;
  gid: string;
  mode: number;
}

export interface ResourceRequirements {
  limits?: { nanoCpus?: number; memoryBytes?: number; pids?: number };
  reservations?: { nanoCpus?: number; memoryBytes?: number; generic?: { kind: string; value: number }[] };
}

export type RestartCondition = 'none' | 'on-failure' | 'any';

export interface RestartPolicy {
  condition?: RestartCondition;
  delay?: Nanoseconds;
  /** 0: no limit. */
  maxAttempts?: number;
  window?: Nanoseconds;
}

export interface Placement {
  constraints?: string[];
  /** Spread descriptors (`node.labels.zone`), in decreasing precedence. */
  spread?: string[];
  maxReplicas?: number;
  platforms?: { os: string; architecture: string }[];
}

export interface NetworkAttachment {
  /** The network's name in the swarm. */
  target: string;
  aliases?: string[];
  driverOpts?: Labels;
}

export interface UpdatePolicy {
  /** 0: all at once. */
  parallelism: number;
  delay?: Nanoseconds;
  failureAction?: 'pause' | 'continue' | 'rollback' | '';
  monitor?: Nanoseconds;
  maxFailureRatio?: number;
  order?: 'stop-first' | 'start-first' | '';
}

export interface PortConfig {
  protocol: 'tcp' | 'udp' | 'sctp';
  target: number;
  /** Absent: the swarm picks one (ingress mode). */
  published?: number;
  mode: 'ingress' | 'host';
}

export interface EndpointSpec {
  mode?: 'vip' | 'dnsrr';
  ports?: PortConfig[];
}

export interface NetworkSpec {
  name: string;
  labels: Labels;
  /** Default: overlay. */
  driver?: string;
  options?: Labels;
  internal?: boolean;
  attachable?: boolean;
  ipam?: { driver?: string; subnets: string[] };
}

export interface SecretSpec {
  name: string;
  labels: Labels;
  data: Buffer;
  driver?: { name: string; options?: Labels };
  templateDriver?: string;
}

export type ConfigSpec = Omit<SecretSpec, 'driver'>;

export interface NodeSpec {
  name?: string;
  labels: Labels;
  role: 'manager' | 'worker';
  availability: 'active' | 'pause' | 'drain';
}

// ---------------------------------------------------------------- observed objects

export interface Meta {
  id: string;
  /** The object's version: an update must name the version it was based on. */
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface Service extends Meta {
  spec: ServiceSpec;
  previousSpec?: ServiceSpec;
  /** Ports as the swarm published them (ingress ports it picked included). */
  endpointPorts: PortConfig[];
  /** endpoint_mode vip: the service's address on each of its networks (`10.0.1.2/24`). */
  virtualIps?: { networkId: string; addr: string }[];
  updateStatus?: { state: UpdateState; message?: string; startedAt?: string; completedAt?: string };
  /** Jobs: which run of the job this is (0 at creation, one more per update) and when it started. */
  jobStatus?: { iteration: number; lastExecution: string };
  /** Tasks running and wanted, as the managers count them. */
  status?: { running: number; desired: number; completed?: number };
}

export type UpdateState = 'updating' | 'paused' | 'completed' | 'rollback_started' | 'rollback_paused' | 'rollback_completed';

/** Task states, in the order a task moves through them. */
export const TASK_STATES = [
  'new',
  'pending',
  'assigned',
  'accepted',
  'preparing',
  'ready',
  'starting',
  'running',
  'complete',
  'shutdown',
  'failed',
  'rejected',
  'remove',
  'orphaned',
] as const;
export type TaskState = (typeof TASK_STATES)[number];

/** Whether a task in this state is over (it will never run again). */
export function isTerminal(state: TaskState): boolean {
  return TASK_STATES.indexOf(state) > TASK_STATES.indexOf('running');
}

export interface Task extends Meta {
  serviceId: string;
  /** Replicated services number their tasks; global ones have none (0). */
  slot: number;
  nodeId: string;
  desiredState: TaskState;
  state: TaskState;
  /** When the task entered its state. */
  timestamp: string;
  message: string;
  error?: string;
  exitCode?: number;
  containerId?: string;
  image: string;
  /** Host-mode ports the task published. */
  ports: PortConfig[];
  /** The service's task spec the task was made from (compare with the service's to see if it is current). */
  spec: TaskSpec;
}

export interface Node extends Meta {
  spec: NodeSpec;
  hostname: string;
  platform: { os: string; architecture: string };
  engineVersion: string;
  state: 'unknown' | 'down' | 'ready' | 'disconnected';
  addr: string;
  manager?: { leader: boolean; reachability: string; addr: string };
  resources: { nanoCpus: number; memoryBytes: number };
  tlsStatus?: string;
}

export interface Network {
  id: string;
  name: string;
  driver: string;
  scope: string;
  labels: Labels;
  options: Labels;
  internal: boolean;
  attachable: boolean;
  subnets: string[];
}

export interface StoredObject extends Meta {
  name: string;
  labels: Labels;
  /** Absent when the swarm does not return it (secrets). */
  data?: Buffer;
  driver?: string;
  templateDriver?: string;
}

export interface ClusterInfo {
  /** This engine takes part in a swarm and manages it. */
  manager: boolean;
  nodeId: string;
  /** Why it cannot be used, when it cannot (not in a swarm, a worker). */
  problem?: string;
}

// ---------------------------------------------------------------- the interface

export interface ListFilter {
  /** `key=value` or `key`: objects whose labels match (all of them). */
  labels?: string[];
  names?: string[];
  ids?: string[];
}

export interface TaskFilter {
  services?: string[];
  nodes?: string[];
  desiredStates?: ('running' | 'shutdown' | 'accepted')[];
  labels?: string[];
}

export interface WriteOptions {
  /** Send the user's credentials for the image's registry along, for the nodes to pull with. */
  sendRegistryAuth?: boolean;
}

export interface ServiceLogOptions {
  follow?: boolean;
  tail?: number;
  timestamps?: boolean;
  since?: string;
  signal?: AbortSignal;
}

export interface ServiceLogLine {
  serviceId: string;
  taskId: string;
  nodeId: string;
  stream: 'stdout' | 'stderr';
  /** RFC 3339, when asked for. */
  time?: string;
  text: string;
}

/** Where an image lives, as a registry describes it (for pinning images by digest). */
export interface ImageDistribution {
  digest: string;
  platforms: { os: string; architecture: string }[];
}

export interface SwarmCluster {
  /** How messages name the cluster: `unix:///var/run/docker.sock`. */
  readonly address: string;
  info(): Promise<ClusterInfo>;

  /**
   * The spec as this swarm can keep it, and the fields it cannot (an older API drops them on
   * create, so a plan comparing against them would update the service on every deploy).
   */
  storable(spec: ServiceSpec): Promise<{ spec: ServiceSpec; dropped: string[] }>;

  listServices(filter?: ListFilter): Promise<Service[]>;
  inspectService(idOrName: string): Promise<Service | null>;
  createService(spec: ServiceSpec, options?: WriteOptions): Promise<{ id: string; warnings: string[] }>;
  /** Replaces the service's spec; fails (conflict) when `version` is no longer the service's. */
  updateService(id: string, version: number, spec: ServiceSpec, options?: WriteOptions): Promise<{ warnings: string[] }>;
  /** Goes back to the previous spec (the swarm keeps one). */
  rollbackService(id: string, version: number): Promise<{ warnings: string[] }>;
  removeService(id: string): Promise<void>;
  serviceLogs(serviceId: string, options: ServiceLogOptions): AsyncIterable<ServiceLogLine>;

  listTasks(filter?: TaskFilter): Promise<Task[]>;

  listNodes(filter?: ListFilter): Promise<Node[]>;
  inspectNode(idOrName: string): Promise<Node | null>;
  updateNode(id: string, version: number, spec: NodeSpec): Promise<void>;

  listNetworks(filter?: ListFilter): Promise<Network[]>;
  inspectNetwork(idOrName: string): Promise<Network | null>;
  createNetwork(spec: NetworkSpec): Promise<string>;
  removeNetwork(id: string): Promise<void>;

  listSecrets(filter?: ListFilter): Promise<StoredObject[]>;
  createSecret(spec: SecretSpec): Promise<string>;
  updateSecret(id: string, version: number, spec: SecretSpec): Promise<void>;
  removeSecret(id: string): Promise<void>;

  listConfigs(filter?: ListFilter): Promise<StoredObject[]>;
  createConfig(spec: ConfigSpec): Promise<string>;
  updateConfig(id: string, version: number, spec: ConfigSpec): Promise<void>;
  removeConfig(id: string): Promise<void>;

  /**
   * A service, task or node exactly as the backend's own API shows it (for `inspect`: Docker's
   * JSON on Docker), or null when there is none.
   */
  inspectRaw(kind: 'service' | 'task' | 'node', idOrName: string): Promise<unknown>;

  /** The image's digest and platforms from its registry; null when no registry can be asked. */
  distribution(image: string, options?: WriteOptions): Promise<ImageDistribution | null>;

  close(): void;
}
