/**
 * One image layer unpacked into a directory of its own: a snapshot that containers stack with the
 * snapshots below it as overlay lower dirs. The layer's whiteouts become overlay whiteouts
 * (`.wh.x` → a character device 0/0 named x; `.wh..wh..opq` → the directory's
 * trusted.overlay.opaque=y), so what they hide is hidden by the kernel, and a snapshot depends on
 * nothing but its layer (two images share it whatever lies below).
 *
 * The rules for entries (see docs/embedded-engine.md, "Extraction policy"):
 *  - names are made relative (a leading "/" or "./" is dropped, as docker load does) and a ".."
 *    that climbs above the root is refused;
 *  - nothing on the host is ever followed: every parent of an entry must be a real directory made
 *    by this layer (a symlink on the way is refused), files are created with O_EXCL|O_NOFOLLOW
 *    after removing what was there, metadata goes through the file descriptor or the l* calls;
 *  - relative symlink targets that climb above the root are refused; absolute ones are stored as
 *    they are (the container's kernel resolves them against the container's root);
 *  - hard links must name an earlier regular file of the same layer, by a relative name;
 *  - character and block devices only under dev/, FIFOs anywhere;
 *  - extended attributes are kept (file capabilities among them), except trusted.overlay.*,
 *    which would change what overlayfs shows;
 *  - setuid and setgid bits are kept, as Docker keeps them (chmod after chown, which clears them).
 */
import { createHash, type Hash } from 'node:crypto';
import { chmodSync, closeSync, constants, fchmodSync, fchownSync, futimesSync, lchownSync, linkSync, lutimesSync, mkdirSync, openSync, symlinkSync, writeSync } from 'node:fs';
import { chmod, lstat, lutimes, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CommandError, run } from '../command.js';
import { EngineError, type EngineErrorKind } from '../../contract/errors.js';
import { DiskGuard } from './disk.js';
import { OPAQUE_XATTR, makeWhiteouts, setXattrs, type XattrPlan } from './layer-fs.js';
import { ancestorsOf, baseOf, isInside, normaliseEntryName, parentOf, symlinkEscapes } from './paths.js';
import { decompressed } from './tar/decompress.js';
import { TarFormatError } from './tar/header.js';
import { TarReader, type TarEntry } from './tar/reader.js';
import type { ImageLimits } from './types.js';

const OPAQUE = '.wh..wh..opq';
const WHITEOUT = '.wh.';
const CREATE_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
/**
 * Files up to this size, directories, links and metadata are made with synchronous calls: each
 * takes microseconds in the page cache, while the promise form hands every call to libuv's thread
 * pool and back (two thread switches), which cost more CPU than the calls themselves in a layer of
 * thousands of small files. Larger files keep asynchronous writes, so a slow disk never holds the
 * daemon's event loop for more than one call.
 */
const SYNC_FILE_BYTES = 1024 * 1024;

export function describeBytes(n: number): string {
  for (const [unit, size] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (n >= size && n % size === 0) return `${n / size} ${unit}`;
  }
  return `${n} bytes`;
}

function errnoText(e: NodeJS.ErrnoException): string {
  // "ENOSPC: no space left on device, write '/long/host/path'" → "no space left on device (ENOSPC)"
  const text = e.message.replace(/^[A-Z0-9_]+: /, '').replace(/, \w+ '.*$/s, '');
  return e.code ? `${text} (${e.code})` : text;
}

function errnoKind(code: string | undefined): EngineErrorKind {
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'EMFILE' || code === 'ENFILE' || code === 'ENOMEM') return 'resource';
  if (code === 'ENAMETOOLONG' || code === 'ELOOP' || code === 'EINVAL') return 'invalid';
  return 'engine';
}

/** The uncompressed bytes of an image's layers so far, shared by its layers' unpackers. */
export class SizeBudget {
  used = 0;
  constructor(readonly limit: number) {}
}

export interface UnpackResult {
  /** sha256 of the uncompressed tar. */
  diffId: string;
  /** Bytes of regular files (each inode once) and symlinks in the layer. */
  size: number;
  /** Bytes of the uncompressed tar (what `image save` writes). */
  tarSize: number;
}

export class LayerUnpacker {
  /** Paths made real directories by this layer (the root included). */
  private readonly dirs = new Set<string>(['']);
  /** Every path this layer has made: the directory starts empty and nothing else writes in it. */
  private readonly made = new Map<string, 'dir' | 'file' | 'other'>();
  private readonly deferred = new Map<string, { mode: number; mtime: number }>();
  private readonly xattrs: XattrPlan = new Map();
  private readonly whiteouts = new Set<string>();
  private readonly opaque = new Set<string>();
  private readonly asRoot = process.getuid?.() === 0;
  private readonly disk: DiskGuard;
  private entryName: string | null = null;
  private size = 0;
  private tarSize = 0;
  private skippedXattrs = new Set<string>();

  /** `dir` must be an empty directory; `label` names the layer in messages ("layer 2 of app:1"). */
  constructor(
    readonly dir: string,
    private readonly label: string,
    private readonly limits: ImageLimits,
    private readonly budget: SizeBudget,
    private readonly warn: (message: string) => void,
  ) {
    this.disk = new DiskGuard(dir, limits.minFreeBytes);
  }

  async unpack(input: AsyncIterable<unknown>): Promise<UnpackResult> {
    const hash = createHash('sha256');
    await this.disk.check();
    const bomb = { maxRatio: this.limits.maxCompressionRatio, bombFloor: this.limits.bombFloorBytes };
    const tar = new TarReader(this.counted(decompressed(input, bomb), hash), { maxPathBytes: this.limits.maxPathBytes, maxPaxBytes: this.limits.maxPaxBytes });
    try {
      for (let entry = await tar.next(); entry; entry = await tar.next()) {
        this.entryName = entry.path;
        await this.apply(entry, tar);
      }
      this.entryName = null;
      await tar.drain();
      await this.finish();
    } catch (e) {
      tar.destroy();
      throw this.explain(e);
    }
    return { diffId: `sha256:${hash.digest('hex')}`, size: this.size, tarSize: this.tarSize };
  }

  private async *counted(source: AsyncIterable<Buffer>, hash: Hash): AsyncGenerator<Buffer> {
    for await (const chunk of source) {
      this.budget.used += chunk.length;
      this.tarSize += chunk.length;
      if (this.budget.used > this.budget.limit) throw new TarFormatError(`the image is larger than the limit of ${describeBytes(this.budget.limit)} uncompressed`);
      hash.update(chunk);
      yield chunk;
    }
  }

  private explain(e: unknown): Error {
    if (e instanceof EngineError) return e;
    const at = this.entryName === null ? '' : `entry ${JSON.stringify(this.entryName)}: `;
    if (e instanceof TarFormatError) return new EngineError('invalid', `${this.label}: ${e.message}`);
    if (e instanceof CommandError) return new EngineError('engine', `${this.label}: ${at}${e.message}`);
    const errno = e as NodeJS.ErrnoException;
    if (typeof errno?.code === 'string') return new EngineError(errnoKind(errno.code), `${this.label}: ${at}${errnoText(errno)}`);
    return e instanceof Error ? e : new Error(String(e));
  }

  private refuse(entryPath: string, why: string): EngineError {
    return new EngineError('invalid', `${this.label}: entry ${JSON.stringify(entryPath)} ${why}`);
  }

  private abs(rel: string): string {
    return rel === '' ? this.dir : join(this.dir, rel);
  }

  private async apply(entry: TarEntry, tar: TarReader): Promise<void> {
    const name = normaliseEntryName(entry.path);
    if (name === null) throw this.refuse(entry.path, 'escapes the root filesystem');
    const base = baseOf(name);
    if (base.startsWith(WHITEOUT)) return this.whiteout(entry.path, name, base);
    if (name === '') return this.applyRoot(entry);
    if (entry.type === 'file' && entry.size > this.budget.limit - this.budget.used) {
      throw this.refuse(entry.path, `(${entry.size} bytes) would make the image larger than the limit of ${describeBytes(this.budget.limit)}`);
    }
    if (entry.sparse && entry.sparse.realSize > this.budget.limit) {
      throw this.refuse(entry.path, `is a sparse file of ${entry.sparse.realSize} bytes, over the image limit of ${describeBytes(this.budget.limit)}`);
    }
    await this.ensureParents(entry.path, name);
    const full = this.abs(name);
    const existing = this.made.get(name);
    if (existing !== undefined && !(existing === 'dir' && entry.type === 'directory')) await this.remove(name);
    // A directory of the same name as a whiteout of this layer hides what lies below it.
    if (this.whiteouts.delete(name) && entry.type === 'directory') this.opaque.add(name);
    switch (entry.type) {
      case 'directory':
        if (existing !== 'dir') mkdirSync(full, 0o700);
        this.dirs.add(name);
        this.chown(full, entry);
        this.deferred.set(name, { mode: entry.mode, mtime: entry.mtime });
        break;
      case 'file':
        await this.writeFile(full, entry, tar);
        this.size += entry.sparse ? entry.sparse.realSize : entry.size;
        break;
      case 'symlink':
        if (entry.linkPath === '') throw this.refuse(entry.path, 'is a symlink with an empty target');
        if (symlinkEscapes(name, entry.linkPath)) throw this.refuse(entry.path, `is a symlink to ${JSON.stringify(entry.linkPath)}, which escapes the root filesystem`);
        symlinkSync(entry.linkPath, full);
        this.chown(full, entry);
        lutimesSync(full, entry.mtime, entry.mtime);
        this.size += Buffer.byteLength(entry.linkPath);
        break;
      case 'hardlink': {
        const target = this.hardLinkTarget(entry, name);
        linkSync(this.abs(target), full);
        break;
      }
      case 'character-device':
      case 'block-device':
      case 'fifo': {
        if (entry.type !== 'fifo' && !isInside(name, 'dev')) {
          throw this.refuse(entry.path, `is a ${entry.type === 'block-device' ? 'block' : 'character'} device outside /dev`);
        }
        const kind = entry.type === 'fifo' ? ['p'] : [entry.type === 'block-device' ? 'b' : 'c', String(entry.devMajor), String(entry.devMinor)];
        // Node has no mknod(2).
        await run(['mknod', full, ...kind]);
        this.chown(full, entry);
        await chmod(full, entry.mode); // after chown, which clears setuid/setgid
        await lutimes(full, entry.mtime, entry.mtime);
        break;
      }
    }
    this.made.set(name, entry.type === 'directory' ? 'dir' : entry.type === 'file' || entry.type === 'hardlink' ? 'file' : 'other');
    this.noteXattrs(name, entry);
  }

  private noteXattrs(name: string, entry: TarEntry): void {
    if (entry.xattrs.size === 0) {
      this.xattrs.delete(name);
      return;
    }
    const kept = new Map<string, Buffer>();
    for (const [key, value] of entry.xattrs) {
      if (key.startsWith('trusted.overlay.')) this.skippedXattrs.add(key);
      else kept.set(key, value);
    }
    if (kept.size > 0) this.xattrs.set(name, kept);
  }

  private chown(full: string, entry: TarEntry): void {
    // Like tar run by a user, an unprivileged store keeps its own ownership.
    if (this.asRoot) lchownSync(full, entry.uid, entry.gid);
  }

  private async writeFile(full: string, entry: TarEntry, tar: TarReader): Promise<void> {
    if (entry.size <= SYNC_FILE_BYTES && !entry.sparse) return this.writeSmallFile(full, entry, tar);
    const fh = await open(full, CREATE_FILE, 0o600);
    try {
      for await (const { position, data } of tar.chunks()) {
        let done = 0;
        while (done < data.length) done += (await fh.write(data, done, data.length - done, position + done)).bytesWritten;
        await this.disk.wrote(data.length);
      }
      // A sparse file's holes: its length is set, nothing is written there.
      if (entry.sparse) await fh.truncate(entry.sparse.realSize);
      if (this.asRoot) await fh.chown(entry.uid, entry.gid);
      await fh.chmod(entry.mode); // after chown, which clears setuid/setgid
      await fh.utimes(entry.mtime, entry.mtime);
    } finally {
      await fh.close();
    }
  }

  private async writeSmallFile(full: string, entry: TarEntry, tar: TarReader): Promise<void> {
    const fd = openSync(full, CREATE_FILE, 0o600);
    try {
      for await (const { position, data } of tar.chunks()) {
        let done = 0;
        while (done < data.length) done += writeSync(fd, data, done, data.length - done, position + done);
        await this.disk.wrote(data.length);
      }
      if (this.asRoot) fchownSync(fd, entry.uid, entry.gid);
      fchmodSync(fd, entry.mode); // after chown, which clears setuid/setgid
      futimesSync(fd, entry.mtime, entry.mtime);
    } finally {
      closeSync(fd);
    }
  }

  /** The root directory's own entry ("./"): only its owner, mode and times. */
  private async applyRoot(entry: TarEntry): Promise<void> {
    if (entry.type !== 'directory') throw this.refuse(entry.path, `would replace the root directory with a ${entry.type}`);
    this.chown(this.dir, entry);
    this.deferred.set('', { mode: entry.mode, mtime: entry.mtime });
  }

  /**
   * Makes every ancestor of `name` a directory of this layer: missing ones are created (mode
   * 0755, owned by root, as Docker makes them), anything else on the way is refused.
   */
  private async ensureParents(entryPath: string, name: string): Promise<void> {
    if (this.dirs.has(parentOf(name))) return;
    for (const dir of ancestorsOf(name)) {
      if (this.dirs.has(dir)) continue;
      const made = this.made.get(dir);
      if (made === undefined) {
        if (this.whiteouts.has(dir)) {
          this.whiteouts.delete(dir); // a whiteout of the directory, then entries in it: it is opaque
          this.opaque.add(dir);
        }
        const full = this.abs(dir);
        mkdirSync(full);
        chmodSync(full, 0o755); // mkdir's mode is cut by the umask
        this.made.set(dir, 'dir');
        this.dirs.add(dir);
        continue;
      }
      const st = await lstat(this.abs(dir));
      if (st.isSymbolicLink()) throw this.refuse(entryPath, `goes through symlink ${JSON.stringify(dir)}`);
      throw this.refuse(entryPath, `goes through ${JSON.stringify(dir)}, which is not a directory`);
    }
  }

  private hardLinkTarget(entry: TarEntry, name: string): string {
    const target = entry.linkPath;
    const notFile = this.refuse(entry.path, `is a hard link to ${JSON.stringify(target)}, which is not an earlier regular file of this layer`);
    if (target.startsWith('/')) throw this.refuse(entry.path, `is a hard link to the absolute path ${JSON.stringify(target)} (hard link names must be relative to the root)`);
    const normal = normaliseEntryName(target);
    if (normal === null) throw this.refuse(entry.path, `is a hard link to ${JSON.stringify(target)}, which escapes the root filesystem`);
    if (normal === '' || normal === name || this.made.get(normal) !== 'file') throw notFile;
    for (const a of ancestorsOf(normal)) if (!this.dirs.has(a)) throw notFile;
    return normal;
  }

  private async whiteout(entryPath: string, name: string, base: string): Promise<void> {
    const dir = parentOf(name);
    if (base === OPAQUE) {
      if (dir !== '') await this.ensureParents(entryPath, `${dir}/${OPAQUE}`);
      this.opaque.add(dir);
      return;
    }
    // Other ".wh..wh." names are aufs bookkeeping (.wh..wh.plnk, .wh..wh.aufs), not whiteouts.
    if (base.startsWith(`${WHITEOUT}${WHITEOUT}`)) return;
    const victim = base.slice(WHITEOUT.length);
    if (victim === '' || victim === '.' || victim === '..' || victim.includes('/')) throw this.refuse(entryPath, 'is a malformed whiteout');
    await this.ensureParents(entryPath, name);
    const path = dir === '' ? victim : `${dir}/${victim}`;
    if (this.made.has(path)) await this.remove(path);
    this.whiteouts.add(path);
  }

  private async remove(path: string): Promise<void> {
    const kind = this.made.get(path);
    // rm does not follow symlinks inside the tree: they are unlinked, not traversed.
    await rm(this.abs(path), { recursive: kind === 'dir', force: true });
    for (const key of [...this.made.keys()]) if (isInside(key, path)) this.made.delete(key);
    for (const key of [...this.dirs]) if (key !== '' && isInside(key, path)) this.dirs.delete(key);
    for (const key of [...this.deferred.keys()]) if (isInside(key, path)) this.deferred.delete(key);
    for (const key of [...this.xattrs.keys()]) if (isInside(key, path)) this.xattrs.delete(key);
    for (const key of [...this.opaque]) if (key !== '' && isInside(key, path)) this.opaque.delete(key);
  }

  /** Whiteouts, attributes, then directory modes and times (writing into a directory changes its mtime). */
  private async finish(): Promise<void> {
    const whiteouts = [...this.whiteouts].sort();
    if (whiteouts.length > 0) await makeWhiteouts(this.dir, whiteouts);
    if (this.opaque.size > 0) {
      const plan: XattrPlan = new Map([...this.opaque].map((d) => [d, new Map([[OPAQUE_XATTR, Buffer.from('y')]])]));
      const failed = await setXattrs(this.dir, plan, this.dir);
      if (failed.length > 0) throw new EngineError('engine', `${this.label}: cannot mark opaque directories (overlayfs needs trusted.* attributes, so root): ${failed[0]}`);
    }
    const failed = await setXattrs(this.dir, this.xattrs, this.dir);
    if (failed.length > 0) this.warn(`${this.label}: some extended attributes were not kept: ${failed.slice(0, 3).join('; ')}`);
    if (this.skippedXattrs.size > 0) this.warn(`${this.label}: overlay attributes in the layer were not kept: ${[...this.skippedXattrs].join(', ')}`);
    const order = [...this.deferred.keys()].sort((a, b) => b.length - a.length);
    for (const path of order) {
      const d = this.deferred.get(path);
      if (!d || (path !== '' && this.made.get(path) !== 'dir')) continue;
      const full = this.abs(path);
      chmodSync(full, d.mode);
      lutimesSync(full, d.mtime, d.mtime);
    }
  }
}
