/**
 * A service's `deploy:` section, typed: what a swarm stack needs to make a Docker ServiceSpec
 * (mode, replicas, placement, resources, restart, update and rollback policies, endpoint mode),
 * and what `up` takes from it for containers (restart policy, memory and CPU limits, device
 * requests). Durations are nanoseconds, sizes bytes, CPUs nano-CPUs. A value that is absent here
 * was not written; defaults are the consumer's (Swarm's and docker-compose's differ).
 */

export interface Deploy {
  mode: 'replicated' | 'global';
  /** Written `replicas` (replicated mode). */
  replicas?: number;
  /** Labels of the service itself (not of its containers). */
  labels: Record<string, string>;
  endpointMode?: 'vip' | 'dnsrr';
  placement: Placement;
  resources: Resources;
  restartPolicy?: DeployRestartPolicy;
  updateConfig?: UpdateConfig;
  rollbackConfig?: UpdateConfig;
}

export interface Placement {
  /** As written: "node.role == manager", "node.labels.zone != b". */
  constraints: string[];
  preferences: { spread: string }[];
  maxReplicasPerNode?: number;
}

export interface Resources {
  limits?: ResourceLimits;
  reservations?: ResourceReservations;
}

export interface ResourceLimits {
  nanoCpus?: number;
  memoryBytes?: number;
  pids?: number;
}

export interface ResourceReservations {
  nanoCpus?: number;
  memoryBytes?: number;
  genericResources: GenericResource[];
  devices: DeviceRequest[];
}

/** A `discrete_resource_spec` (named, counted: "gpu" x 2). */
export interface GenericResource {
  kind: string;
  value: number;
}

export interface DeviceRequest {
  driver?: string;
  /** -1: all of them. */
  count?: number;
  deviceIds: string[];
  /** Docker groups capabilities in OR-ed lists; Compose writes one list, which is one group. */
  capabilities: string[];
  options: Record<string, string>;
}

export interface DeployRestartPolicy {
  condition: 'none' | 'on-failure' | 'any';
  delay?: number;
  maxAttempts?: number;
  window?: number;
}

export interface UpdateConfig {
  parallelism?: number;
  delay?: number;
  failureAction?: 'continue' | 'rollback' | 'pause';
  monitor?: number;
  maxFailureRatio?: number;
  order?: 'stop-first' | 'start-first';
}
