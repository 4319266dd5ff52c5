/**
 * Where the CLI finds `flotilla daemon` and how it starts one: both sides of the socket derive it
 * from FLOTILLA_ROOT (default /var/lib/flotilla) and FLOTILLA_RUN (default /run/flotilla, or
 * <root>/run for another root), so a test daemon with its own root has its own socket.
 */
import { join, resolve } from 'node:path';

export const DEFAULT_ROOT = '/var/lib/flotilla';
const DEFAULT_RUN = '/run/flotilla';

export interface DaemonLocation {
  /** What survives a reboot. */
  root: string;
  /** What a reboot makes stale. */
  run: string;
  /** The gRPC socket. */
  socket: string;
  /** The running daemon's pid (and its lock: one daemon per root). */
  pidFile: string;
  /** The daemon's log (its stdout and stderr). */
  log: string;
}

export function daemonLocation(env: Readonly<Record<string, string | undefined>> = process.env): DaemonLocation {
  const root = resolve(env['FLOTILLA_ROOT'] || DEFAULT_ROOT);
  const run = resolve(env['FLOTILLA_RUN'] || (root === DEFAULT_ROOT ? DEFAULT_RUN : join(root, 'run')));
  return { root, run, socket: join(run, 'engine.sock'), pidFile: join(run, 'engine.pid'), log: join(root, 'daemon.log') };
}

/**
 * Node options `flotilla daemon` is started with: a small young generation and V8's
 * optimize-for-size keep a long-lived, mostly idle daemon's memory low (about 19 MB less with 30
 * containers than Node's defaults, docs/benchmarks.md), and one V8 worker thread instead of four
 * about 4 MB more (fewer threads, fewer malloc arenas; `up` no slower); the CLI's larger young
 * generation is for short bursts of parsing.
 */
export const DAEMON_NODE_OPTIONS: readonly string[] = ['--max-semi-space-size=1', '--optimize-for-size', '--v8-pool-size=1'];
