/**
 * What the daemon keeps per container (`containers/<id>/container.json`): the spec it was created
 * with, what was resolved at creation (image, mounts), and its current state. The daemon is the
 * only writer; every change is saved atomically before it is reported.
 */
import type { ContainerSpec, ContainerState, HealthcheckSpec, PortState } from '../../contract/engine.js';

export interface ResolvedMount {
  type: 'bind' | 'volume' | 'tmpfs';
  /** Volume name (volume mounts). */
  name?: string;
  /** Host path (bind and volume mounts). */
  source: string;
  target: string;
  readOnly: boolean;
  /** A volume made for this container (image VOLUME or a mount without a source). */
  anonymous?: boolean;
  noCopy?: boolean;
  propagation?: string;
  tmpfsOptions?: string[];
}

export interface HealthResult {
  start: string;
  end: string;
  exitCode: number;
  output: string;
}

export interface HealthState {
  status: 'starting' | 'healthy' | 'unhealthy';
  failingStreak: number;
  log: HealthResult[];
}

export interface EndpointState {
  ip: string;
  prefixLength: number;
  gateway: string;
  mac: string;
  aliases: string[];
  networkId: string;
}

export interface ContainerRuntimeState {
  status: ContainerState;
  pid: number;
  exitCode: number;
  oomKilled: boolean;
  error: string;
  startedAt: string;
  finishedAt: string;
  restartCount: number;
  /** Stopped by stop/kill (restart policies leave it alone until the next start). */
  stoppedByUser: boolean;
  health?: HealthState;
  /** Host paths of the network namespace in use ('host' for host networking). */
  sandbox?: string;
  endpoints: Record<string, EndpointState>;
  /** The host ports published while it runs. */
  ports: PortState[];
}

export interface ContainerRecord {
  id: string;
  name: string;
  created: string;
  spec: ContainerSpec;
  image: { id: string; reference: string };
  /** The image's healthcheck merged under the spec's; undefined when there is none or it is NONE. */
  healthcheck?: HealthcheckSpec;
  stopSignal: string;
  mounts: ResolvedMount[];
  state: ContainerRuntimeState;
}

export const NEVER = '0001-01-01T00:00:00Z';

export function freshState(): ContainerRuntimeState {
  return {
    status: 'created',
    pid: 0,
    exitCode: 0,
    oomKilled: false,
    error: '',
    startedAt: NEVER,
    finishedAt: NEVER,
    restartCount: 0,
    stoppedByUser: false,
    endpoints: {},
    ports: [],
  };
}
