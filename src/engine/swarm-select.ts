/**
 * The swarm a stack command talks to. Stacks run on Docker Swarm through a manager's Engine API
 * (`--engine docker`, `-H`, DOCKER_HOST); the embedded engine has no swarm of its own yet.
 */
import { UsageError } from '../errors.js';
import type { SwarmCluster } from '../contract/swarm.js';
import { engineKind, type EngineOptions } from './select.js';

export async function openSwarm(options: EngineOptions): Promise<SwarmCluster> {
  if (engineKind(options) === 'embedded') {
    throw new UsageError('stacks run on Docker Swarm: name a swarm manager with --engine docker, -H or DOCKER_HOST (the embedded engine has no swarm yet)');
  }
  const { DockerSwarm } = await import('./docker/swarm/cluster.js');
  return new DockerSwarm({ host: options.host, env: options.env });
}
