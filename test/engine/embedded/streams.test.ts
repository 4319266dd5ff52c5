/**
 * Streamed calls: logs (both streams, tail, timestamps, big chunks, following until the signal
 * aborts or the loop ends, with the server seeing the cancel), events (bigint times, filters,
 * until aborted), waitContainer aborted, and images imported and loaded as streams of bytes
 * without either side holding the whole archive.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import type { EngineEvent, LogChunk } from '../../../src/contract/engine.js';
import { sparseSpec } from './fixtures.js';
import { eventually, sharedRig } from './harness.js';

async function collect(items: AsyncIterable<LogChunk>): Promise<{ stdout: string; stderr: string; chunks: number }> {
  let stdout = '';
  let stderr = '';
  let chunks = 0;
  for await (const chunk of items) {
    chunks++;
    assert.ok(Buffer.isBuffer(chunk.data));
    if (chunk.stream === 'stdout') stdout += chunk.data.toString();
    else stderr += chunk.data.toString();
  }
  return { stdout, stderr, chunks };
}

/** `total` bytes made as they are read, in 64 KiB chunks; `produced` counts what was handed out. */
function generated(total: number): { stream: Readable; produced: () => number } {
  let produced = 0;
  const block = Buffer.alloc(64 << 10);
  const stream = new Readable({
    read() {
      if (produced >= total) return void this.push(null);
      const size = Math.min(block.length, total - produced);
      block.writeUInt32BE(produced >>> 0, 0);
      produced += size;
      this.push(Buffer.from(block.subarray(0, size)));
    },
  });
  return { stream, produced: () => produced };
}

function digestOf(total: number): string {
  const hash = createHash('sha256');
  const block = Buffer.alloc(64 << 10);
  for (let at = 0; at < total; at += block.length) {
    block.writeUInt32BE(at >>> 0, 0);
    hash.update(block.subarray(0, Math.min(block.length, total - at)));
  }
  return hash.digest('hex');
}

describe('embedded engine RPC: streams', () => {
  const rig = sharedRig();

  async function running(name: string, command: string[], tty = false): Promise<string> {
    const { engine } = rig();
    const id = await engine.createContainer({ ...sparseSpec(name), command, tty });
    await engine.startContainer(id);
    return id;
  }

  it('logs: both streams, tail, timestamps, since, a TTY, and chunks bigger than a message', async () => {
    const { engine, backend } = rig();
    const id = await running('logs', ['print', 'one']);
    assert.equal(await engine.waitContainer(id), 0);
    assert.deepEqual(await collect(engine.containerLogs(id, { follow: false, timestamps: false })), { stdout: 'one\n', stderr: 'err\n', chunks: 2 });
    assert.deepEqual(backend.received.get('containerLogs'), [id, { follow: false, timestamps: false }], 'the signal stays on the client');
    const tail = await collect(engine.containerLogs(id, { follow: false, timestamps: false, tail: 1 }));
    assert.equal(tail.stdout + tail.stderr, 'err\n');
    assert.deepEqual(backend.received.get('containerLogs'), [id, { follow: false, timestamps: false, tail: 1 }]);
    const zero = await collect(engine.containerLogs(id, { follow: false, timestamps: false, tail: 0 }));
    assert.equal(zero.chunks, 0, 'tail 0 is not "all"');
    const stamped = await collect(engine.containerLogs(id, { follow: false, timestamps: true }));
    assert.match(stamped.stdout, /^\d{4}-\d\d-\d\dT[\d:.]+Z one\n$/);
    const future = await collect(engine.containerLogs(id, { follow: false, timestamps: false, since: Math.floor(Date.now() / 1000) + 3600 }));
    assert.equal(future.chunks, 0);
    const exact = 1795000000.123457;
    await collect(engine.containerLogs(id, { follow: false, timestamps: false, since: exact }));
    assert.deepEqual(backend.received.get('containerLogs'), [id, { follow: false, timestamps: false, since: exact }], 'since keeps its fraction');

    const tty = await running('logs-tty', ['print', 'both'], true);
    await engine.waitContainer(tty);
    assert.deepEqual(await collect(engine.containerLogs(tty, { follow: false, timestamps: false })), { stdout: 'both\nerr\n', stderr: '', chunks: 2 });

    const big = await running('logs-big', ['sleep']);
    const container = backend.containers.get(big)!;
    const payload = Buffer.alloc(3 << 20, 'x');
    container.runs[0]!.write('stdout', payload);
    const read = await collect(engine.containerLogs(big, { follow: false, timestamps: false }));
    assert.equal(read.stdout.length, payload.length);
    assert.ok(read.chunks >= 3, 'split into messages of at most 1 MiB');
  });

  it('logs: following until the signal aborts; the daemon sees the cancel and ends its follow', async () => {
    const { engine, backend } = rig();
    const id = await running('follow', ['sleep']);
    const program = backend.containers.get(id)!.runs[0]!;
    program.write('stdout', Buffer.from('first\n'));
    const controller = new AbortController();
    let seen = '';
    const reading = (async () => {
      for await (const chunk of engine.containerLogs(id, { follow: true, timestamps: false, signal: controller.signal })) {
        seen += chunk.data.toString();
        if (seen.includes('later')) controller.abort();
      }
    })();
    await eventually('the follow to be open on the daemon', () => backend.open.follows === 1);
    program.write('stderr', Buffer.from('later\n'));
    await reading;
    assert.equal(seen, 'first\nlater\n');
    await eventually('the daemon to end its follow', () => backend.open.follows === 0);
    program.write('stdout', Buffer.from('after\n'));

    // Leaving the loop early releases the stream as well.
    for await (const chunk of engine.containerLogs(id, { follow: true, timestamps: false })) {
      assert.equal(chunk.data.toString(), 'first\n');
      break;
    }
    await eventually('the daemon to end the second follow', () => backend.open.follows === 0);

    // An already aborted signal: nothing is asked.
    const aborted = AbortSignal.abort();
    assert.equal((await collect(engine.containerLogs(id, { follow: true, timestamps: false, signal: aborted }))).chunks, 0);
  });

  it('logs: a follow ends by itself when the container stops', async () => {
    const { engine } = rig();
    const id = await running('follow-stop', ['sleep']);
    const reading = collect(engine.containerLogs(id, { follow: true, timestamps: false }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await engine.stopContainer(id);
    assert.equal((await reading).chunks, 0);
  });

  it('waitContainer: the exit code; aborted, it rejects with an AbortError at once and the daemon stops waiting', async () => {
    const { engine, backend } = rig();
    const quick = await running('wait-quick', ['echo-stdin', '7']);
    backend.containers.get(quick)!.runs[0]!.input.end();
    assert.equal(await engine.waitContainer(quick), 7);
    assert.equal(await engine.waitContainer(quick), 7, 'an exited container answers at once');

    const slow = await running('wait-slow', ['sleep']);
    const controller = new AbortController();
    const waiting = engine.waitContainer(slow, controller.signal);
    await eventually('the wait to reach the daemon', () => backend.open.waits === 1);
    const started = Date.now();
    controller.abort();
    await assert.rejects(waiting, { name: 'AbortError' });
    assert.ok(Date.now() - started < 500);
    await eventually('the daemon to stop waiting', () => backend.open.waits === 0);
    await assert.rejects(engine.waitContainer(slow, AbortSignal.abort()), { name: 'AbortError' });
    const reason = new Error('given up');
    const own = new AbortController();
    own.abort(reason);
    await assert.rejects(engine.waitContainer(slow, own.signal), (e) => e === reason, "the signal's own reason");
  });

  it('events: exact bigint times, attributes, filters, replay since; until aborted, and the daemon sees it', async () => {
    const { engine, backend } = rig();
    const since = Math.floor(Date.now() / 1000) - 1;
    const controller = new AbortController();
    const seen: EngineEvent[] = [];
    const reading = (async () => {
      for await (const event of engine.events({ labels: ['org.test.events=yes'], types: ['container'], since, signal: controller.signal })) {
        seen.push(event);
        if (event.action === 'die') controller.abort();
      }
    })();
    const id = await engine.createContainer({ ...sparseSpec('events'), labels: { 'org.test.events': 'yes' }, command: ['exit', '3'] });
    await engine.startContainer(id);
    await reading;
    assert.deepEqual(backend.received.get('events'), [{ labels: ['org.test.events=yes'], types: ['container'], since }]);
    assert.deepEqual(seen.map((e) => e.action), ['create', 'start', 'die']);
    const die = seen[2]!;
    assert.equal(die.id, id);
    assert.deepEqual(die.attributes, { 'org.test.events': 'yes', image: 'busybox:latest', name: 'events', exitCode: '3' });
    assert.equal(typeof die.timeNano, 'bigint');
    assert.ok(die.timeNano > BigInt(Number.MAX_SAFE_INTEGER), 'beyond what a number holds');
    assert.ok(die.timeNano % 1_000_000n !== 0n, 'nanoseconds kept');
    await eventually('the daemon to end the event stream', () => backend.open.events === 0);

    // A replay of the past, exactly as recorded.
    const replay = new AbortController();
    const again: EngineEvent[] = [];
    for await (const event of engine.events({ labels: ['org.test.events'], since, signal: replay.signal })) {
      again.push(event);
      if (again.length === 3) replay.abort();
    }
    assert.deepEqual(again, seen);
    const empty = await (async () => {
      for await (const _ of engine.events({ types: [], signal: AbortSignal.abort() })) return false;
      return true;
    })();
    assert.ok(empty);
    await eventually('no event stream left open', () => backend.open.events === 0);
  });

  it('import: 100 MB streamed through, never held whole on either side', async (t) => {
    const { engine, backend } = rig();
    const total = 100 << 20;
    const { stream, produced } = generated(total);
    backend.upload = { bytes: 0, reads: 0, digest: '' };
    let ahead = 0;
    const sampler = setInterval(() => (ahead = Math.max(ahead, produced() - backend.upload.bytes)), 2);
    try {
      const ref = await engine.importImage(stream, 'imported:v1');
      assert.equal(backend.upload.bytes, total);
      assert.equal(backend.upload.digest, digestOf(total), 'every byte, in order');
      assert.deepEqual(ref, { id: `sha256:${digestOf(total)}`, tags: ['imported:v1'] });
      assert.deepEqual(backend.received.get('importImage'), ['imported:v1']);
    } finally {
      clearInterval(sampler);
    }
    // What was read from the input but not yet taken by the backend: the buffers in between, a
    // few MiB at most, not the archive.
    t.diagnostic(`at most ${(ahead / 2 ** 20).toFixed(1)} MiB in flight`);
    assert.ok(ahead < 16 << 20, `${(ahead / 2 ** 20).toFixed(1)} MiB in flight`);

    const { stream: untagged } = generated(1 << 20);
    assert.deepEqual((await engine.importImage(untagged)).tags, []);
    assert.deepEqual(backend.received.get('importImage'), [], 'no reference stays no reference');
  });

  it('load: a stream of bytes in, every image with its tags out', async () => {
    const { engine, backend } = rig();
    backend.upload = { bytes: 0, reads: 0, digest: '' };
    const { stream } = generated(5 << 20);
    const refs = await engine.loadImages(stream);
    assert.equal(backend.upload.bytes, 5 << 20);
    assert.equal(refs.length, 2);
    assert.deepEqual(refs[0]?.tags, ['loaded/a:1']);
    assert.deepEqual(refs[1]?.tags, []);
  });

  it('save: every byte out in order, in pieces; a reader that stops ends the backend\'s stream; an unknown image fails before any byte', async () => {
    const { engine, backend } = rig();
    const { count, size } = backend.saved;
    const expected = createHash('sha256');
    for (let n = 0; n < count; n++) expected.update(Buffer.from(Array.from({ length: size }, (_, i) => (n + i) & 0xff)));
    const got = createHash('sha256');
    let bytes = 0;
    let largest = 0;
    for await (const chunk of engine.saveImages(['busybox:latest', 'other:1'])) {
      got.update(chunk);
      bytes += chunk.length;
      largest = Math.max(largest, chunk.length);
    }
    assert.equal(bytes, count * size);
    assert.equal(got.digest('hex'), expected.digest('hex'));
    assert.ok(largest <= 1 << 20, 'messages of at most 1 MiB');
    assert.deepEqual(backend.received.get('saveImages'), [['busybox:latest', 'other:1']]);

    const stop = new AbortController();
    for await (const _ of engine.saveImages(['busybox:latest'], stop.signal)) {
      void _;
      stop.abort();
      break;
    }
    await eventually('the backend stopped making the archive', () => backend.saved.closed);
    assert.ok(backend.saved.taken < count, `${backend.saved.taken} of ${count} chunks made`);

    let first = true;
    await assert.rejects(
      (async () => {
        for await (const _ of engine.saveImages(['no-such:image'])) first = false;
      })(),
      (e: Error & { kind?: string }) => e.kind === 'not-found' && /no such image: no-such:image/.test(e.message),
    );
    assert.ok(first, 'no byte before the error');
  });

  it('import: an input that fails stops the upload with that error', async () => {
    const { engine } = rig();
    let sent = 0;
    const failing = new Readable({
      read() {
        if (sent++ < 10) this.push(Buffer.alloc(64 << 10));
        else this.destroy(new Error('disk read error'));
      },
    });
    await assert.rejects(engine.importImage(failing, 'broken:v1'), /disk read error/);
    assert.equal(await engine.inspectImage('broken:v1'), null, 'no image from a truncated archive');
  });
});
