/**
 * A deployment: the typed model of a Compose project or a .dab bundle that every stage after the
 * compiler reads (plan/, execute/, the swarm stack compiler). Services are in dependency order;
 * networks, volumes, secrets and configs carry their engine names.
 */
import type { FileObject, Network, Volume } from './resources.js';
import type { Service } from './service.js';

export interface Deployment {
  /** The project (or stack) name. */
  name: string;
  /** Absolute directory relative paths were resolved against. */
  workingDir: string;
  /** Absolute paths of the files, in the order they were merged ("-" for standard input). */
  configFiles: string[];
  /** `--env-file` as given, when one was. */
  environmentFile?: string;
  /** v1 files: containers on the engine's default bridge, no project networks, volumes not prefixed. */
  legacy: boolean;
  /** In dependency order: a service comes after everything it depends on. */
  services: Service[];
  networks: Record<string, Network>;
  volumes: Record<string, Volume>;
  secrets: Record<string, FileObject>;
  configs: Record<string, FileObject>;
  /** What docker-compose's `config` accepts but its `up` refuses (config warns, up fails). */
  problems: DeployProblem[];
  /** Keys `config` prints that no engine acts on yet (up warns about each, where it is written). */
  notActedOn: DeployProblem[];
}

export interface DeployProblem {
  service: string;
  /** Key path inside the service, for locating the problem in its file. */
  keyPath: (string | number)[];
  message: string;
}
