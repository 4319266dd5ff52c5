/**
 * A directory as an image layer tar: what a build step or a committed container changed, read
 * from its overlay upper directory. Overlay's own marks become the OCI ones: a character device
 * 0/0 (a deleted path) is written as the whiteout file `.wh.NAME`, a directory with
 * trusted.overlay.opaque=y (its lower contents hidden) as the directory plus `.wh..wh..opq`.
 * Extended attributes are kept, binary values included (file capabilities), except overlay's
 * own trusted.overlay.* bookkeeping. Hard links within the directory stay hard links (the first
 * name in byte order holds the data). Names are in byte order, as Go's walk gives them, so the
 * same tree gives the same tar, and the same diff id. Sockets are not part of a layer.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { packTar, type PackItem } from '../../util/tar-pack.js';
import { OPAQUE_XATTR, readXattrs, type XattrPlan } from './layer-fs.js';

const OVERLAY_XATTRS = 'trusted.overlay.';

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** glibc's major()/minor() of a dev_t. */
function deviceNumbers(rdev: number): { devMajor: number; devMinor: number } {
  const n = BigInt(rdev);
  return { devMajor: Number(((n >> 8n) & 0xfffn) | ((n >> 32n) & ~0xfffn)), devMinor: Number((n & 0xffn) | ((n >> 12n) & ~0xffn)) };
}

async function* items(root: string, xattrs: XattrPlan): AsyncGenerator<PackItem> {
  const firstName = new Map<string, string>();
  const kept = (path: string): Map<string, Buffer> | undefined => {
    const all = xattrs.get(path);
    if (!all) return undefined;
    const out = new Map([...all].filter(([k]) => !k.startsWith(OVERLAY_XATTRS)));
    return out.size > 0 ? out : undefined;
  };
  async function* walk(rel: string): AsyncGenerator<PackItem> {
    const names = (await readdir(rel === '' ? root : join(root, rel))).sort(byteOrder);
    for (const name of names) {
      const path = rel === '' ? name : `${rel}/${name}`;
      const full = join(root, path);
      const st = await lstat(full);
      const attrs = kept(path);
      const base = { name: path, mode: st.mode & 0o7777, mtime: Math.floor(st.mtimeMs / 1000), uid: st.uid, gid: st.gid, ...(attrs ? { xattrs: attrs } : {}) };
      if (st.isCharacterDevice() && st.rdev === 0) {
        yield { entry: { name: rel === '' ? `.wh.${name}` : `${rel}/.wh.${name}`, type: 'file', size: 0, mode: 0, mtime: base.mtime } };
      } else if (st.isDirectory()) {
        yield { entry: { ...base, type: 'directory' } };
        if (xattrs.get(path)?.get(OPAQUE_XATTR)?.toString() === 'y') yield { entry: { name: `${path}/.wh..wh..opq`, type: 'file', size: 0, mode: 0, mtime: base.mtime } };
        yield* walk(path);
      } else if (st.isSymbolicLink()) {
        yield { entry: { ...base, type: 'symlink', linkName: await readlink(full) } };
      } else if (st.isFile()) {
        const inode = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? firstName.get(inode) : undefined;
        if (first !== undefined) {
          yield { entry: { ...base, type: 'hardlink', linkName: first } };
          continue;
        }
        if (st.nlink > 1) firstName.set(inode, path);
        yield { entry: { ...base, type: 'file', size: st.size }, body: createReadStream(full, { highWaterMark: 256 * 1024 }) };
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        yield { entry: { ...base, type: st.isCharacterDevice() ? 'character-device' : 'block-device', ...deviceNumbers(st.rdev) } };
      } else if (st.isFIFO()) {
        yield { entry: { ...base, type: 'fifo' } };
      }
    }
  }
  yield* walk('');
}

/** The layer tar of `dir` (an overlay upper directory, or any tree), streamed. */
export async function dirLayerTar(dir: string): Promise<Readable> {
  const xattrs = await readXattrs(dir);
  return packTar(items(dir, xattrs));
}

/** Writes the layer tar of `dir` to `file` (a build cache keeps it); resolves to its diff id and size. */
export async function writeDirLayer(dir: string, file: string): Promise<{ diffId: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  await pipeline(await dirLayerTar(dir), tap, createWriteStream(file, { mode: 0o600 }));
  return { diffId: `sha256:${hash.digest('hex')}`, size };
}
