/**
 * A real server and a real client over a real unix socket in a temporary directory, serving the
 * in-memory backend; everything is closed and removed when the test (or suite) ends, failed or not.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { DaemonBackend } from '../../../src/contract/backend.js';
import { serveDaemon, type DaemonServer } from '../../../src/daemon/server.js';
import { EmbeddedEngine } from '../../../src/engine/embedded/client.js';
import { fullImage, sparseImage } from './fixtures.js';
import { MemoryBackend } from './memory-backend.js';

export interface Rig {
  backend: MemoryBackend;
  server: DaemonServer;
  engine: EmbeddedEngine;
  socket: string;
  dir: string;
  /** What the server logged (unexpected backend failures). */
  logged: string[];
}

export async function startRig(backend: DaemonBackend = new MemoryBackend([fullImage, sparseImage])): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-rpc-'));
  const socket = join(dir, 'engine.sock');
  const logged: string[] = [];
  const server = await serveDaemon(backend, socket, { log: (line) => logged.push(line) });
  return { backend: backend as MemoryBackend, server, engine: new EmbeddedEngine(socket), socket, dir, logged };
}

export async function stopRig(rig: Rig): Promise<void> {
  rig.engine.close();
  await rig.server.close(0);
  rmSync(rig.dir, { recursive: true, force: true });
}

/** One rig for a whole describe block: `const rig = sharedRig();` then `rig()` inside tests. */
export function sharedRig(make?: () => DaemonBackend): () => Rig {
  let rig: Rig | undefined;
  before(async () => {
    rig = await startRig(make?.());
  });
  after(async () => {
    if (rig) await stopRig(rig);
  });
  return () => {
    assert.ok(rig, 'the rig is up');
    return rig;
  };
}

/** Polls `probe` until it holds (2 s at most). */
export async function eventually(what: string, probe: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * A backend answering the given methods with canned values (to check that every field of a reply
 * crosses), and delegating the rest to `inner`.
 */
export function withReplies(inner: MemoryBackend, replies: Partial<Record<keyof DaemonBackend, unknown>>): MemoryBackend {
  return new Proxy(inner, {
    get(target, key, receiver) {
      if (typeof key === 'string' && key in replies) return async () => structuredClone(replies[key as keyof DaemonBackend]);
      const value: unknown = Reflect.get(target, key, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
