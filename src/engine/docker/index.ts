/** The Docker backend's entry point (loaded on demand by ../select.ts). */
import type { Engine } from '../../contract/engine.js';
import { DockerEngine, type DockerEngineOptions } from './docker-engine.js';

export { DockerEngine, type DockerEngineOptions };

/**
 * A Docker engine for `-H` / DOCKER_HOST and the TLS variables. The version negotiation starts at
 * once, so the connection is ready by the time the caller has planned its first call.
 */
export function openDockerEngine(options: { host?: string | undefined; env?: Readonly<Record<string, string | undefined>> }): Engine {
  const engineOptions: DockerEngineOptions = {};
  if (options.host !== undefined) engineOptions.host = options.host;
  if (options.env !== undefined) engineOptions.env = options.env;
  const engine = new DockerEngine(engineOptions);
  engine.warmUp();
  return engine;
}
