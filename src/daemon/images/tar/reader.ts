/**
 * A streaming tar reader: ustar, GNU long names and link names ('L', 'K'), PAX extended and global
 * headers. Entries come one at a time; an entry's body is read as slices of the incoming chunks,
 * and whatever the caller leaves unread is skipped before the next header. Sizes claimed by
 * headers are never trusted: a stream that ends early is a "truncated archive".
 *
 * Refused rather than guessed at: GNU sparse files (old 'S' entries and PAX GNU.sparse.*), the
 * other vendor types ('D', 'M', 'N', 'V', ...), names that are not UTF-8, PAX or long-name data over
 * the limits, and an archive without its end-of-archive block.
 */
import { ByteReader, EndOfStream } from './bytes.js';
import { BLOCK, TarFormatError, decodeName, describeType, isZeroBlock, parseHeader, parsePax, type RawHeader } from './header.js';

export type EntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'character-device' | 'block-device' | 'fifo';

export interface TarEntry {
  /** The name as archived (PAX path or GNU long name when given), not yet normalised. */
  path: string;
  type: EntryType;
  /** Symlink target or hard link name; '' for other types. */
  linkPath: string;
  /** Bytes of body (0 except for files). */
  size: number;
  /** Permission bits, setuid/setgid/sticky included. */
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch, possibly fractional (PAX) or negative. */
  mtime: number;
  devMajor: number;
  devMinor: number;
  /** Extended-attribute keys (SCHILY.xattr.* / LIBARCHIVE.xattr.*) the entry carried and we ignore. */
  xattrs: string[];
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
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'character-device',
  '4': 'block-device',
  '5': 'directory',
  '6': 'fifo',
};

const UNSUPPORTED: Record<string, string> = {
  S: 'GNU sparse file',
  D: 'GNU dumpdir',
  M: 'GNU multi-volume continuation',
  N: 'GNU old long name',
  V: 'GNU volume label',
};

/**
 * PAX keys that set the values below; other keys are ignored, as POSIX asks. null (an empty value
 * in an entry's own header) cancels a global value: the ustar header's field counts again.
 */
interface Overrides {
  path?: string | null;
  linkpath?: string | null;
  size?: number | null;
  uid?: number | null;
  gid?: number | null;
  mtime?: number | null;
}

const KEYS = { path: 1, linkpath: 1, size: 1, uid: 1, gid: 1, mtime: 1 };

function paxInteger(key: string, value: string): number {
  if (!/^[0-9]{1,16}$/.test(value) || !Number.isSafeInteger(Number(value))) throw new TarFormatError(`PAX ${key}=${JSON.stringify(value)} is not a valid number`);
  return Number(value);
}

function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

export class TarReader {
  private readonly bytes: ByteReader;
  private readonly limits: TarReaderLimits;
  private readonly global: Overrides = {};
  private current: TarEntry | null = null;
  /** Unread body bytes of the current entry, then its padding. */
  private remaining = 0;
  private pad = 0;
  private ended = false;
  private entries = 0;

  constructor(source: AsyncIterable<Uint8Array>, limits: Partial<TarReaderLimits> = {}) {
    this.bytes = new ByteReader(source[Symbol.asyncIterator]());
    this.limits = { ...DEFAULT_TAR_LIMITS, ...limits };
  }

  /** Bytes consumed from the stream so far. */
  get offset(): number {
    return this.bytes.offset;
  }

  private truncated(what: string): TarFormatError {
    return new TarFormatError(`truncated archive: ${what}`);
  }

  /** The next entry, or null after the end-of-archive block. */
  async next(): Promise<TarEntry | null> {
    if (this.ended) return null;
    await this.skipRest();
    const overrides: Overrides = {};
    let longName: string | undefined;
    let longLink: string | undefined;
    const xattrs: string[] = [];
    let pending = false; // an extended header waits for its entry
    for (;;) {
      let block: Buffer | null;
      try {
        block = await this.bytes.read(BLOCK);
      } catch (e) {
        if (e instanceof EndOfStream) throw this.truncated(`the stream ends inside a header, ${this.bytes.offset + e.got} bytes in`);
        throw e;
      }
      if (block === null) {
        if (this.bytes.offset === 0) {
          this.ended = true;
          return null; // an empty stream: an empty archive
        }
        throw this.truncated(pending ? 'the stream ends after an extended header' : `the stream ends after ${this.entries} entries without the end-of-archive block`);
      }
      if (isZeroBlock(block)) {
        if (pending) throw new TarFormatError('an extended header is followed by the end of the archive');
        const second = await this.bytes.read(BLOCK).catch(() => null);
        if (second !== null && !isZeroBlock(second)) throw new TarFormatError(`a header follows an end-of-archive block at byte ${this.bytes.offset - 2 * BLOCK}`);
        this.ended = true;
        return null;
      }
      let header: RawHeader;
      try {
        header = parseHeader(block);
      } catch (e) {
        if (e instanceof TarFormatError) throw new TarFormatError(`${this.entries === 0 ? 'not a tar archive' : 'corrupt archive'}: ${e.message} at byte ${this.bytes.offset - BLOCK}`);
        throw e;
      }
      switch (header.type) {
        case 'x':
          pending = true;
          this.applyPax(await this.readMeta(header, this.limits.maxPaxBytes, 'PAX header'), overrides, xattrs, false);
          continue;
        case 'g':
          this.applyPax(await this.readMeta(header, this.limits.maxPaxBytes, 'PAX global header'), this.global, xattrs, true);
          continue;
        case 'L':
          pending = true;
          longName = decodeName(cStringOf(await this.readMeta(header, this.limits.maxPathBytes + 1, 'long name')), 'entry name');
          continue;
        case 'K':
          pending = true;
          longLink = decodeName(cStringOf(await this.readMeta(header, this.limits.maxPathBytes + 1, 'long link name')), 'link name');
          continue;
      }
      return this.makeEntry(header, { ...this.global, ...overrides }, longName, longLink, xattrs);
    }
  }

  private makeEntry(header: RawHeader, o: Overrides, longName: string | undefined, longLink: string | undefined, xattrs: string[]): TarEntry {
    const path = o.path ?? longName ?? decodeName(header.name, 'entry name');
    const known = TYPES[header.type];
    if (known === undefined) {
      const what = UNSUPPORTED[header.type];
      throw new TarFormatError(`entry ${JSON.stringify(path)} has ${what ? `type ${describeType(header.type)} (${what}), which is not supported` : `unknown type ${describeType(header.type)}`}`);
    }
    // Old archives mark directories with a trailing slash on a '\0' (regular) entry.
    const type: EntryType = header.type === '\0' && path.endsWith('/') ? 'directory' : known;
    const linkPath = type === 'symlink' || type === 'hardlink' ? (o.linkpath ?? longLink ?? decodeName(header.linkName, 'link name')) : '';
    if (Buffer.byteLength(path) > this.limits.maxPathBytes) throw new TarFormatError(`entry name ${JSON.stringify(path.slice(0, 64))}... is longer than ${this.limits.maxPathBytes} bytes`);
    if (Buffer.byteLength(linkPath) > this.limits.maxPathBytes) throw new TarFormatError(`entry ${JSON.stringify(path)}: link target longer than ${this.limits.maxPathBytes} bytes`);
    // Only regular files carry a body; other types' size fields are ignored (as Go's reader does).
    const size = type === 'file' ? (o.size ?? header.size) : 0;
    if (size < 0) throw new TarFormatError(`entry ${JSON.stringify(path)} has a negative size`);
    this.entries++;
    this.current = {
      path,
      type,
      linkPath,
      size,
      mode: header.mode,
      uid: o.uid ?? header.uid,
      gid: o.gid ?? header.gid,
      mtime: o.mtime ?? header.mtime,
      devMajor: header.devMajor,
      devMinor: header.devMinor,
      xattrs,
    };
    this.remaining = size;
    this.pad = padding(size);
    return this.current;
  }

  private async readMeta(header: RawHeader, max: number, what: string): Promise<Buffer> {
    if (header.size > max) throw new TarFormatError(`${what} of ${header.size} bytes exceeds the limit of ${max} bytes`);
    try {
      const data = header.size === 0 ? Buffer.alloc(0) : await this.bytes.read(header.size);
      if (data === null) throw new EndOfStream(0);
      await this.bytes.skip(padding(header.size));
      // Copied: the slice would pin the stream's chunk for as long as the value lives.
      return Buffer.from(data);
    } catch (e) {
      if (e instanceof EndOfStream) throw this.truncated(`the stream ends inside a ${what}`);
      throw e;
    }
  }

  private applyPax(data: Buffer, into: Overrides, xattrs: string[], global: boolean): void {
    for (const [key, raw] of parsePax(data)) {
      if (key.startsWith('GNU.sparse.')) throw new TarFormatError('the archive holds a GNU sparse file (PAX GNU.sparse.*), which is not supported');
      if (key.startsWith('SCHILY.xattr.') || key.startsWith('LIBARCHIVE.xattr.')) {
        xattrs.push(key.slice(key.indexOf('xattr.') + 6));
        continue;
      }
      // Global headers may not rename or resize every later entry.
      if (global && (key === 'path' || key === 'linkpath' || key === 'size')) continue;
      const value = raw.toString('utf8');
      if (raw.length === 0) {
        if (key in KEYS) {
          if (global) delete into[key as keyof Overrides];
          else into[key as keyof Overrides] = null;
        }
        continue;
      }
      switch (key) {
        case 'path':
        case 'linkpath':
          into[key] = decodeName(raw, key);
          break;
        case 'size':
        case 'uid':
        case 'gid':
          into[key] = paxInteger(key, value);
          break;
        case 'mtime':
          if (!/^-?[0-9]{1,16}(\.[0-9]*)?$/.test(value)) throw new TarFormatError(`PAX mtime=${JSON.stringify(value)} is not a valid time`);
          into.mtime = Number(value);
          break;
      }
    }
  }

  /** The current entry's body, in slices of the stream's chunks. */
  async *body(): AsyncGenerator<Buffer> {
    const entry = this.current;
    while (this.remaining > 0) {
      let chunk: Buffer;
      try {
        chunk = await this.bytes.some(this.remaining);
      } catch (e) {
        if (e instanceof EndOfStream && entry) throw this.truncated(`entry ${JSON.stringify(entry.path)} ends after ${entry.size - this.remaining} of its ${entry.size} bytes`);
        throw e;
      }
      this.remaining -= chunk.length;
      yield chunk;
    }
  }

  private async skipRest(): Promise<void> {
    const entry = this.current;
    if (!entry) return;
    const need = this.remaining + this.pad;
    this.remaining = 0;
    this.pad = 0;
    try {
      await this.bytes.skip(need);
    } catch (e) {
      if (e instanceof EndOfStream) throw this.truncated(`entry ${JSON.stringify(entry.path)} ends before its ${entry.size} bytes and padding`);
      throw e;
    }
    this.current = null;
  }

  /** Reads the rest of the stream (the zero padding after the end-of-archive blocks). */
  async drain(): Promise<void> {
    await this.bytes.drain();
  }
}

function cStringOf(data: Buffer): Buffer {
  const nul = data.indexOf(0);
  return nul === -1 ? data : data.subarray(0, nul);
}
