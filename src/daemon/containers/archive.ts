/**
 * `cp` on the embedded engine: a container path read as a tar, and a tar written into a container
 * directory, as Docker's archive API does (GET/PUT /containers/{id}/archive). The container's
 * files are its overlay root plus its bind and volume mounts, seen through a FilesystemView: every
 * path is resolved component by component the way the container would see it (an absolute symlink
 * restarts at the container's root, `..` stops at it, a mount's target leads into its source), so
 * neither a symlink in the container nor one in the archive can lead a read or a write outside
 * the container's files. Entries are written with O_EXCL|O_NOFOLLOW after removing what was there
 * (a directory is kept), names climbing above the extraction directory are refused (the rules of
 * images/paths.ts), and hard links must name an earlier entry of the same archive.
 */
import { constants, createReadStream } from 'node:fs';
import { chmod, lchown, link, lstat, lutimes, mkdir, open, readdir, readlink, rm, symlink, type FileHandle } from 'node:fs/promises';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import type { ContainerPathStat } from '../../contract/engine.js';
import { EngineError } from '../../contract/errors.js';
import { packTar, type PackItem } from '../../util/tar-pack.js';
import { normaliseEntryName } from '../images/paths.js';
import { TarFormatError } from '../images/tar/header.js';
import { TarReader } from '../images/tar/reader.js';

export interface ViewMount {
  /** Absolute path in the container. */
  target: string;
  /** Host path (a directory or a file). */
  source: string;
  readOnly: boolean;
}

/** A container's files: its root filesystem and the mounts over it (tmpfs mounts are not reachable). */
export interface FilesystemView {
  rootfs: string;
  mounts: ViewMount[];
  /** Container paths the host cannot reach (tmpfs): refused rather than read from the root below. */
  unreachable: string[];
}

const CREATE_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const MAX_LINKS = 40;

function under(path: string, dir: string): boolean {
  return dir === '/' || path === dir || path.startsWith(`${dir}/`);
}

/** The host path of a container path whose components are all resolved already. */
export function hostOf(view: FilesystemView, containerPath: string): { host: string; readOnly: boolean } {
  let best: ViewMount | undefined;
  for (const m of view.mounts) if (under(containerPath, m.target) && (!best || m.target.length > best.target.length)) best = m;
  for (const t of view.unreachable) {
    if (under(containerPath, t) && (!best || t.length > best.target.length)) throw new EngineError('invalid', `${containerPath} is on a tmpfs mount, which the embedded engine cannot copy to or from`);
  }
  if (!best) return { host: posix.join(view.rootfs, containerPath), readOnly: false };
  return { host: posix.join(best.source, posix.relative(best.target, containerPath)), readOnly: best.readOnly };
}

async function lstatOrNull(path: string) {
  try {
    return await lstat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw e;
  }
}

/**
 * `path` resolved in the container: every symlink on the way followed within the view, the last
 * component too when `followLast`. Components that do not exist are kept as they are.
 */
export async function resolveInView(view: FilesystemView, path: string, followLast: boolean): Promise<string> {
  const pending = path.split('/').filter((p) => p !== '' && p !== '.');
  const done: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === '..') {
      done.pop();
      continue;
    }
    const candidate = `/${[...done, part].join('/')}`;
    if (pending.length === 0 && !followLast) {
      done.push(part);
      break;
    }
    // A missing component is kept as a plain name and the walk goes on, so a later `..` back into
    // existing folders still meets their symlinks (as runtime/rootfs.ts's resolveInRoot walks).
    const st = await lstatOrNull(hostOf(view, candidate).host);
    if (!st?.isSymbolicLink()) {
      done.push(part);
      continue;
    }
    if (++links > MAX_LINKS) throw new EngineError('invalid', `too many levels of symbolic links resolving ${path} in the container`);
    const target = await readlink(hostOf(view, candidate).host);
    if (target.startsWith('/')) done.length = 0;
    pending.unshift(...target.split('/').filter((p) => p !== '' && p !== '.'));
  }
  return `/${done.join('/')}`;
}

function typeOf(st: { isDirectory(): boolean; isFile(): boolean; isSymbolicLink(): boolean }): ContainerPathStat['type'] {
  return st.isDirectory() ? 'directory' : st.isSymbolicLink() ? 'symlink' : st.isFile() ? 'file' : 'other';
}

/** What Docker's HEAD /archive tells of a path (a symlink as itself, its target as written); null when it does not exist. */
export async function statPath(view: FilesystemView, path: string): Promise<ContainerPathStat | null> {
  const resolved = await resolveInView(view, path, false);
  const host = hostOf(view, resolved).host;
  const st = await lstatOrNull(host);
  if (!st) return null;
  return {
    name: posix.basename(resolved) || '/',
    size: st.size,
    mode: st.mode & 0o7777,
    type: typeOf(st),
    mtime: st.mtime.toISOString(),
    linkTarget: st.isSymbolicLink() ? await readlink(host) : '',
  };
}

function notFound(path: string): EngineError {
  return new EngineError('not-found', `Could not find the file ${path}`);
}

/** Whether a path names a directory's contents ("dir/."), as `cp` reads it. */
export function namesContents(path: string): boolean {
  return path === '.' || path.endsWith('/.');
}

export interface ArchiveOptions {
  /** The name of the top entry (the path's last component by default, "." for "dir/."). */
  name?: string;
  /** Follow a symlink at the end of the path (`cp -L`); it is archived as a link otherwise. */
  followLast?: boolean;
}

/**
 * The tar of `path` as Docker's GET /archive gives it: entries named from the path's last
 * component ("." for a path ending in "/.", so that its contents are copied), a symlink at the
 * end copied as a link. Mounts below the path are walked into.
 */
export async function archivePath(view: FilesystemView, path: string, options: ArchiveOptions = {}): Promise<Readable> {
  const resolved = await resolveInView(view, path, options.followLast === true);
  const top = hostOf(view, resolved);
  const st = await lstatOrNull(top.host);
  if (!st) throw notFound(path);
  const base = options.name ?? (namesContents(path) && st.isDirectory() ? '.' : posix.basename(resolved) || '.');
  async function* walk(containerPath: string, name: string): AsyncGenerator<PackItem> {
    const host = hostOf(view, containerPath).host;
    const s = await lstatOrNull(host);
    if (!s) return;
    const entry = { name, mode: s.mode & 0o7777, mtime: Math.floor(s.mtimeMs / 1000), uid: s.uid, gid: s.gid };
    if (s.isDirectory()) {
      yield { entry: { ...entry, type: 'directory' } };
      for (const child of (await readdir(host)).sort()) yield* walk(posix.join(containerPath, child), `${name}/${child}`);
    } else if (s.isSymbolicLink()) {
      yield { entry: { ...entry, type: 'symlink', linkName: await readlink(host) } };
    } else if (s.isFile()) {
      yield { entry: { ...entry, type: 'file', size: s.size }, body: createReadStream(host) };
    } else if (s.isFIFO()) {
      yield { entry: { ...entry, type: 'fifo' } };
    }
  }
  return packTar(walk(resolved, base));
}

export interface ArchiveExtractOptions {
  /** Owner for every entry (`cp -a` into a container with a user); the archive's owners otherwise. */
  owner?: { uid: number; gid: number };
  /** The archive's top entry (its first name component, '' for a "dir/." archive) extracted under another name. */
  rename?: { from: string; to: string };
}

function renamed(name: string, rename: ArchiveExtractOptions['rename']): string {
  if (!rename) return name;
  if (rename.from === '') return name === '' ? rename.to : `${rename.to}/${name}`;
  if (name === rename.from || name.startsWith(`${rename.from}/`)) return rename.to + name.slice(rename.from.length);
  return name;
}

/**
 * Extracts a tar into the directory `path` of the container, as Docker's PUT /archive: the
 * directory must exist; what is in the way is replaced, except that a directory is never replaced
 * by a non-directory or the reverse (Docker's noOverwriteDirNonDir).
 */
export async function extractInto(view: FilesystemView, path: string, input: AsyncIterable<unknown>, options: ArchiveExtractOptions = {}): Promise<void> {
  const dir = await resolveInView(view, path, true);
  const dirStat = await lstatOrNull(hostOf(view, dir).host);
  if (!dirStat) throw notFound(path);
  if (!dirStat.isDirectory()) throw new EngineError('invalid', `extraction point is not a directory: ${path}`);
  const tar = new TarReader(input);
  const dirModes: { host: string; mode: number; mtime: number }[] = [];
  const written = new Map<string, string>();
  try {
    for (let entry = await tar.next(); entry; entry = await tar.next()) {
      const normal = normaliseEntryName(entry.path);
      if (normal === null) throw new EngineError('invalid', `archive entry ${JSON.stringify(entry.path)} climbs above the extraction directory`);
      const name = renamed(normal, options.rename);
      if (name === '') continue;
      const parent = await resolveInView(view, posix.join(dir, posix.dirname(name)), true);
      const parentHost = hostOf(view, parent);
      const parentStat = await lstatOrNull(parentHost.host);
      if (!parentStat) throw new EngineError('invalid', `cannot extract ${name}: its directory does not exist in the archive or the container`);
      if (!parentStat.isDirectory()) throw new EngineError('invalid', `cannot extract ${name}: ${posix.dirname(name)} is not a directory`);
      const target = posix.join(parent, posix.basename(name));
      const { host, readOnly } = hostOf(view, target);
      if (readOnly || parentHost.readOnly) throw new EngineError('invalid', `cannot write ${target}: it is on a read-only mount`);
      const existing = await lstatOrNull(host);
      const isDir = entry.type === 'directory';
      if (existing && existing.isDirectory() !== isDir) {
        throw new EngineError('conflict', isDir ? `cannot overwrite non-directory ${target} with directory ${name}` : `cannot overwrite directory ${target} with non-directory ${name}`);
      }
      const owner = options.owner ?? { uid: entry.uid, gid: entry.gid };
      if (isDir) {
        if (!existing) await mkdir(host, { mode: 0o700 });
        await lchown(host, owner.uid, owner.gid);
        dirModes.push({ host, mode: entry.mode, mtime: entry.mtime });
        continue;
      }
      if (existing) await rm(host, { force: true });
      if (entry.type === 'file') {
        let fh: FileHandle | undefined;
        try {
          fh = await open(host, CREATE_FILE, 0o600);
          for await (const chunk of tar.body()) await fh.write(chunk);
          await fh.chown(owner.uid, owner.gid);
          await fh.chmod(entry.mode);
          await fh.utimes(entry.mtime, entry.mtime);
        } finally {
          await fh?.close();
        }
        written.set(name, host);
      } else if (entry.type === 'symlink') {
        await symlink(entry.linkPath, host);
        await lchown(host, owner.uid, owner.gid);
        await lutimes(host, entry.mtime, entry.mtime).catch(() => undefined);
      } else if (entry.type === 'hardlink') {
        const from = normaliseEntryName(entry.linkPath);
        const first = from === null ? undefined : written.get(renamed(from, options.rename));
        if (first === undefined) throw new EngineError('invalid', `archive entry ${name} links to ${entry.linkPath}, which is not an earlier file of the archive`);
        await link(first, host);
      } else {
        throw new EngineError('invalid', `archive entry ${name} is a ${entry.type}: cp copies files, directories and links`);
      }
    }
    await tar.drain();
  } catch (e) {
    tar.destroy();
    if (e instanceof TarFormatError) throw new EngineError('invalid', `the archive is not a valid tar: ${e.message}`);
    throw e;
  }
  // Modes last: a directory without write permission still takes its entries.
  for (const d of dirModes.reverse()) {
    await chmod(d.host, d.mode);
    await lutimes(d.host, d.mtime, d.mtime).catch(() => undefined);
  }
}
