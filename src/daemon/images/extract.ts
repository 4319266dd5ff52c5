/**
 * Safe extraction of image layers into one flattened root filesystem (see the policy in
 * docs, "Layer extraction"). The rules, in short:
 *  - names are made relative (a leading "/" or "./" is dropped, as docker load does) and a ".."
 *    that climbs above the root is refused;
 *  - nothing on the host is ever followed: every parent of an entry must be a real directory
 *    inside the root (checked with lstat; a symlink on the way is refused), files are created
 *    with O_EXCL|O_NOFOLLOW after removing what was there, and metadata goes through the file
 *    descriptor or the l* calls;
 *  - symlink targets that are relative and climb above the root are refused; absolute targets
 *    are stored as they are (the container's kernel resolves them against the container's root);
 *  - hard links must name an earlier regular file inside the root, by a relative name;
 *  - character and block devices only under dev/ (made with mknod), FIFOs anywhere;
 *  - whiteouts (.wh.<name>, .wh..wh..opq) apply to what the layers below left, per layer.
 */
import { createHash, type Hash } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { chmod, lchown, link, lstat, lutimes, mkdir, open, readdir, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { CommandError, run } from '../command.js';
import { EngineError, type EngineErrorKind } from '../../engine/errors.js';
import { ancestorsOf, baseOf, isInside, normaliseEntryName, parentOf, symlinkEscapes } from './paths.js';
import { DiskGuard } from './disk.js';
import { decompressed } from './tar/decompress.js';
import { TarFormatError } from './tar/header.js';
import { TarReader, type TarEntry } from './tar/reader.js';
import type { ImageLimits } from './types.js';

const OPAQUE = '.wh..wh..opq';
const WHITEOUT = '.wh.';
const CREATE_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** What one layer has done so far: whiteouts and opaque directories only hide what lies below. */
interface LayerState {
  /** Entries this layer made, and their ancestors. */
  kept: Set<string>;
  /** Directories whose mode and times are set at the end of the layer (writing into them changes their mtime). */
  deferred: Map<string, { mode: number; mtime: number }>;
}

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

async function lstatOrNull(path: string): Promise<Stats | null> {
  try {
    return await lstat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

export class RootfsBuilder {
  /** Paths known to be real directories (not symlinks) inside the root; any removal of a directory clears it. */
  private dirs = new Set<string>(['']);
  /**
   * Every path this builder has made. The root starts empty and nothing else writes into it, so a
   * name not in here does not exist and needs no lstat. (Were this ever wrong, the O_EXCL open,
   * symlink or mkdir would fail with EEXIST: nothing is followed either way.)
   */
  private readonly made = new Set<string>();
  private used = 0;
  private xattrsWarned = false;
  private readonly asRoot = process.getuid?.() === 0;
  /** Where the failure happened, for messages. */
  private context = '';
  private entryName: string | null = null;
  private readonly disk: DiskGuard;

  /** `rootfs` must be an empty directory. */
  constructor(
    readonly rootfs: string,
    private readonly label: string,
    private readonly limits: ImageLimits,
    private readonly warn: (message: string) => void,
  ) {
    this.disk = new DiskGuard(rootfs, limits.minFreeBytes);
  }

  /** Applies one layer (plain or gzip tar, bottom layer first); resolves to its diff id. */
  async applyLayer(index: number, input: AsyncIterable<unknown>): Promise<string> {
    this.context = `layer ${index} of ${this.label}`;
    this.entryName = null;
    const hash = createHash('sha256');
    await this.disk.check();
    const bomb = { maxRatio: this.limits.maxCompressionRatio, bombFloor: this.limits.bombFloorBytes };
    const tar = new TarReader(this.counted(decompressed(input, bomb), hash), { maxPathBytes: this.limits.maxPathBytes, maxPaxBytes: this.limits.maxPaxBytes });
    const layer: LayerState = { kept: new Set(['']), deferred: new Map() };
    try {
      for (let entry = await tar.next(); entry; entry = await tar.next()) {
        this.entryName = entry.path;
        await this.apply(entry, tar, layer);
      }
      this.entryName = null;
      await tar.drain();
      await this.finishLayer(layer);
    } catch (e) {
      throw this.explain(e);
    }
    return `sha256:${hash.digest('hex')}`;
  }

  private async *counted(source: AsyncIterable<Buffer>, hash: Hash): AsyncGenerator<Buffer> {
    for await (const chunk of source) {
      this.used += chunk.length;
      if (this.used > this.limits.maxImageBytes) throw new TarFormatError(`the image is larger than the limit of ${describeBytes(this.limits.maxImageBytes)} uncompressed`);
      hash.update(chunk);
      yield chunk;
    }
  }

  private explain(e: unknown): Error {
    if (e instanceof EngineError) return e;
    const at = this.entryName === null ? '' : `entry ${JSON.stringify(this.entryName)}: `;
    if (e instanceof TarFormatError) return new EngineError('invalid', `${this.context}: ${e.message}`);
    if (e instanceof CommandError) return new EngineError('engine', `${this.context}: ${at}${e.message}`);
    const errno = e as NodeJS.ErrnoException;
    if (typeof errno?.code === 'string') return new EngineError(errnoKind(errno.code), `${this.context}: ${at}${errnoText(errno)}`);
    return e instanceof Error ? e : new Error(String(e));
  }

  private refuse(entryPath: string, why: string): EngineError {
    return new EngineError('invalid', `${this.context}: entry ${JSON.stringify(entryPath)} ${why}`);
  }

  private abs(rel: string): string {
    return rel === '' ? this.rootfs : join(this.rootfs, rel);
  }

  private async apply(entry: TarEntry, tar: TarReader, layer: LayerState): Promise<void> {
    const name = normaliseEntryName(entry.path);
    if (name === null) throw this.refuse(entry.path, 'escapes the root filesystem');
    if (entry.xattrs.size > 0 && !this.xattrsWarned) {
      this.xattrsWarned = true;
      this.warn(`${this.label}: extended attributes are not kept (Node cannot set them): ${[...entry.xattrs.keys()].join(', ')} on ${JSON.stringify(entry.path)}, and maybe others`);
    }
    const base = baseOf(name);
    if (base.startsWith(WHITEOUT)) return this.whiteout(entry.path, name, base, layer);
    if (name === '') return this.applyRoot(entry, layer);
    if (entry.type === 'file' && entry.size > this.limits.maxImageBytes - this.used) {
      throw this.refuse(entry.path, `(${entry.size} bytes) would make the image larger than the limit of ${describeBytes(this.limits.maxImageBytes)}`);
    }
    if (entry.sparse && entry.sparse.realSize > this.limits.maxImageBytes) {
      throw this.refuse(entry.path, `is a sparse file of ${entry.sparse.realSize} bytes, over the image limit of ${describeBytes(this.limits.maxImageBytes)}`);
    }
    await this.ensureParents(entry.path, name);
    const full = this.abs(name);
    const existing = this.made.has(name) ? await lstatOrNull(full) : null;
    switch (entry.type) {
      case 'directory':
        if (!existing?.isDirectory()) {
          if (existing) await this.remove(name, existing, layer);
          await mkdir(full, 0o700);
        }
        this.dirs.add(name);
        await this.chown(full, entry);
        layer.deferred.set(name, { mode: entry.mode, mtime: entry.mtime });
        break;
      case 'file':
        if (existing) await this.remove(name, existing, layer);
        await this.writeFile(full, entry, tar);
        break;
      case 'symlink':
        if (entry.linkPath === '') throw this.refuse(entry.path, 'is a symlink with an empty target');
        if (symlinkEscapes(name, entry.linkPath)) throw this.refuse(entry.path, `is a symlink to ${JSON.stringify(entry.linkPath)}, which escapes the root filesystem`);
        if (existing) await this.remove(name, existing, layer);
        await symlink(entry.linkPath, full);
        await Promise.all([this.chown(full, entry), lutimes(full, entry.mtime, entry.mtime)]);
        break;
      case 'hardlink': {
        const target = await this.hardLinkTarget(entry, name);
        if (existing) await this.remove(name, existing, layer);
        await link(this.abs(target), full);
        break;
      }
      case 'character-device':
      case 'block-device':
      case 'fifo': {
        if (entry.type !== 'fifo' && !isInside(name, 'dev')) {
          throw this.refuse(entry.path, `is a ${entry.type === 'block-device' ? 'block' : 'character'} device outside /dev`);
        }
        if (existing) await this.remove(name, existing, layer);
        const kind = entry.type === 'fifo' ? ['p'] : [entry.type === 'block-device' ? 'b' : 'c', String(entry.devMajor), String(entry.devMinor)];
        // Node has no mknod(2).
        await run(['mknod', full, ...kind]);
        await this.chown(full, entry);
        await chmod(full, entry.mode); // after chown, which clears setuid/setgid
        await lutimes(full, entry.mtime, entry.mtime);
        break;
      }
    }
    this.made.add(name);
    layer.kept.add(name);
    for (const a of ancestorsOf(name)) layer.kept.add(a);
  }

  private async chown(full: string, entry: TarEntry): Promise<void> {
    // Like tar run by a user, an unprivileged store keeps its own ownership.
    if (this.asRoot) await lchown(full, entry.uid, entry.gid);
  }

  private async writeFile(full: string, entry: TarEntry, tar: TarReader): Promise<void> {
    const fh = await open(full, CREATE_FILE, 0o600);
    try {
      for await (const { position, data } of tar.chunks()) {
        let done = 0;
        while (done < data.length) done += (await fh.write(data, done, data.length - done, position + done)).bytesWritten;
        await this.disk.wrote(data.length);
      }
      // A sparse file's holes: its length is set, nothing is written there.
      if (entry.sparse) await fh.truncate(entry.sparse.realSize);
      const owner = async (): Promise<void> => {
        if (this.asRoot) await fh.chown(entry.uid, entry.gid);
        await fh.chmod(entry.mode); // after chown, which clears setuid/setgid
      };
      await Promise.all([owner(), fh.utimes(entry.mtime, entry.mtime)]);
    } finally {
      await fh.close();
    }
  }

  /** The root directory's own entry ("./"): only its owner, mode and times. */
  private async applyRoot(entry: TarEntry, layer: LayerState): Promise<void> {
    if (entry.type !== 'directory') throw this.refuse(entry.path, `would replace the root directory with a ${entry.type}`);
    await this.chown(this.rootfs, entry);
    layer.deferred.set('', { mode: entry.mode, mtime: entry.mtime });
  }

  /**
   * Makes every ancestor of `name` a real directory: missing ones are created (mode 0755, owned by
   * the store), a symlink or any other non-directory on the way is refused.
   */
  private async ensureParents(entryPath: string, name: string): Promise<void> {
    if (this.dirs.has(parentOf(name))) return; // cached directories have verified ancestors
    for (const dir of ancestorsOf(name)) {
      if (this.dirs.has(dir)) continue;
      const full = this.abs(dir);
      const st = await lstatOrNull(full);
      if (st === null) {
        await mkdir(full);
        await chmod(full, 0o755); // mkdir's mode is cut by the umask
        this.made.add(dir);
      } else if (st.isSymbolicLink()) {
        throw this.refuse(entryPath, `goes through symlink ${JSON.stringify(dir)}`);
      } else if (!st.isDirectory()) {
        throw this.refuse(entryPath, `goes through ${JSON.stringify(dir)}, which is not a directory`);
      }
      this.dirs.add(dir);
    }
  }

  /**
   * Whether `dir` exists as a real directory, its ancestors too; false when something on the way
   * is missing or not a directory; a symlink on the way is refused.
   */
  private async existingDir(entryPath: string, dir: string, why = 'goes through symlink'): Promise<boolean> {
    if (this.dirs.has(dir)) return true;
    for (const d of [...ancestorsOf(dir), dir]) {
      if (this.dirs.has(d)) continue;
      const st = await lstatOrNull(this.abs(d));
      if (st === null) return false;
      if (st.isSymbolicLink()) throw this.refuse(entryPath, `${why} ${JSON.stringify(d)}`);
      if (!st.isDirectory()) return false;
      this.dirs.add(d);
    }
    return true;
  }

  private async hardLinkTarget(entry: TarEntry, name: string): Promise<string> {
    const link = entry.linkPath;
    if (link.startsWith('/')) throw this.refuse(entry.path, `is a hard link to the absolute path ${JSON.stringify(link)} (hard link names must be relative to the root)`);
    const target = normaliseEntryName(link);
    if (target === null) throw this.refuse(entry.path, `is a hard link to ${JSON.stringify(link)}, which escapes the root filesystem`);
    if (target === '' || target === name) throw this.refuse(entry.path, `is a hard link to ${JSON.stringify(link)}, which is not an earlier regular file`);
    const notFile = this.refuse(entry.path, `is a hard link to ${JSON.stringify(link)}, which is not an earlier regular file`);
    if (!(await this.existingDir(entry.path, parentOf(target), `is a hard link to ${JSON.stringify(link)}, which goes through symlink`))) throw notFile;
    const st = await lstatOrNull(this.abs(target));
    if (!st?.isFile()) throw notFile;
    return target;
  }

  private async whiteout(entryPath: string, name: string, base: string, layer: LayerState): Promise<void> {
    const dir = parentOf(name);
    if (base === OPAQUE) {
      if (await this.existingDir(entryPath, dir)) await this.makeOpaque(dir, layer);
      return;
    }
    // Other ".wh..wh." names are aufs bookkeeping (.wh..wh.plnk, .wh..wh.aufs), not whiteouts.
    if (base.startsWith(`${WHITEOUT}${WHITEOUT}`)) return;
    const victim = base.slice(WHITEOUT.length);
    if (victim === '' || victim === '.' || victim === '..') throw this.refuse(entryPath, 'is a malformed whiteout');
    if (!(await this.existingDir(entryPath, dir))) return;
    const path = dir === '' ? victim : `${dir}/${victim}`;
    const st = await lstatOrNull(this.abs(path));
    if (st) await this.remove(path, st, layer);
  }

  /** Removes what the layers below left in `dir`, keeping what this layer made. */
  private async makeOpaque(dir: string, layer: LayerState): Promise<void> {
    for (const child of await readdir(this.abs(dir), { withFileTypes: true })) {
      const path = dir === '' ? child.name : `${dir}/${child.name}`;
      if (!layer.kept.has(path)) await this.remove(path, null, layer);
      else if (child.isDirectory()) await this.makeOpaque(path, layer);
    }
  }

  private async remove(path: string, st: Stats | null, layer: LayerState): Promise<void> {
    const full = this.abs(path);
    const isDir = st ? st.isDirectory() : (await lstat(full)).isDirectory();
    if (!isDir) {
      await rm(full, { force: true });
      return;
    }
    // rm does not follow symlinks inside the tree: they are unlinked, not traversed.
    await rm(full, { recursive: true, force: true });
    this.dirs = new Set(['']);
    for (const key of layer.deferred.keys()) if (isInside(key, path)) layer.deferred.delete(key);
  }

  private async finishLayer(layer: LayerState): Promise<void> {
    for (const [path, { mode, mtime }] of layer.deferred) {
      const full = this.abs(path);
      // chmod follows symlinks: make sure this is still the directory it was.
      const st = await lstatOrNull(full);
      if (!st?.isDirectory()) continue;
      await chmod(full, mode);
      await lutimes(full, mtime, mtime);
    }
  }
}

/** Bytes of a root filesystem: regular files (hard-linked ones once) and symlinks. */
export async function rootfsSize(dir: string): Promise<number> {
  let total = 0;
  const seen = new Set<number>();
  const walk = async (d: string): Promise<void> => {
    for (const child of await readdir(d, { withFileTypes: true })) {
      const p = join(d, child.name);
      if (child.isDirectory()) await walk(p);
      else if (child.isFile() || child.isSymbolicLink()) {
        const st = await lstat(p);
        if (st.nlink > 1) {
          if (seen.has(st.ino)) continue;
          seen.add(st.ino);
        }
        total += st.size;
      }
    }
  };
  await walk(dir);
  return total;
}
