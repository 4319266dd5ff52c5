/**
 * Writing tar archives through tar-stream's packer: ustar headers, with PAX records where ustar
 * cannot hold a name or link target (long or non-ASCII), GNU base-256 for sizes of 8 GiB and
 * more. Entries come from an async source so file bodies are streamed, never held whole.
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
  /** Extra PAX records (text values only). */
  pax?: Record<string, string>;
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

function header(e: PackEntry): Header {
  const h: Header = {
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
  if (e.pax) h.pax = e.pax;
  return h;
}

function finished(sink: NodeJS.EventEmitter): Promise<void> {
  return new Promise((resolve, reject) => {
    sink.once('error', reject);
    sink.once('finish', () => resolve());
    sink.once('close', () => resolve());
  });
}

async function fill(pack: Pack, items: AsyncIterable<PackItem> | Iterable<PackItem>): Promise<void> {
  for await (const { entry, body } of items) {
    const sink = pack.entry(header(entry));
    const done = finished(sink);
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
