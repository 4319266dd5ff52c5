/**
 * Writing tar archives through tar-stream's packer: ustar headers, with PAX records where ustar
 * cannot hold a name, a link target (long or non-ASCII), an owner id (over 262143) or extended
 * attributes; GNU base-256 for sizes of 8 GiB and more. Entries come from an async source so file
 * bodies are streamed, never held whole.
 *
 * The PAX extended headers are written here, not by tar-stream: tar-stream builds their records
 * as JavaScript strings and encodes them as UTF-8, which corrupts binary values (a file
 * capability, security.capability, is binary), and it has no place for extended attributes. An
 * entry that needs one gets its 'x' header pushed into the packer's output just before it, and
 * tar-stream gets a stand-in header it can write as plain ustar (an ASCII name that fits, ids
 * that fit), which the PAX records override for every reader (GNU tar, Go's archive/tar, ours).
 */
import { Readable } from 'node:stream';
import { pack as tarPack, type Header, type Pack } from 'tar-stream';

export interface PackEntry {
  /** Relative path with "/" separators; directories without a trailing "/". */
  name: string;
  type: 'file' | 'directory' | 'symlink' | 'hardlink' | 'character-device' | 'block-device' | 'fifo';
  /** Permission bits (and setuid/setgid/sticky). */
  mode: number;
  /** Seconds since the epoch. */
  mtime: number;
  /** Bytes of body (files only); the body must have exactly this many. */
  size?: number;
  /** Symlink target, or the name of the earlier entry a hard link points at. */
  linkName?: string;
  uid?: number;
  gid?: number;
  devMajor?: number;
  devMinor?: number;
  /** Extra PAX records (text values). */
  pax?: Record<string, string>;
  /** Extended attributes (SCHILY.xattr.* records): name → value, binary values kept as they are. */
  xattrs?: ReadonlyMap<string, Buffer>;
}

export interface PackItem {
  entry: PackEntry;
  /** A file's contents (size bytes). */
  body?: AsyncIterable<Uint8Array> | Buffer;
}

const TYPE_BITS: Record<PackEntry['type'], number> = {
  file: 0o100000,
  directory: 0o040000,
  symlink: 0o120000,
  hardlink: 0o100000,
  'character-device': 0o020000,
  'block-device': 0o060000,
  fifo: 0o010000,
};

const BLOCK = 512;
/** The largest id ustar's 7 octal digits hold as tar-stream writes them (6 digits and a space). */
const MAX_USTAR_ID = 0o777777;

function isAscii(text: string): boolean {
  return /^[\x01-\x7f]*$/.test(text);
}

/** Whether tar-stream writes `name` into a ustar header (split at a "/" into prefix and name) without PAX. */
export function fitsUstar(name: string): boolean {
  if (!isAscii(name)) return false;
  let rest = name;
  let prefix = '';
  while (rest.length > 100) {
    const slash = rest.indexOf('/');
    if (slash === -1) return false;
    prefix += prefix ? `/${rest.slice(0, slash)}` : rest.slice(0, slash);
    rest = rest.slice(slash + 1);
  }
  return prefix.length <= 155;
}

/** A name for readers that ignore PAX: ASCII, at most `max` bytes. */
function standIn(name: string, max: number): string {
  return name.replace(/[^\x01-\x7f]/g, '_').slice(0, max);
}

/** One PAX record, "<length> <key>=<value>\n", whose length counts its own digits. */
function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.byteLength(key) + value.length + 3; // space, "=", newline
  let length = body + String(body).length;
  if (String(length).length !== String(body).length) length = body + String(length).length;
  return Buffer.concat([Buffer.from(`${length} ${key}=`), value, Buffer.from('\n')]);
}

function octal(block: Buffer, offset: number, width: number, value: number): void {
  block.write(`${value.toString(8).padStart(width - 1, '0')}\0`, offset, width, 'latin1');
}

/** An 'x' header block for `size` bytes of records, then the records and their padding. */
function paxHeader(name: string, records: Buffer, mtime: number): Buffer {
  const block = Buffer.alloc(BLOCK);
  block.write(standIn(`PaxHeaders/${name.slice(name.lastIndexOf('/', name.length - 2) + 1)}`, 100), 0, 100, 'latin1');
  octal(block, 100, 8, 0o644);
  octal(block, 108, 8, 0);
  octal(block, 116, 8, 0);
  octal(block, 124, 12, records.length);
  octal(block, 136, 12, Math.max(0, Math.min(0o77777777777, Math.floor(mtime))));
  block.write('x', 156, 1, 'latin1');
  block.write('ustar\x0000', 257, 8, 'latin1');
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of block) sum += b;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return Buffer.concat([block, records, Buffer.alloc((BLOCK - (records.length % BLOCK)) % BLOCK)]);
}

/**
 * The PAX header an entry needs (null when plain ustar holds it all), and the entry as
 * tar-stream should then write it: stand-ins where the records carry the real values.
 */
function withPax(e: PackEntry): { pax: Buffer | null; entry: PackEntry } {
  const name = e.type === 'directory' && !e.name.endsWith('/') ? `${e.name}/` : e.name;
  const link = e.linkName ?? '';
  const records: Buffer[] = [];
  const entry: PackEntry = { ...e };
  delete entry.pax;
  delete entry.xattrs;
  if (!fitsUstar(name)) {
    records.push(paxRecord('path', Buffer.from(name)));
    entry.name = standIn(name, 99);
  }
  if (link !== '' && (!isAscii(link) || link.length > 100)) {
    records.push(paxRecord('linkpath', Buffer.from(link)));
    entry.linkName = standIn(link, 100);
  }
  for (const key of ['uid', 'gid'] as const) {
    const id = e[key] ?? 0;
    if (id > MAX_USTAR_ID) {
      records.push(paxRecord(key, Buffer.from(String(id))));
      entry[key] = 0;
    }
  }
  for (const [key, value] of Object.entries(e.pax ?? {})) records.push(paxRecord(key, Buffer.from(value)));
  const xattrs = [...(e.xattrs ?? new Map<string, Buffer>())].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [key, value] of xattrs) records.push(paxRecord(`SCHILY.xattr.${key}`, value));
  if (records.length === 0) return { pax: null, entry };
  return { pax: paxHeader(name, Buffer.concat(records), e.mtime), entry };
}

function header(e: PackEntry): Header {
  return {
    name: e.type === 'directory' && !e.name.endsWith('/') ? `${e.name}/` : e.name,
    type: e.type === 'hardlink' ? 'link' : e.type,
    // tar-stream replaces a mode of 0 with its default; the type bits keep it non-zero and are
    // masked off when the header is written.
    mode: (e.mode & 0o7777) | TYPE_BITS[e.type],
    mtime: new Date(Math.max(0, Math.floor(e.mtime)) * 1000),
    size: e.type === 'file' ? (e.size ?? 0) : 0,
    linkname: e.linkName ?? '',
    uid: e.uid ?? 0,
    gid: e.gid ?? 0,
    uname: '',
    gname: '',
    devmajor: e.devMajor ?? 0,
    devminor: e.devMinor ?? 0,
  };
}

function finished(sink: NodeJS.EventEmitter): Promise<void> {
  return new Promise((resolve, reject) => {
    sink.once('error', reject);
    sink.once('finish', () => resolve());
    sink.once('close', () => resolve());
  });
}

async function fill(pack: Pack, items: AsyncIterable<PackItem> | Iterable<PackItem>): Promise<void> {
  for await (const { entry: given, body } of items) {
    const { pax, entry } = withPax(given);
    // Between entries nothing else writes to the packer: the header lands right before its entry.
    if (pax !== null) pack.push(pax);
    const sink = pack.entry(header(entry));
    const done = finished(sink);
    // When the body fails, the packer is destroyed with its error and the entry with it: that
    // rejection is the body's own, already reported, and must not go unhandled (it ends a process).
    done.catch(() => undefined);
    if (entry.type === 'file' && body !== undefined) {
      if (Buffer.isBuffer(body)) {
        if (!sink.write(body)) await new Promise<void>((r) => sink.once('drain', () => r()));
      } else {
        for await (const chunk of body) {
          if (!sink.write(chunk)) await new Promise<void>((r) => sink.once('drain', () => r()));
        }
      }
    }
    sink.end(undefined);
    await done;
  }
  pack.finalize();
}

/** The archive of `items`, streamed; an error from the source ends the stream with that error. */
export function packTar(items: AsyncIterable<PackItem> | Iterable<PackItem>): Readable {
  const pack = tarPack();
  fill(pack, items).catch((e: unknown) => pack.destroy(e instanceof Error ? e : new Error(String(e))));
  return Readable.from(pack as unknown as AsyncIterable<Buffer>, { objectMode: false });
}
