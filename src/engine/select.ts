/**
 * Which engine a command talks to: `--engine`, else FLOTILLA_ENGINE, else Docker when -H or
 * DOCKER_HOST names one, else the embedded engine (Flotilla's own daemon, started when needed).
 */
import { UsageError } from '../errors.js';
import type { Engine } from '../contract/engine.js';

export type EngineKind = 'docker' | 'embedded';

export interface EngineOptions {
  engine?: string | undefined;
  host?: string | undefined;
  env: Readonly<Record<string, string | undefined>>;
  /** Start the embedded engine's daemon when it is not running (default true). */
  autostart?: boolean;
}

export function engineKind(options: EngineOptions): EngineKind {
  const chosen = options.engine ?? options.env['FLOTILLA_ENGINE'];
  if (chosen !== undefined && chosen !== '') {
    if (chosen !== 'docker' && chosen !== 'embedded') throw new UsageError(`unknown engine "${chosen}" (use docker or embedded)`);
    return chosen;
  }
  if ((options.host !== undefined && options.host !== '') || (options.env['DOCKER_HOST'] ?? '') !== '') return 'docker';
  return 'embedded';
}

export async function openEngine(options: EngineOptions): Promise<Engine> {
  const kind = engineKind(options);
  if (kind === 'embedded') {
    const { openEmbeddedEngine, connectEmbeddedEngine, daemonNotRunning } = await import('./embedded/index.js');
    if (options.autostart !== false) return openEmbeddedEngine({ env: options.env });
    const running = await connectEmbeddedEngine({ env: options.env });
    if (!running) throw daemonNotRunning(options.env);
    return running;
  }
  const { openDockerEngine } = await import('./docker/index.js');
  return openDockerEngine({ host: options.host, env: options.env });
}
