/**
 * `flotilla daemon`: the embedded engine's process. Checks the host, takes the pid-file lock
 * (a second daemon on the same state root exits 0: the CLIs that raced to start it just use the
 * winner), re-adopts what the previous daemon left, then serves the gRPC API on a unix socket.
 * SIGTERM/SIGINT stop the daemon and leave every container running.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import type { DaemonBackend } from '../contract/backend.js';
import { DaemonStartError } from './errors.js';
import { acquirePidLock } from './lock.js';
import { daemonPaths, type DaemonPaths } from './paths.js';


/** What the daemon runs: built by ./assemble.ts from the real parts. */
export interface AssembledDaemon {
  backend: DaemonBackend;
  /** Periodic work (log rotation); called every few seconds, never concurrently. */
  tick(): Promise<void>;
  /** Stops timers, DNS listeners and watchers; containers, bridges and rules stay. */
  close(): Promise<void>;
}

export interface DaemonHooks {
  /** Names each missing host dependency with its Debian package. */
  checkHost(paths: DaemonPaths, log: (line: string) => void): Promise<string[]>;
  assemble(paths: DaemonPaths, log: (line: string) => void, requestShutdown: () => void): Promise<AssembledDaemon>;
  serve(backend: DaemonBackend, socketPath: string): Promise<{ close(): Promise<void> }>;
}

const TICK_MS = 2000;

export async function runDaemon(env: Readonly<Record<string, string | undefined>>, hooks: DaemonHooks): Promise<number> {
  if (process.getuid?.() !== 0) throw new DaemonStartError('flotilla daemon must run as root');
  const paths = daemonPaths(env);
  for (const dir of [paths.root, paths.run]) mkdirSync(dir, { recursive: true, mode: 0o711 });
  const logFile = createWriteStream(paths.log, { flags: 'a', mode: 0o600 });
  const log = logger(logFile);

  const lock = await acquirePidLock(paths.pidFile);
  if (!lock.acquired) {
    log(`another daemon (pid ${lock.holder}) serves ${paths.root}; exiting`);
    await closeStream(logFile);
    return 0;
  }
  try {
    const missing = await hooks.checkHost(paths, log);
    if (missing.length > 0) throw new DaemonStartError(`missing on this host: ${missing.join('; ')}`);

    let stopping: (() => void) | null = null;
    const stopped = new Promise<void>((resolve) => (stopping = resolve));
    const requestShutdown = () => stopping?.();
    const daemon = await hooks.assemble(paths, log, requestShutdown);
    // A daemon that cannot serve must not keep its DNS listeners and watchers (the process would
    // stay up with nothing to answer).
    const server = await hooks.serve(daemon.backend, paths.socket).catch(async (e: unknown) => {
      await daemon.close();
      throw e;
    });
    log(`flotilla daemon ${process.pid} serving ${paths.socket} (state ${paths.root})`);

    process.once('SIGTERM', requestShutdown);
    process.once('SIGINT', requestShutdown);
    let ticking = false;
    const timer = setInterval(() => {
      if (ticking) return;
      ticking = true;
      daemon
        .tick()
        .catch((e: unknown) => log(`periodic work failed: ${(e as Error).message}`))
        .finally(() => (ticking = false));
    }, TICK_MS);

    await stopped;
    clearInterval(timer);
    log('stopping (containers keep running)');
    await server.close();
    await daemon.close();
    return 0;
  } catch (e) {
    log(`failed: ${(e as Error).message}`);
    throw e;
  } finally {
    await lock.release();
    await closeStream(logFile);
  }
}

function logger(file: WriteStream): (line: string) => void {
  const echo = process.stderr.isTTY;
  return (line) => {
    const text = `${new Date().toISOString()} ${line}\n`;
    file.write(text);
    if (echo) process.stderr.write(text);
  };
}

function closeStream(stream: WriteStream): Promise<void> {
  return new Promise((resolve) => stream.end(resolve));
}
