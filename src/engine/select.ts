/**
 * Which engine a command talks to: `--engine`, else FLOTILLA_ENGINE, else Docker when -H or
 * DOCKER_HOST names one, else the default. Until the embedded engine lands, the default is the
 * Docker Engine on its usual socket.
 */
import { UsageError } from '../errors.js';
import type { Engine } from './engine.js';

export type EngineKind = 'docker' | 'embedded';

export interface EngineOptions {
  engine?: string | undefined;
  host?: string | undefined;
  env: Readonly<Record<string, string | undefined>>;
}

export function engineKind(options: EngineOptions): EngineKind {
  const chosen = options.engine ?? options.env['FLOTILLA_ENGINE'];
  if (chosen !== undefined && chosen !== '') {
    if (chosen !== 'docker' && chosen !== 'embedded') throw new UsageError(`unknown engine "${chosen}" (use docker or embedded)`);
    return chosen;
  }
  return 'docker';
}

export async function openEngine(options: EngineOptions): Promise<Engine> {
  const kind = engineKind(options);
  if (kind === 'embedded') {
    const { openEmbeddedEngine } = await import('./embedded/index.js');
    return openEmbeddedEngine({ env: options.env });
  }
  const { openDockerEngine } = await import('./docker/index.js');
  return openDockerEngine({ host: options.host, env: options.env });
}
