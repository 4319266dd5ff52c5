/**
 * Opening the swarm for a stack, service or node command: the engine chosen as for every command
 * (`--engine docker`, `-H`, DOCKER_HOST), checked to be a swarm manager first, closed when the
 * command ends.
 */
import type { SwarmCluster } from '../contract/swarm.js';
import { openSwarm } from '../engine/swarm-select.js';
import { FlotillaError } from '../errors.js';
import type { CliContext, GlobalOptions } from './context.js';

export async function withSwarm<T>(ctx: CliContext, global: GlobalOptions, fn: (cluster: SwarmCluster) => Promise<T>): Promise<T> {
  const cluster = await openSwarm({ engine: global.engine, host: global.host, env: ctx.env });
  try {
    const info = await cluster.info();
    if (info.problem) throw new FlotillaError(info.problem);
    return await fn(cluster);
  } finally {
    cluster.close();
  }
}

/** A boolean flag written Docker's way: `--detach`, `--detach=false`, `--detach=true`. */
export function parseBool(value: string | undefined): boolean {
  if (value === undefined) return true;
  const v = value.toLowerCase();
  if (['true', '1', 't', 'yes'].includes(v)) return true;
  if (['false', '0', 'f', 'no'].includes(v)) return false;
  throw new FlotillaError(`"${value}" is not true or false`);
}
