/**
 * Failures across the socket: every EngineError kind comes back as the same kind with the same
 * message; anything else the backend throws is an engine error with its message (and is logged);
 * a daemon that is not there, or goes away, is "unreachable" naming its socket.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { EmbeddedEngine } from '../../../src/engine/embedded/client.js';
import { EngineError, type EngineErrorKind } from '../../../src/contract/errors.js';
import { fullImage, sparseSpec } from './fixtures.js';
import { sharedRig, startRig, stopRig } from './harness.js';
import { MemoryBackend } from './memory-backend.js';

const KINDS: EngineErrorKind[] = ['not-found', 'conflict', 'invalid', 'resource', 'unreachable', 'engine'];

/** A backend whose startContainer and containerLogs throw what the test sets. */
class FailingBackend extends MemoryBackend {
  next: unknown;

  override async startContainer(): Promise<void> {
    throw this.next;
  }

  override async *containerLogs(): AsyncGenerator<never> {
    throw this.next;
  }
}

async function caught(p: Promise<unknown>): Promise<EngineError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof EngineError, `an EngineError, not ${String(e)}`);
    return e;
  }
  assert.fail('expected a failure');
}

async function drain(items: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of items) void _;
}

describe('embedded engine RPC: errors', () => {
  const rig = sharedRig(() => new FailingBackend([fullImage]));

  it('every kind of EngineError keeps its kind and its message, in unary calls and in streams', async () => {
    const { engine, backend } = rig();
    const failing = backend as FailingBackend;
    const messages = ['No such container: web_1', 'naïve “quotes” ✓, 100% of\nsecond line\ttab', `long ${'x'.repeat(5000)}`, 'port is already allocated: 0.0.0.0:80'];
    for (const kind of KINDS) {
      for (const message of messages) {
        failing.next = new EngineError(kind, message);
        const e = await caught(engine.startContainer('any'));
        assert.equal(e.kind, kind);
        assert.equal(e.message, message, 'the message crosses unchanged');
        const s = await caught(drain(engine.containerLogs('any', { follow: false, timestamps: false })));
        assert.deepEqual([s.kind, s.message], [kind, message]);
      }
    }
    failing.next = new EngineError('not-found', 'gone', 404);
    assert.equal((await caught(engine.startContainer('any'))).statusCode, 404);
  });

  it('any other failure is an engine error with its message, and is logged with its stack', async () => {
    const { engine, backend, logged } = rig();
    (backend as FailingBackend).next = new TypeError("Cannot read properties of undefined (reading 'Id')");
    const e = await caught(engine.startContainer('any'));
    assert.equal(e.kind, 'engine');
    assert.equal(e.message, "Cannot read properties of undefined (reading 'Id')");
    assert.ok(logged.some((line) => line.startsWith('startContainer: TypeError: Cannot read') && line.includes('\n    at ')), logged.join('\n'));
    const before = logged.length;
    (backend as FailingBackend).next = new EngineError('conflict', 'expected');
    await caught(engine.startContainer('any'));
    assert.equal(logged.length, before, 'an EngineError is an answer, not something to log');
  });

  it('failures of streams and sessions: missing objects, a failed build, an empty archive', async () => {
    const { engine } = rig();
    assert.equal((await caught(engine.exec('missing', { command: ['true'], env: [], privileged: false, tty: false, attachStdin: false, detach: false }))).kind, 'not-found');
    assert.equal((await caught(engine.attachContainer('missing', { stdin: true, tty: false }))).kind, 'not-found');
    const stopped = await engine.createContainer(sparseSpec('stopped'));
    assert.equal((await caught(engine.exec(stopped, { command: ['true'], env: [], privileged: false, tty: false, attachStdin: false, detach: false }))).kind, 'conflict');
    const build = await caught(engine.buildImage({ context: '/x', dockerfile: 'broken.Dockerfile', tags: [], args: {}, labels: {}, cacheFrom: [], extraHosts: [] }));
    assert.deepEqual([build.kind, build.message], ['engine', "The command '/bin/sh -c exit 3' returned a non-zero code: 3"]);
    assert.equal((await caught(engine.pullImage('absent:v1'))).kind, 'not-found');
    assert.equal((await caught(engine.pushImage('absent:v1'))).kind, 'not-found');
    const empty = await caught(engine.importImage(Readable.from([]), 'empty:v1'));
    assert.deepEqual([empty.kind, empty.message], ['invalid', 'the archive is empty']);
    assert.equal((await caught(engine.waitContainer('missing'))).kind, 'not-found');
    assert.equal((await caught(engine.top(stopped))).kind, 'conflict');
  });

  it('an optional method the backend lacks: UNIMPLEMENTED, as an engine error naming it', async () => {
    const backend = new MemoryBackend();
    delete backend.registryDigest;
    const r = await startRig(backend);
    try {
      const e = await caught(r.engine.registryDigest('busybox:latest'));
      assert.equal(e.kind, 'engine');
      assert.match(e.message, /does not implement registryDigest/);
    } finally {
      await stopRig(r);
    }
  });
});

describe('embedded engine RPC: an unreachable daemon', () => {
  it('no socket, a file that is not a socket: unreachable, naming the socket and why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flotilla-rpc-'));
    const missing = new EmbeddedEngine(join(dir, 'engine.sock'));
    const notSocket = join(dir, 'plain-file');
    writeFileSync(notSocket, '');
    const refused = new EmbeddedEngine(notSocket);
    try {
      const e = await caught(missing.version());
      assert.equal(e.kind, 'unreachable');
      assert.equal(e.message, `cannot reach the Flotilla daemon at ${join(dir, 'engine.sock')}: no such file (is the daemon running?)`);
      assert.equal((await caught(missing.listContainers({ labels: {}, all: true }))).kind, 'unreachable');
      assert.equal((await caught(drain(missing.events({})))).kind, 'unreachable');
      const r = await caught(refused.version());
      assert.equal(r.kind, 'unreachable');
      assert.equal(r.message, `cannot reach the Flotilla daemon at ${notSocket}: connection refused (is the daemon running?)`);
    } finally {
      missing.close();
      refused.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a daemon that stops during a call: the call fails as unreachable', async () => {
    const r = await startRig();
    try {
      const id = await r.engine.createContainer({ ...sparseSpec('long'), command: ['sleep'] });
      await r.engine.startContainer(id);
      const waiting = caught(r.engine.waitContainer(id));
      const following = caught(drain(r.engine.containerLogs(id, { follow: true, timestamps: false })));
      await new Promise((resolve) => setTimeout(resolve, 50));
      await r.server.close(0);
      assert.equal((await waiting).kind, 'unreachable');
      assert.equal((await following).kind, 'unreachable');
      assert.equal((await caught(r.engine.version())).kind, 'unreachable');
    } finally {
      await stopRig(r);
    }
  });
});
