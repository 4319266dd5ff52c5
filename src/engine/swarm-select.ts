/**
 * The swarm a stack command talks to: Docker Swarm through a manager's Engine API (`--engine
 * docker`, `-H`, DOCKER_HOST), or the embedded engine's own one-node swarm core (the daemon
 * hosts it; started when needed, as for every embedded command).
 */
import type { SwarmCluster } from '../contract/swarm.js';
import { engineKind, type EngineOptions } from './select.js';

export async function openSwarm(options: EngineOptions): Promise<SwarmCluster> {
  if (engineKind(options) === 'embedded') {
    const [{ openEmbeddedEngine }, { EmbeddedSwarm }] = await Promise.all([import('./embedded/index.js'), import('./embedded/swarm.js')]);
    return new EmbeddedSwarm(await openEmbeddedEngine({ env: options.env }));
  }
  const { DockerSwarm } = await import('./docker/swarm/cluster.js');
  return new DockerSwarm({ host: options.host, env: options.env });
}
