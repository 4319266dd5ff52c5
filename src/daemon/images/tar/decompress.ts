/**
 * An archive stream, decompressed when it is gzip (node:zlib) or zstd (fzstd: Node 20's zlib has
 * no zstd, and native decoders need downloads this project cannot rely on). The format is told by
 * the first bytes, never by a file name or media type. Other compressions are named and refused.
 *
 * A decompression bomb is refused: once the output passes `bombFloor` bytes, it may not exceed
 * `maxRatio` times the compressed input read so far (gzip's own limit is about 1032:1; real
 * layers stay far below 100:1, a file of zeros is what comes close).
 */
import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Decompress as ZstdDecompress } from 'fzstd';
import { TarFormatError } from './header.js';

const GZIP = Buffer.from([0x1f, 0x8b]);
const ZSTD = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
const OTHER_COMPRESSIONS: [Buffer, string][] = [
  [Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), 'xz'],
  [Buffer.from('BZh', 'latin1'), 'bzip2'],
];

export interface BombLimits {
  /** Output/input ratio beyond which a compressed stream is refused. */
  maxRatio: number;
  /** Output bytes before the ratio is checked (small inputs may compress well). */
  bombFloor: number;
}

export const DEFAULT_BOMB_LIMITS: BombLimits = { maxRatio: 200, bombFloor: 256 * 1024 * 1024 };

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (typeof chunk === 'string') return Buffer.from(chunk, 'latin1');
  throw new TypeError('archive streams must carry bytes');
}

function describe(n: number): string {
  return n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(1)} GiB` : n >= 1024 ** 2 ? `${(n / 1024 ** 2).toFixed(1)} MiB` : `${n} bytes`;
}

/** The stream's bytes, decompressed when it starts with gzip's or zstd's magic number. */
export async function* decompressed(source: AsyncIterable<unknown>, limits: BombLimits = DEFAULT_BOMB_LIMITS): AsyncGenerator<Buffer> {
  const it = source[Symbol.asyncIterator]();
  let compressed = 0;
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
      if (first.length > 0) {
        compressed += first.length;
        yield first;
      }
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        const b = toBuffer(r.value);
        compressed += b.length;
        yield b;
      }
    }
    const starts = (magic: Buffer): boolean => first.subarray(0, magic.length).equals(magic);
    let kind: string | null = null;
    let inner: AsyncGenerator<Buffer>;
    if (starts(GZIP)) {
      kind = 'gzip';
      inner = gunzip(all());
    } else if (starts(ZSTD)) {
      kind = 'zstd';
      inner = unzstd(all());
    } else {
      for (const [magic, name] of OTHER_COMPRESSIONS) {
        if (starts(magic)) throw new TarFormatError(`the archive is ${name}-compressed, which is not supported (use gzip, zstd or none)`);
      }
      yield* all();
      return;
    }
    let out = 0;
    for await (const chunk of inner) {
      out += chunk.length;
      if (out > limits.bombFloor && out > compressed * limits.maxRatio) {
        throw new TarFormatError(`decompression bomb refused: ${describe(compressed)} of ${kind} data expanded past ${describe(out)} (more than ${limits.maxRatio} times its size)`);
      }
      yield chunk;
    }
  } finally {
    await it.return?.();
  }
}

async function* gunzip(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const input = Readable.from(source);
  const z = createGunzip({ chunkSize: 256 * 1024 });
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

async function* unzstd(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let out: Buffer[] = [];
  let finished = false;
  const z = new ZstdDecompress((data, final) => {
    out.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    if (final) finished = true;
  });
  const push = (chunk: Uint8Array, final: boolean): void => {
    try {
      z.push(chunk, final);
    } catch (e) {
      const message = (e as Error).message;
      throw new TarFormatError(/EOF/.test(message) ? 'truncated archive: the zstd stream ends early' : `corrupt zstd data: ${message}`);
    }
  };
  for await (const chunk of source) {
    push(chunk, false);
    const ready = out;
    out = [];
    for (const b of ready) yield b;
  }
  if (!finished) push(new Uint8Array(0), true);
  for (const b of out) yield b;
  if (!finished) throw new TarFormatError('truncated archive: the zstd stream ends early');
}
