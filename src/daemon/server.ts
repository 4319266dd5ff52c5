/**
 * The daemon's gRPC server: the Engine service (proto/flotilla/engine/v2/engine.proto) on a unix
 * socket, each RPC calling the DaemonBackend (./rpc/handlers.ts). Nothing listens on TCP.
 *
 * The socket is mode 0660, owned by root (when the daemon is root): only root, and members of
 * group root, can drive the engine. A socket file left by a daemon that died is removed first;
 * one that still answers is another daemon's, and serving fails.
 */
import { DaemonStartError } from './errors.js';
import { chmodSync, chownSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { DaemonBackend } from '../contract/backend.js';
import { probeSocket } from '../contract/probe.js';
import { engineService, MAX_MESSAGE } from '../contract/protocol/service.js';
import { engineHandlers } from './rpc/handlers.js';
import type { Log } from './rpc/call.js';

export interface ServeOptions {
  /** Where unexpected backend failures are reported (default: stderr, which is the daemon's log). */
  log?: Log;
  /** The socket's mode (default 0o660). */
  mode?: number;
}

export interface DaemonServer {
  /**
   * Stops serving: new calls are refused, calls in progress get `graceMs` (default 2000) to end,
   * then are cancelled (which aborts the backend's signals and closes sessions). Removes the socket.
   */
  close(graceMs?: number): Promise<void>;
}

export async function serveDaemon(backend: DaemonBackend, socketPath: string, options: ServeOptions = {}): Promise<DaemonServer> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  await removeStaleSocket(socketPath);
  mkdirSync(dirname(socketPath), { recursive: true, mode: 0o755 });

  const server = new Server({ 'grpc.max_receive_message_length': MAX_MESSAGE, 'grpc.max_send_message_length': MAX_MESSAGE });
  server.addService(engineService().definition, engineHandlers(backend, log));
  // The socket is made with the process's umask; others get no access to it even before the
  // chmod below. (The bind is the daemon's first act, before anything else makes files.)
  const umask = process.umask(process.umask() | 0o007);
  try {
    await new Promise<void>((resolve, reject) => {
      server.bindAsync(`unix://${socketPath}`, ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve()));
    });
  } catch (e) {
    server.forceShutdown();
    throw new DaemonStartError(`cannot serve on ${socketPath}: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    process.umask(umask);
  }
  chmodSync(socketPath, options.mode ?? 0o660);
  if (process.getuid?.() === 0) chownSync(socketPath, 0, 0);

  let closing: Promise<void> | undefined;
  return {
    close(graceMs = 2000) {
      closing ??= new Promise<void>((resolve) => {
        const force = setTimeout(() => server.forceShutdown(), graceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }).then(() => {
        try {
          unlinkSync(socketPath);
        } catch {
          // already gone
        }
      });
      return closing;
    },
  };
}

/** Removes a socket file nothing answers on; refuses to touch anything else. */
async function removeStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return;
  }
  if (!isSocket) throw new DaemonStartError(`cannot serve on ${path}: it exists and is not a socket`);
  const refused = await probeSocket(path);
  if (refused === null || refused === 'ETIMEDOUT') throw new DaemonStartError(`cannot serve on ${path}: another daemon answers on it`);
  unlinkSync(path);
}
