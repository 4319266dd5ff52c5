/**
 * An archive stream, decompressed when it is gzip. The format is told by the first bytes, never
 * by a file name or media type. Compressions Node has no decoder for are named and refused.
 */
import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { TarFormatError } from './header.js';

const OTHER_COMPRESSIONS: [Buffer, string][] = [
  [Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), 'zstd'],
  [Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), 'xz'],
  [Buffer.from('BZh', 'latin1'), 'bzip2'],
];

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (typeof chunk === 'string') return Buffer.from(chunk, 'latin1');
  throw new TypeError('archive streams must carry bytes');
}

/** The stream's bytes, gunzipped when it starts with gzip's magic number. */
export async function* decompressed(source: AsyncIterable<unknown>): AsyncGenerator<Buffer> {
  const it = source[Symbol.asyncIterator]();
  try {
    const head: Buffer[] = [];
    let length = 0;
    while (length < 6) {
      const r = await it.next();
      if (r.done) break;
      const b = toBuffer(r.value);
      head.push(b);
      length += b.length;
    }
    const first = Buffer.concat(head, length);
    async function* all(): AsyncGenerator<Buffer> {
      if (first.length > 0) yield first;
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        yield toBuffer(r.value);
      }
    }
    if (first[0] === 0x1f && first[1] === 0x8b) {
      yield* gunzip(all());
      return;
    }
    for (const [magic, name] of OTHER_COMPRESSIONS) {
      if (first.subarray(0, magic.length).equals(magic)) throw new TarFormatError(`the archive is ${name}-compressed, which is not supported (use gzip or none)`);
    }
    yield* all();
  } finally {
    await it.return?.();
  }
}

async function* gunzip(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const input = Readable.from(source);
  const z = createGunzip();
  // Errors on either side surface through z's iterator below; the callback only has to exist.
  pipeline(input, z, () => undefined);
  try {
    for await (const chunk of z) yield chunk as Buffer;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'Z_BUF_ERROR') throw new TarFormatError('truncated archive: the gzip stream ends early');
    if (code === 'Z_DATA_ERROR') throw new TarFormatError(`corrupt gzip data: ${(e as Error).message}`);
    throw e;
  } finally {
    input.destroy();
    z.destroy();
  }
}
