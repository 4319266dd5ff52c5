/**
 * A compiled stack: everything `stack deploy` creates or updates, in engine-neutral specs
 * (src/contract/swarm.ts), plus what must already exist (external networks, secrets, configs).
 */
import type { ConfigSpec, NetworkSpec, SecretSpec, ServiceSpec } from '../contract/swarm.js';
import type { Diagnostics } from '../diagnostics.js';
import type { SourceLocation } from '../errors.js';
import type { ComposeProject } from '../compose/document.js';

export interface StackService {
  /** The name inside the stack (`web`); spec.name is the swarm's (`mystack_web`). */
  name: string;
  spec: ServiceSpec;
  /** Services of the stack this one waits for under `--ordered`. */
  dependsOn: string[];
}

export interface StackSpec {
  name: string;
  /** Sorted by name; `--ordered` walks them in dependency order instead. */
  services: StackService[];
  networks: NetworkSpec[];
  /** Networks services attach to that the stack does not create; checked to exist (swarm scope). */
  externalNetworks: string[];
  secrets: SecretSpec[];
  externalSecrets: string[];
  configs: ConfigSpec[];
  externalConfigs: string[];
}

/** A problem in one service's definition: its key path inside the service, for the location. */
export class ServiceDefinitionError extends Error {
  constructor(
    readonly service: string,
    readonly keyPath: (string | number)[],
    message: string,
  ) {
    super(message);
  }
}

/** What converting one service needs besides the service. */
export interface ServiceContext {
  stack: string;
  project: ComposeProject;
  diagnostics: Diagnostics;
  /** Where a key of a service is written, for warnings. */
  locate: (service: string, keyPath: (string | number)[]) => SourceLocation;
}
