/** Reading Docker's streams: multiplexed frames, raw TTY output, JSON lines, aborts. */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { demultiplex, lines, raw, untilAborted } from '../../src/engine/docker/streams.js';

function frame(type: number, text: string): Buffer {
  const data = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = type;
  header.writeUInt32BE(data.length, 4);
  return Buffer.concat([header, data]);
}

async function* chunks(...parts: Buffer[]): AsyncGenerator<Buffer> {
  for (const p of parts) yield p;
}

async function all<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of source) out.push(x);
  return out;
}

test('demultiplex: frames split anywhere, empty frames, both streams', async () => {
  const bytes = Buffer.concat([frame(1, 'hello '), frame(2, 'oops\n'), frame(1, ''), frame(1, 'world\n'), frame(0, 'echo')]);
  for (const cut of [[1], [3, 9], [8, 14, 15], [bytes.length - 1]]) {
    const parts: Buffer[] = [];
    let from = 0;
    for (const at of cut) {
      parts.push(bytes.subarray(from, at));
      from = at;
    }
    parts.push(bytes.subarray(from));
    const out = await all(demultiplex(chunks(...parts)));
    // Consecutive frames of one stream that arrive in one read may come as one chunk: what is
    // fixed is each stream's bytes, in order, and where output switches between streams.
    const runs: [string, string][] = [];
    for (const c of out) {
      const last = runs[runs.length - 1];
      if (last && last[0] === c.stream) last[1] += c.data.toString();
      else runs.push([c.stream, c.data.toString()]);
    }
    assert.deepEqual(runs, [
      ['stdout', 'hello '],
      ['stderr', 'oops\n'],
      ['stdout', 'world\necho'],
    ]);
    assert.ok(out.every((c) => c.data.length > 0), 'no empty chunks');
  }
  // One read holding many frames of one stream gives one chunk (one write for the reader).
  const many = Buffer.concat(Array.from({ length: 100 }, (_, i) => frame(1, `line ${i}\n`)));
  const merged = await all(demultiplex(chunks(many)));
  assert.equal(merged.length, 1);
  assert.equal(merged[0]?.data.toString().split('\n').length, 101);
});

test('raw: everything is stdout', async () => {
  const out = await all(raw(chunks(Buffer.from('a\r\n'), Buffer.alloc(0), Buffer.from('b'))));
  assert.deepEqual(out.map((c) => [c.stream, c.data.toString()]), [['stdout', 'a\r\n'], ['stdout', 'b']]);
});

test('lines: split across chunks and multi-byte characters, CRLF, a last line without newline', async () => {
  const text = Buffer.from('{"a":1}\r\n\n{"b":"é"}\n{"c":3}');
  const out = await all(lines(chunks(text.subarray(0, 3), text.subarray(3, 19), text.subarray(19))));
  assert.deepEqual(out, ['{"a":1}', '{"b":"é"}', '{"c":3}']);
});

test('untilAborted ends quietly when the signal aborts, and releases the source', async () => {
  const source = new PassThrough();
  const controller = new AbortController();
  let released = false;
  const seen: string[] = [];
  const reading = (async () => {
    for await (const chunk of untilAborted(source, controller.signal, () => {
      released = true;
      source.destroy();
    })) {
      seen.push(String(chunk));
    }
  })();
  source.write('one');
  await new Promise((r) => setTimeout(r, 20));
  controller.abort();
  await reading;
  assert.deepEqual(seen, ['one']);
  assert.ok(released);
});

test('untilAborted passes errors through when not aborted', async () => {
  async function* failing(): AsyncGenerator<string> {
    yield 'x';
    throw new Error('broken');
  }
  await assert.rejects(all(untilAborted(failing(), new AbortController().signal, () => undefined)), /broken/);
});
