/**
 * Opening the embedded engine, starting `flotilla daemon` when its socket does not answer.
 *
 * The daemon is this installation's own bin/flotilla.js run by this node binary, detached in its
 * own session (a Ctrl-C in the user's terminal does not reach it), its output appended to its
 * log. The CLI then waits for the socket to answer. Two CLIs may start a daemon at once: the
 * contract with `flotilla daemon` is that it takes the pid-file lock and, when another live daemon
 * holds it, exits 0 without a word; so the loser's CLI just goes on waiting for the socket, which
 * the winner serves. A daemon that exits with a failure, or does not answer in time, is reported
 * with the path of its log and its last lines.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readSync, fstatSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DAEMON_NODE_OPTIONS, daemonLocation, type DaemonLocation } from '../../contract/location.js';
import { packageRoot } from '../../util/package-root.js';
import { EngineError } from '../../contract/errors.js';
import { EmbeddedEngine } from './client.js';
import { probeSocket } from '../../contract/probe.js';

export interface OpenEmbeddedOptions {
  env: Readonly<Record<string, string | undefined>>;
  /** How long a daemon started here has to answer, in milliseconds (default 10 000). */
  startTimeoutMs?: number;
  /** The user deciding whether a daemon may be started (default: this process's). */
  uid?: number;
}

/**
 * Names the script run as `flotilla daemon` (default: this installation's bin/flotilla.js); tests
 * point it at a stand-in daemon.
 */
export const DAEMON_ENTRY_VARIABLE = 'FLOTILLA_DAEMON_ENTRY';

const NEEDS_ROOT = 'the embedded engine needs root; run with sudo or use --engine docker';

export async function openEmbeddedEngine(options: OpenEmbeddedOptions): Promise<EmbeddedEngine> {
  const running = await connectEmbeddedEngine(options);
  if (running) return running;
  const paths = daemonLocation(options.env);
  if ((options.uid ?? process.getuid?.()) !== 0) {
    throw new EngineError('unreachable', `${NEEDS_ROOT} (no Flotilla daemon answers at ${paths.socket}, and only root can start one)`);
  }
  await startDaemon(paths, options);
  return new EmbeddedEngine(paths.socket);
}

/**
 * The running daemon, never a new one: null when none answers. A socket this user may not open
 * is an error, not "not running".
 */
export async function connectEmbeddedEngine(options: { env: Readonly<Record<string, string | undefined>> }): Promise<EmbeddedEngine | null> {
  const paths = daemonLocation(options.env);
  const refused = await probeSocket(paths.socket);
  // ETIMEDOUT: a daemon is there but slow to accept; its calls will tell.
  if (refused === null || refused === 'ETIMEDOUT') return new EmbeddedEngine(paths.socket);
  if (refused === 'EACCES' || refused === 'EPERM') {
    throw new EngineError('unreachable', `cannot reach the Flotilla daemon at ${paths.socket}: permission denied; ${NEEDS_ROOT}`);
  }
  return null;
}

/** What a command that will not start the daemon says when none runs. */
export function daemonNotRunning(env: Readonly<Record<string, string | undefined>>): EngineError {
  return new EngineError('unreachable', `the Flotilla daemon is not running (no answer on ${daemonLocation(env).socket})`);
}

async function startDaemon(paths: DaemonLocation, options: OpenEmbeddedOptions): Promise<void> {
  const entry = options.env[DAEMON_ENTRY_VARIABLE] || join(packageRoot(), 'bin', 'flotilla.js');
  mkdirSync(dirname(paths.log), { recursive: true, mode: 0o711 });
  const logFd = openSync(paths.log, 'a', 0o640);
  // What this daemon writes starts here (the log keeps earlier daemons' lines).
  const logStart = fstatSync(logFd).size;
  let exit: string | undefined;
  try {
    const child = spawn(process.execPath, [...DAEMON_NODE_OPTIONS, entry, 'daemon'], {
      detached: true,
      stdio: ['ignore', logFd, logFd],
      env: { ...options.env },
      cwd: '/',
    });
    child.once('error', (e) => (exit = e.message));
    child.once('exit', (code, signal) => {
      // 0: another daemon holds the lock, and serves (or is about to).
      if (code !== 0) exit = signal ? `was killed by ${signal}` : `exited with status ${code}`;
    });
    child.unref();
  } finally {
    closeSync(logFd);
  }

  const timeoutMs = options.startTimeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  for (let delay = 10; ; delay = Math.min(delay * 2, 250)) {
    if ((await probeSocket(paths.socket, 500)) === null) return;
    if (exit !== undefined) throw notStarted(paths, logStart, `flotilla daemon ${exit}`);
    if (Date.now() >= deadline) throw notStarted(paths, logStart, `no answer on ${paths.socket} after ${timeoutMs / 1000} s`);
    await sleep(Math.min(delay, Math.max(1, deadline - Date.now())));
  }
}

function notStarted(paths: DaemonLocation, logStart: number, why: string): EngineError {
  const last = lastLines(paths.log, logStart);
  return new EngineError('unreachable', `the Flotilla daemon did not start (${why}); see its log, ${paths.log}${last ? `, which ends: ${last}` : ''}`);
}

/**
 * The last few telling lines this daemon logged (after `start`, 8 KiB at most), on one line: a
 * crash's stack frames, the caret under its source line and node's closing "Node.js v20…" say
 * nothing, and are left out.
 */
function lastLines(file: string, start: number, count = 3): string | undefined {
  try {
    const fd = openSync(file, 'r');
    try {
      const size = fstatSync(fd).size;
      const buffer = Buffer.alloc(Math.max(0, Math.min(size - start, 8192)));
      readSync(fd, buffer, 0, buffer.length, size - buffer.length);
      const telling = buffer
        .toString('utf8')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '' && !/^at /.test(l) && !/^Node\.js v\d/.test(l) && !/^[\^~\s]+$/.test(l));
      const text = telling.slice(-count).join(' | ');
      if (text === '') return undefined;
      return text.length > 400 ? `…${text.slice(-400)}` : text;
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
}
