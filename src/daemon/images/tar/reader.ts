/**
 * Reading tar archives: tar-stream parses the entries and streams their bodies; ./tap.ts walks
 * the raw bytes a step ahead of it for what tar-stream does not give (raw PAX values, GNU sparse
 * maps, strict end and truncation checks). Entries come one at a time; what the caller leaves of
 * a body is skipped before the next header. Sizes claimed by headers are never trusted: a stream
 * that ends early is a "truncated archive".
 *
 * Sparse files (GNU old, PAX 0.0, 0.1 and 1.0) are read: chunks() gives each piece of data with
 * its position in the file, and the holes are left to the writer. Refused: the vendor types
 * ('D', 'M', 'N', 'V', ...), names that are not UTF-8, metadata over the limits.
 */
import { extract as tarExtract, type Extract, type Header } from 'tar-stream';
import { TarFormatError, describeType } from './header.js';
import { TarTap, type EntryExtras, type SparseSegment } from './tap.js';

export type EntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'character-device' | 'block-device' | 'fifo';

export interface TarEntry {
  /** The name as archived (PAX path or GNU long name when given), not yet normalised. */
  path: string;
  type: EntryType;
  /** Symlink target or hard link name; '' for other types. */
  linkPath: string;
  /** Bytes of data in the archive (0 except for files; for a sparse file, its data without holes). */
  size: number;
  /** Permission bits, setuid/setgid/sticky included. */
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch, possibly fractional (PAX) or negative. */
  mtime: number;
  devMajor: number;
  devMinor: number;
  /** Extended attributes (SCHILY.xattr.* / LIBARCHIVE.xattr.*), values as bytes. */
  xattrs: Map<string, Buffer>;
  /** For a sparse file: its full length and where its data goes. */
  sparse: { realSize: number; segments: SparseSegment[] } | null;
}

export interface TarReaderLimits {
  /** Longest entry name or link target, in bytes (Linux PATH_MAX). */
  maxPathBytes: number;
  /** Largest PAX extended header. */
  maxPaxBytes: number;
}

export const DEFAULT_TAR_LIMITS: TarReaderLimits = { maxPathBytes: 4096, maxPaxBytes: 1024 * 1024 };

const TYPES: Record<string, EntryType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file', // contiguous file: a regular file everywhere but on one 1980s filesystem
  S: 'file', // GNU sparse, read through its map
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'character-device',
  '4': 'block-device',
  '5': 'directory',
  '6': 'fifo',
};

const UNSUPPORTED: Record<string, string> = {
  D: 'GNU dumpdir',
  M: 'GNU multi-volume continuation',
  N: 'GNU old long name',
  V: 'GNU volume label',
};

/** A source chunk as a Buffer. */
function bytesOf(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new TypeError('archive streams must carry bytes');
}

async function* asBuffers(source: AsyncIterable<unknown>): AsyncGenerator<Buffer> {
  for await (const chunk of source) yield bytesOf(chunk);
}

/** A tar-stream entry: its header, its body, and where tar-stream read its header. */
type Source = AsyncIterable<unknown> & { header: Header; offset: number; resume(): void; destroy(e?: Error): void };

export class TarReader {
  private readonly tap: TarTap;
  private readonly limits: TarReaderLimits;
  private readonly extract: Extract;
  private readonly entries: AsyncIterator<unknown>;
  private readonly feeding: Promise<void>;
  private current: { entry: TarEntry; source: Source; body: AsyncIterator<unknown>; inline: number | null; done: boolean } | null = null;
  private failure: Error | null = null;
  private ended = false;

  constructor(source: AsyncIterable<unknown>, limits: Partial<TarReaderLimits> = {}) {
    this.limits = { ...DEFAULT_TAR_LIMITS, ...limits };
    this.tap = new TarTap(this.limits);
    this.extract = tarExtract({ allowUnknownFormat: true } as never);
    this.entries = (this.extract as unknown as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    this.feeding = this.feed(source);
  }

  /** Writes the tap's output into tar-stream; a failure on the way fails the reader. */
  private async feed(source: AsyncIterable<unknown>): Promise<void> {
    try {
      for await (const chunk of this.tap.run(asBuffers(source))) {
        if (!this.extract.write(chunk)) await drainedOrClosed(this.extract);
        if (this.failure || this.extract.destroyed) return;
      }
      this.extract.end(undefined);
    } catch (e) {
      this.failure = e instanceof Error ? e : new Error(String(e));
      this.extract.destroy(this.failure);
    }
  }

  private fail(e: unknown): Error {
    if (this.failure) return this.failure;
    if (e instanceof TarFormatError) return e;
    const message = e instanceof Error ? e.message : String(e);
    return new TarFormatError(`corrupt archive: ${message}`);
  }

  /** The next entry, or null at the end of the archive. */
  async next(): Promise<TarEntry | null> {
    if (this.ended) return null;
    await this.skipRest();
    let r: IteratorResult<unknown>;
    try {
      r = await this.entries.next();
    } catch (e) {
      throw this.fail(e);
    }
    if (this.failure) throw this.failure;
    if (r.done) {
      this.ended = true;
      await this.feeding;
      if (this.failure) throw this.failure;
      return null;
    }
    const source = r.value as Source;
    const extras = this.tap.take(source.offset);
    if (extras === undefined) throw new TarFormatError(`corrupt archive: an entry at byte ${source.offset} the reader did not see`);
    const entry = this.makeEntry(source.header, extras);
    this.current = { entry, source, body: source[Symbol.asyncIterator](), inline: extras.sparse?.kind === 'inline' ? extras.sparse.realSize : null, done: false };
    if (this.current.inline !== null) await this.readInlineMap();
    return entry;
  }

  private makeEntry(header: Header, x: EntryExtras): TarEntry {
    let path = x.path;
    const known = TYPES[x.typeflag];
    if (known === undefined) {
      const what = UNSUPPORTED[x.typeflag];
      throw new TarFormatError(`entry ${JSON.stringify(path)} has ${what ? `type ${describeType(x.typeflag)} (${what}), which is not supported` : `unknown type ${describeType(x.typeflag)}`}`);
    }
    // Old archives mark directories with a trailing slash on a '\0' (regular) entry.
    const type: EntryType = x.typeflag === '\0' && path.endsWith('/') ? 'directory' : known;
    if (x.sparse?.name) path = x.sparse.name;
    if (Buffer.byteLength(path) > this.limits.maxPathBytes) throw new TarFormatError(`entry name ${JSON.stringify(path.slice(0, 64))}... is longer than ${this.limits.maxPathBytes} bytes`);
    if (Buffer.byteLength(x.linkPath) > this.limits.maxPathBytes) throw new TarFormatError(`entry ${JSON.stringify(path)}: link target longer than ${this.limits.maxPathBytes} bytes`);
    const size = type === 'file' ? header.size : 0;
    let sparse: TarEntry['sparse'] = null;
    if (x.sparse && type === 'file') {
      if (x.sparse.kind === 'map') {
        checkSegments(path, x.sparse.segments, x.sparse.realSize, size);
        sparse = { realSize: x.sparse.realSize, segments: x.sparse.segments };
      } else sparse = { realSize: x.sparse.realSize, segments: [] }; // read from the data next
    }
    return {
      path,
      type,
      linkPath: x.linkPath,
      size,
      mode: header.mode & 0o7777,
      uid: x.uid,
      gid: x.gid,
      mtime: x.mtime,
      devMajor: header.devmajor,
      devMinor: header.devminor,
      xattrs: x.xattrs,
      sparse,
    };
  }

  private async nextChunk(): Promise<Buffer | null> {
    const cur = this.current;
    if (!cur || cur.done) return null;
    let r: IteratorResult<unknown>;
    try {
      r = await cur.body.next();
    } catch (e) {
      throw this.fail(e);
    }
    if (this.failure) throw this.failure;
    if (r.done) {
      cur.done = true;
      return null;
    }
    return bytesOf(r.value);
  }

  /** Pieces of the body not yet handed out, put back by readInlineMap. */
  private pushedBack: Buffer | null = null;

  /** GNU sparse 1.0: the map (decimal numbers, one a line, padded to a block) heads the data. */
  private async readInlineMap(): Promise<void> {
    const cur = this.current;
    if (!cur?.entry.sparse) return;
    const path = cur.entry.path;
    let text: Buffer = Buffer.alloc(0);
    const numbers: number[] = [];
    let consumed = 0;
    let count = -1;
    while (count < 0 || numbers.length < 1 + 2 * count) {
      let nl = text.indexOf(0x0a);
      while (nl === -1) {
        if (text.length > 64) throw new TarFormatError(`entry ${JSON.stringify(path)}: malformed GNU sparse map`);
        const more = await this.nextChunk();
        if (more === null) throw new TarFormatError(`entry ${JSON.stringify(path)}: the GNU sparse map ends early`);
        text = Buffer.concat([text, more]);
        nl = text.indexOf(0x0a);
      }
      const line = text.toString('latin1', 0, nl);
      if (!/^[0-9]{1,16}$/.test(line) || !Number.isSafeInteger(Number(line))) throw new TarFormatError(`entry ${JSON.stringify(path)}: malformed GNU sparse map`);
      numbers.push(Number(line));
      if (count < 0) {
        count = numbers[0] ?? 0;
        if (count > 1_000_000) throw new TarFormatError(`entry ${JSON.stringify(path)}: a GNU sparse map of more than a million segments`);
      }
      text = text.subarray(nl + 1);
      consumed += nl + 1;
    }
    const segments: SparseSegment[] = [];
    for (let i = 1; i < numbers.length; i += 2) segments.push({ offset: numbers[i] ?? 0, length: numbers[i + 1] ?? 0 });
    const mapBytes = consumed + ((512 - (consumed % 512)) % 512);
    let skip = mapBytes - consumed;
    while (text.length < skip) {
      skip -= text.length;
      const more = await this.nextChunk();
      if (more === null) throw new TarFormatError(`entry ${JSON.stringify(path)}: the GNU sparse map ends early`);
      text = more;
    }
    text = text.subarray(skip);
    this.pushedBack = text.length > 0 ? text : null;
    const dataSize = cur.entry.size - mapBytes;
    checkSegments(path, segments, cur.entry.sparse.realSize, dataSize);
    cur.entry.size = Math.max(0, dataSize);
    cur.entry.sparse.segments = segments;
  }

  /** The current entry's body, in slices of the stream's chunks (a sparse file's data without its holes). */
  async *body(): AsyncGenerator<Buffer> {
    if (this.pushedBack) {
      const b = this.pushedBack;
      this.pushedBack = null;
      yield b;
    }
    for (let chunk = await this.nextChunk(); chunk !== null; chunk = await this.nextChunk()) yield chunk;
  }

  /** The current entry's data with the position of each piece in the file (sparse holes skipped). */
  async *chunks(): AsyncGenerator<{ position: number; data: Buffer }> {
    const entry = this.current?.entry;
    if (!entry) return;
    const segments = entry.sparse ? entry.sparse.segments : [{ offset: 0, length: entry.size }];
    let index = 0;
    let within = 0;
    for await (let data of this.body()) {
      while (data.length > 0) {
        const seg = segments[index];
        if (seg === undefined) throw new TarFormatError(`entry ${JSON.stringify(entry.path)}: more data than its sparse map holds`);
        const take = Math.min(seg.length - within, data.length);
        if (take > 0) yield { position: seg.offset + within, data: data.subarray(0, take) };
        data = data.subarray(take);
        within += take;
        if (within === seg.length) {
          index++;
          within = 0;
        }
      }
    }
  }

  private async skipRest(): Promise<void> {
    const cur = this.current;
    if (!cur) return;
    this.pushedBack = null;
    while ((await this.nextChunk()) !== null);
    this.current = null;
  }

  /** Reads the rest of the stream (the padding after the end-of-archive blocks). */
  async drain(): Promise<void> {
    await this.skipRest();
    while ((await this.next()) !== null);
    await this.feeding;
    if (this.failure) throw this.failure;
  }

  /** Stops reading (the source is left unread). */
  destroy(): void {
    this.extract.destroy();
  }
}

/** Resolves when a streamx writable wants more, or is gone. */
function drainedOrClosed(stream: Extract): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}

/** Like Go's reader: segments in order, not overlapping, inside the file, data as long as the map says. */
function checkSegments(path: string, segments: SparseSegment[], realSize: number, dataSize: number): void {
  let end = 0;
  let total = 0;
  for (const s of segments) {
    if (s.offset < end || s.length < 0 || s.offset + s.length > realSize) throw new TarFormatError(`entry ${JSON.stringify(path)}: invalid GNU sparse map`);
    end = s.offset + s.length;
    total += s.length;
  }
  if (total !== dataSize) throw new TarFormatError(`entry ${JSON.stringify(path)}: its GNU sparse map holds ${total} bytes of data, the archive ${dataSize}`);
}
