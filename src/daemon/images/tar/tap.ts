/**
 * What tar-stream (./reader.ts parses entries with it) does not give: it walks the raw archive
 * one step ahead of tar-stream, block for block, and
 *  - keeps every PAX record as bytes: tar-stream decodes PAX values as UTF-8, which mangles binary
 *    extended attributes (security.capability), drops repeated keys (GNU sparse 0.0), and applies
 *    only path, linkpath and size (not uid, gid, mtime);
 *  - turns GNU's old sparse entries (type 'S', which tar-stream does not know, whose map sits in
 *    the header and in extension blocks tar-stream would read as file data) into plain file
 *    entries, the map kept on the side;
 *  - checks what tar-stream does not: header names are UTF-8, metadata stays within the limits,
 *    the archive ends with its end-of-archive block and not early, nothing but padding follows
 *    that block (a header after a lone zero block is refused, as Go's reader refuses it).
 * Both sides must agree where each header is, so the tap follows tar-stream's rules for sizes:
 * a directory has no body whatever its size says, and a PAX size applies only to an entry with
 * an extended header of its own (global records then merged into it, as tar-stream merges them).
 *
 * Each entry's findings are kept under the offset of its header in the tap's output, which is the
 * offset tar-stream reports with the entry.
 */
import { ByteReader, EndOfStream } from './bytes.js';
import { BLOCK, TarFormatError, decodeName, isZeroBlock, parseHeader, parseNumeric, parsePaxRecords, type RawHeader } from './header.js';

export interface SparseSegment {
  offset: number;
  length: number;
}

/** How a sparse entry's data maps onto the file. */
export type SparseForm =
  /** GNU old format or PAX 0.0/0.1: the map is known from the headers. */
  | { kind: 'map'; realSize: number; segments: SparseSegment[]; name: string | null }
  /** PAX 1.0: the map is at the start of the entry's data. */
  | { kind: 'inline'; realSize: number; name: string | null };

export interface EntryExtras {
  /** The type flag as stored ('S' for a GNU sparse entry the tap made a plain file). */
  typeflag: string;
  /** The entry's name and link name, UTF-8 checked: PAX, GNU long or header, in that order. */
  path: string;
  linkPath: string;
  /** From PAX records when given (tar-stream reads only the header's fields). */
  uid: number;
  gid: number;
  /** Seconds since the epoch, possibly fractional (PAX) or negative. */
  mtime: number;
  /** SCHILY.xattr.* / LIBARCHIVE.xattr.* records: attribute name → value bytes. */
  xattrs: Map<string, Buffer>;
  sparse: SparseForm | null;
}

export interface TapLimits {
  maxPathBytes: number;
  maxPaxBytes: number;
}

const OLD_SPARSE_ENTRIES = 4;
const EXTENSION_ENTRIES = 21;

function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

function integer(value: Buffer, what: string): number {
  const text = value.toString('latin1');
  if (!/^[0-9]{1,16}$/.test(text) || !Number.isSafeInteger(Number(text))) throw new TarFormatError(`PAX ${what}=${JSON.stringify(text)} is not a valid number`);
  return Number(text);
}

/** A header block with another type flag and the checksum made anew. */
function retyped(block: Buffer, type: string): Buffer {
  const out = Buffer.from(block);
  out.write(type, 156, 1, 'latin1');
  out.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of out) sum += b;
  out.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return out;
}

/** Offset and length pairs stored as 12-byte numeric fields, until an empty slot. */
function pairsOf(area: Buffer, count: number, into: SparseSegment[]): void {
  for (let i = 0; i < count; i++) {
    const at = i * 24;
    if (area[at] === 0) return;
    into.push({ offset: parseNumeric(area.subarray(at, at + 12), 'sparse offset'), length: parseNumeric(area.subarray(at + 12, at + 24), 'sparse length') });
  }
}

export class TarTap {
  private readonly found = new Map<number, EntryExtras>();
  private global = new Map<string, Buffer>();
  private entries = 0;

  constructor(private readonly limits: TapLimits) {}

  /** The findings for the entry whose header tar-stream read at `offset`; each is handed out once. */
  take(offset: number): EntryExtras | undefined {
    const e = this.found.get(offset);
    this.found.delete(offset);
    return e;
  }

  private truncated(what: string): TarFormatError {
    return new TarFormatError(`truncated archive: ${what}`);
  }

  /** The archive as tar-stream should see it. */
  async *run(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    const bytes = new ByteReader(source[Symbol.asyncIterator]());
    let out = 0;
    let local: [string, Buffer][] | null = null;
    let longName: string | null = null;
    let longLink: string | null = null;
    const pendingMeta = (): boolean => local !== null || longName !== null || longLink !== null;

    const readBlock = async (): Promise<Buffer | null> => {
      try {
        return await bytes.read(BLOCK);
      } catch (e) {
        if (e instanceof EndOfStream) throw this.truncated(`the stream ends inside a header, ${bytes.offset + e.got} bytes in`);
        throw e;
      }
    };
    const readBody = async (size: number, what: string): Promise<Buffer> => {
      try {
        const data = size === 0 ? Buffer.alloc(0) : await bytes.read(size);
        if (data === null) throw new EndOfStream(0);
        await bytes.skip(padding(size));
        return Buffer.from(data);
      } catch (e) {
        if (e instanceof EndOfStream) throw this.truncated(`the stream ends inside a ${what}`);
        throw e;
      }
    };

    for (;;) {
      const block = await readBlock();
      if (block === null) {
        if (bytes.offset === 0) return; // an empty stream: an empty archive
        throw this.truncated(pendingMeta() ? 'the stream ends after an extended header' : `the stream ends after ${this.entries} entries without the end-of-archive block`);
      }
      if (isZeroBlock(block)) {
        if (pendingMeta()) throw new TarFormatError('an extended header is followed by the end of the archive');
        const second = await bytes.read(BLOCK).catch(() => null);
        if (second !== null && !isZeroBlock(second)) throw new TarFormatError(`a header follows an end-of-archive block at byte ${bytes.offset - 2 * BLOCK}`);
        yield Buffer.alloc(2 * BLOCK);
        await bytes.drain(); // whatever follows the end is not read as entries (as Docker does not)
        return;
      }
      let header: RawHeader;
      try {
        header = parseHeader(block);
      } catch (e) {
        if (e instanceof TarFormatError) throw new TarFormatError(`${this.entries === 0 && out === 0 ? 'not a tar archive' : 'corrupt archive'}: ${e.message} at byte ${bytes.offset - BLOCK}`);
        throw e;
      }
      const pass = async function* (data: Buffer, size: number): AsyncGenerator<Buffer> {
        yield block;
        if (size > 0) yield data;
        const pad = padding(size);
        if (pad > 0) yield Buffer.alloc(pad);
      };
      switch (header.type) {
        case 'x':
        case 'g': {
          const what = header.type === 'x' ? 'PAX header' : 'PAX global header';
          if (header.size > this.limits.maxPaxBytes) throw new TarFormatError(`${what} of ${header.size} bytes exceeds the limit of ${this.limits.maxPaxBytes} bytes`);
          const data = await readBody(header.size, what);
          const records = parsePaxRecords(data);
          for (const [key, value] of records) if (key === 'path' || key === 'linkpath') decodeName(value, key);
          if (header.type === 'x') local = records;
          else this.global = new Map(records);
          for await (const b of pass(data, header.size)) {
            out += b.length;
            yield b;
          }
          continue;
        }
        case 'L':
        case 'K': {
          const what = header.type === 'L' ? 'long name' : 'long link name';
          if (header.size > this.limits.maxPathBytes + 1) throw new TarFormatError(`${what} of ${header.size} bytes exceeds the limit of ${this.limits.maxPathBytes + 1} bytes`);
          const data = await readBody(header.size, what);
          const nul = data.indexOf(0);
          const name = decodeName(nul === -1 ? data : data.subarray(0, nul), header.type === 'L' ? 'entry name' : 'link name');
          if (header.type === 'L') longName = name;
          else longLink = name;
          for await (const b of pass(data, header.size)) {
            out += b.length;
            yield b;
          }
          continue;
        }
      }
      // An entry. Its name: a PAX path of its own, else a GNU long name, else the header's (global
      // records may not rename every later entry). uid, gid and mtime may come from either.
      const own = new Map(local ?? []);
      const records: [string, Buffer][] = [...this.global, ...(local ?? [])];
      const pax = new Map(records);
      const named = (key: string, long: string | null, raw: Buffer, what: string): string => {
        const v = own.get(key);
        if (v !== undefined && v.length > 0) return decodeName(v, key);
        return long ?? decodeName(raw, what);
      };
      const path = named('path', longName, header.name, 'entry name');
      const isLink = header.type === '1' || header.type === '2';
      const extras: EntryExtras = {
        typeflag: header.type,
        path,
        linkPath: isLink ? named('linkpath', longLink, header.linkName, 'link name') : '',
        uid: numberOr(pax, 'uid', header.uid),
        gid: numberOr(pax, 'gid', header.gid),
        mtime: timeOr(pax, header.mtime),
        xattrs: new Map(),
        sparse: null,
      };
      for (const [key, value] of records) {
        if (key.startsWith('SCHILY.xattr.')) extras.xattrs.set(key.slice('SCHILY.xattr.'.length), value);
        else if (key.startsWith('LIBARCHIVE.xattr.')) extras.xattrs.set(decodeURIComponent(key.slice('LIBARCHIVE.xattr.'.length)), Buffer.from(value.toString('latin1'), 'base64'));
      }
      let headerBlock = block;
      if (header.type === 'S') {
        extras.sparse = await this.oldGnuSparse(block, bytes);
        headerBlock = retyped(block, '0');
      } else {
        extras.sparse = paxSparse(records, pax);
      }
      let size = header.type === '5' ? 0 : header.size;
      if (header.type !== '5' && local !== null) {
        const paxSize = pax.get('size');
        if (paxSize !== undefined && paxSize.length > 0) size = integer(paxSize, 'size');
      }
      if (size < 0) throw new TarFormatError(`entry ${JSON.stringify(path)} has a negative size`);
      this.found.set(out, extras);
      this.entries++;
      local = null;
      longName = null;
      longLink = null;
      out += BLOCK;
      yield headerBlock;
      let left = size + padding(size);
      try {
        while (left > 0) {
          const chunk = await bytes.some(left);
          left -= chunk.length;
          out += chunk.length;
          yield chunk;
        }
      } catch (e) {
        if (e instanceof EndOfStream) throw this.truncated(`entry ${JSON.stringify(path)} ends after ${Math.min(size, size + padding(size) - left)} of its ${size} bytes`);
        throw e;
      }
    }
  }

  /** The map of a type 'S' entry: up to four pairs in its header, more in extension blocks. */
  private async oldGnuSparse(block: Buffer, bytes: ByteReader): Promise<SparseForm> {
    const segments: SparseSegment[] = [];
    pairsOf(block.subarray(386, 482), OLD_SPARSE_ENTRIES, segments);
    let extended = block[482] !== 0;
    while (extended) {
      let ext: Buffer | null;
      try {
        ext = await bytes.read(BLOCK);
      } catch {
        ext = null;
      }
      if (ext === null) throw this.truncated('the stream ends inside a GNU sparse map');
      pairsOf(ext, EXTENSION_ENTRIES, segments);
      extended = ext[504] !== 0;
      if (segments.length > 1_000_000) throw new TarFormatError('a GNU sparse map of more than a million segments');
    }
    return { kind: 'map', realSize: parseNumeric(block.subarray(483, 495), 'sparse real size'), segments, name: null };
  }
}

/** A PAX number overriding a header field; an empty value cancels a global one. */
function numberOr(pax: Map<string, Buffer>, key: 'uid' | 'gid', fallback: number): number {
  const v = pax.get(key);
  return v === undefined || v.length === 0 ? fallback : integer(v, key);
}

function timeOr(pax: Map<string, Buffer>, fallback: number): number {
  const v = pax.get('mtime');
  if (v === undefined || v.length === 0) return fallback;
  const text = v.toString('latin1');
  if (!/^-?[0-9]{1,16}(\.[0-9]*)?$/.test(text)) throw new TarFormatError(`PAX mtime=${JSON.stringify(text)} is not a valid time`);
  return Number(text);
}

/** GNU's PAX sparse formats: 0.0 (repeated offset/numbytes records), 0.1 (one map record), 1.0 (map in the data). */
function paxSparse(records: [string, Buffer][], pax: Map<string, Buffer>): SparseForm | null {
  const text = (key: string): string | undefined => pax.get(key)?.toString('utf8');
  const major = text('GNU.sparse.major');
  const minor = text('GNU.sparse.minor');
  const name = text('GNU.sparse.name') ?? null;
  if (major === '1' && minor === '0') {
    const real = pax.get('GNU.sparse.realsize');
    if (real === undefined) throw new TarFormatError('a GNU sparse 1.0 entry without GNU.sparse.realsize');
    return { kind: 'inline', realSize: integer(real, 'GNU.sparse.realsize'), name };
  }
  if (major !== undefined) throw new TarFormatError(`GNU sparse format ${major}.${minor ?? '?'} is not known`);
  const sizeRecord = pax.get('GNU.sparse.size');
  const map = text('GNU.sparse.map');
  if (map !== undefined) {
    if (sizeRecord === undefined) throw new TarFormatError('a GNU sparse 0.1 entry without GNU.sparse.size');
    const numbers = map === '' ? [] : map.split(',').map((n) => integer(Buffer.from(n), 'GNU.sparse.map'));
    if (numbers.length % 2 !== 0) throw new TarFormatError('GNU.sparse.map has an odd count of numbers');
    const segments: SparseSegment[] = [];
    for (let i = 0; i < numbers.length; i += 2) segments.push({ offset: numbers[i] ?? 0, length: numbers[i + 1] ?? 0 });
    return { kind: 'map', realSize: integer(sizeRecord, 'GNU.sparse.size'), segments, name };
  }
  if (records.some(([k]) => k === 'GNU.sparse.offset')) {
    if (sizeRecord === undefined) throw new TarFormatError('a GNU sparse 0.0 entry without GNU.sparse.size');
    const segments: SparseSegment[] = [];
    let offset: number | null = null;
    for (const [key, value] of records) {
      if (key === 'GNU.sparse.offset') {
        if (offset !== null) throw new TarFormatError('GNU sparse 0.0 records out of order');
        offset = integer(value, key);
      } else if (key === 'GNU.sparse.numbytes') {
        if (offset === null) throw new TarFormatError('GNU sparse 0.0 records out of order');
        segments.push({ offset, length: integer(value, key) });
        offset = null;
      }
    }
    if (offset !== null) throw new TarFormatError('GNU sparse 0.0 records out of order');
    return { kind: 'map', realSize: integer(sizeRecord, 'GNU.sparse.size'), segments, name };
  }
  return null;
}
