/**
 * A build step's layer: the overlay upper directory it wrote, as an OCI layer tar. Overlay marks a
 * deleted path with a 0/0 character device (written as the whiteout file `.wh.NAME`) and a
 * directory whose lower contents are hidden with the xattr trusted.overlay.opaque=y (written as the
 * directory plus `.wh..wh..opq`). Hard links inside the layer stay hard links. The tar goes to a
 * file; its sha256 is the layer's diff id.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { packTar, type PackItem } from '../../util/tar-pack.js';

export interface WrittenLayer {
  diffId: string;
  size: number;
}

/** Directories of `upper` marked opaque (relative paths), read with one getfattr. */
async function opaqueDirs(upper: string): Promise<Set<string>> {
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn('getfattr', ['-R', '-P', '--absolute-names', '-d', '-m', '^trusted\\.overlay\\.opaque$', upper], { stdio: ['ignore', 'pipe', 'ignore'] });
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', () => resolve(text));
  });
  const dirs = new Set<string>();
  let file: string | null = null;
  for (const line of out.split('\n')) {
    if (line.startsWith('# file: ')) file = line.slice('# file: '.length);
    else if (file && /^trusted\.overlay\.opaque="y"/.test(line)) dirs.add(posix.relative(upper, file));
  }
  return dirs;
}

async function* items(upper: string, opaque: Set<string>): AsyncGenerator<PackItem> {
  const links = new Map<string, string>();
  async function* walk(rel: string): AsyncGenerator<PackItem> {
    for (const name of (await readdir(rel === '' ? upper : posix.join(upper, rel))).sort()) {
      const path = rel === '' ? name : `${rel}/${name}`;
      const full = posix.join(upper, path);
      const st = await lstat(full);
      const base = { name: path, mode: st.mode & 0o7777, mtime: st.mtimeMs / 1000, uid: st.uid, gid: st.gid };
      if (st.isCharacterDevice() && st.rdev === 0) {
        yield { entry: { ...base, name: rel === '' ? `.wh.${name}` : `${rel}/.wh.${name}`, type: 'file', size: 0, mode: 0, uid: 0, gid: 0 } };
      } else if (st.isDirectory()) {
        yield { entry: { ...base, type: 'directory' } };
        if (opaque.has(path)) yield { entry: { name: `${path}/.wh..wh..opq`, type: 'file', size: 0, mode: 0, mtime: base.mtime } };
        yield* walk(path);
      } else if (st.isSymbolicLink()) {
        yield { entry: { ...base, type: 'symlink', linkName: await readlink(full) } };
      } else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? links.get(key) : undefined;
        if (first !== undefined) {
          yield { entry: { ...base, type: 'hardlink', linkName: first } };
          continue;
        }
        if (st.nlink > 1) links.set(key, path);
        yield { entry: { ...base, type: 'file', size: st.size }, body: createReadStream(full, { highWaterMark: 256 * 1024 }) };
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        yield { entry: { ...base, type: st.isCharacterDevice() ? 'character-device' : 'block-device', devMajor: Math.floor(st.rdev / 256) & 0xfff, devMinor: (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00) } };
      } else if (st.isFIFO()) {
        yield { entry: { ...base, type: 'fifo' } };
      }
      // sockets are not part of a layer
    }
  }
  yield* walk('');
}

/** Writes the layer of `upper` to `file`. */
export async function writeLayer(upper: string, file: string): Promise<WrittenLayer> {
  const hash = createHash('sha256');
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  await pipeline(packTar(items(upper, await opaqueDirs(upper))), tap, createWriteStream(file, { mode: 0o600 }));
  return { diffId: `sha256:${hash.digest('hex')}`, size };
}
