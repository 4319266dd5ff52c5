/**
 * COPY and ADD carried out on a stage's mounted root filesystem, with BuildKit's rules:
 * a directory source copies its contents; a file goes to DEST/ when DEST ends in "/" (or is a
 * directory already), else to DEST itself; several sources need a DEST ending in "/"; missing
 * parents are made (0755, root's); copies keep their source's owners (the context's are 0:0)
 * unless --chown names others (looked up in the stage's /etc/passwd and /etc/group); modes are kept unless --chmod sets them; symlinks are copied as
 * links; a named source that is a link is followed within its own root. ADD unpacks a local tar
 * archive (plain, gzip, bzip2 or xz) into DEST. Paths inside the destination are resolved within
 * its root, so a symlink there can never lead a write outside it.
 */
import { spawn } from 'node:child_process';
import { chmod, copyFile, lchown, lstat, mkdir, open, readdir, readlink, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { removeTree } from '../state/remove-tree.js';
import { readContainerFile, resolveInRoot } from '../runtime/rootfs.js';
import { resolveUser } from '../runtime/process-config.js';
import { expandSource, SourceError } from './sources.js';
import type { Heredoc } from './dockerfile/parse.js';

export interface CopyRequest {
  add: boolean;
  /** The root the sources are read from (context or stage root filesystem). */
  sourceRoot: string;
  sources: string[];
  /** Absolute, "/"-terminated for a directory. */
  dest: string;
  chown?: string;
  chmod?: number;
  heredocs: Heredoc[];
}

interface Owner {
  uid: number;
  gid: number;
}

async function ownerOf(root: string, chown: string | undefined): Promise<Owner> {
  if (chown === undefined || chown === '') return { uid: 0, gid: 0 };
  const [user = '', group] = chown.split(':');
  // A numeric user alone keeps its number as the group too (BuildKit); names use their passwd entry.
  if (/^\d+$/.test(user) && (group === undefined || group === '')) return { uid: Number(user), gid: Number(user) };
  const files = { passwd: await readContainerFile(root, '/etc/passwd'), group: await readContainerFile(root, '/etc/group') };
  try {
    const r = resolveUser(chown, files);
    return { uid: r.uid, gid: r.gid };
  } catch (e) {
    throw new SourceError(`unable to convert uid/gid chown string to host mapping: ${(e as Error).message}`);
  }
}

/** Creates the missing directories of `abs` (inside `root`), owned by `owner`. */
async function makeParents(root: string, abs: string, owner: Owner): Promise<string> {
  const parts = abs.split('/').filter(Boolean);
  let current = '/';
  for (const part of parts) {
    current = posix.join(current, part);
    const host = await resolveInRoot(root, current);
    try {
      const st = await lstat(host);
      if (!st.isDirectory()) throw new SourceError(`cannot copy to ${current}: not a directory`);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      await mkdir(host, { mode: 0o755 });
      await chmod(host, 0o755);
      await lchown(host, owner.uid, owner.gid);
    }
  }
  return resolveInRoot(root, abs);
}

/**
 * Copies one entry (recursively for directories) from host path `from` to host path `to`, owned
 * by `chown`, or by the source's owner without one (BuildKit keeps it: a context's files are 0:0,
 * another stage's keep theirs).
 */
async function copyEntry(from: string, to: string, chown: Owner | null, chmodTo: number | undefined): Promise<void> {
  const st = await lstat(from);
  const owner = chown ?? { uid: st.uid, gid: st.gid };
  if (st.isDirectory()) {
    let existing = false;
    try {
      existing = (await lstat(to)).isDirectory();
    } catch {
      // made below
    }
    if (!existing) {
      await rm(to, { force: true });
      await mkdir(to);
    }
    await chmod(to, chmodTo ?? st.mode & 0o7777);
    await lchown(to, owner.uid, owner.gid);
    for (const name of (await readdir(from)).sort()) await copyEntry(posix.join(from, name), posix.join(to, name), chown, chmodTo);
    await utimes(to, st.atime, st.mtime);
    return;
  }
  await removeTree(to);
  if (st.isSymbolicLink()) {
    await symlink(await readlink(from), to);
    await lchown(to, owner.uid, owner.gid);
    return;
  }
  if (!st.isFile()) throw new SourceError(`cannot copy ${posix.basename(from)}: not a regular file, directory or symlink`);
  await copyFile(from, to);
  await chmod(to, chmodTo ?? st.mode & 0o7777);
  await lchown(to, owner.uid, owner.gid);
  await utimes(to, st.atime, st.mtime);
}

const ARCHIVE_MAGIC: [Buffer, string][] = [
  [Buffer.from([0x1f, 0x8b]), 'gzip'],
  [Buffer.from('BZh'), 'bzip2'],
  [Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), 'xz'],
];

/** Whether ADD unpacks this file: a tar, compressed or not (by content, as Docker decides). */
async function archiveKind(path: string): Promise<string | null> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(512);
    const { bytesRead } = await fh.read(head, 0, 512, 0);
    for (const [magic, kind] of ARCHIVE_MAGIC) if (bytesRead >= magic.length && head.subarray(0, magic.length).equals(magic)) return kind;
    if (bytesRead >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar') return 'tar';
    return null;
  } finally {
    await fh.close();
  }
}

/**
 * Unpacks a local archive with GNU tar into `dir` (resolved inside the root already): tar keeps
 * owners and modes as root does, and refuses members with ".." or absolute names by default.
 */
async function unpack(archive: string, kind: string, dir: string): Promise<void> {
  const flag = kind === 'gzip' ? '-z' : kind === 'bzip2' ? '-j' : kind === 'xz' ? '-J' : null;
  const args = ['-x', '--no-same-permissions', '--same-owner', '--numeric-owner', '-p', '-C', dir, '-f', archive];
  if (flag) args.unshift(flag);
  await new Promise<void>((resolve, reject) => {
    const child = spawn('tar', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new SourceError(`cannot unpack ${posix.basename(archive)}: ${err.trim()}`))));
  });
}

/** WORKDIR's directory: made with its parents when missing, owned by the stage's user. */
export async function makeDirectory(root: string, path: string, user: string): Promise<void> {
  await makeParents(root, path, await ownerOf(root, user === '' ? undefined : user));
}

export async function performCopy(req: CopyRequest, destRoot: string): Promise<void> {
  const owner = await ownerOf(destRoot, req.chown);
  const chowned = req.chown === undefined || req.chown === '' ? null : owner;
  const heredocs = new Map(req.heredocs.map((h) => [h.name, h]));
  const named = req.sources.map((s) => ({ s, heredoc: heredocs.get(s.replace(/^<<-?["']?([^"']+)["']?$/, '$1')) }));
  const many = req.sources.length > 1;
  if (many && !req.dest.endsWith('/')) throw new SourceError('When using COPY with more than one source file, the destination must be a directory and end with a /');
  const expanded: { rel: string; host: string }[] = [];
  for (const { s, heredoc } of named) {
    if (heredoc && s.startsWith('<<')) continue;
    for (const rel of await expandSource(req.sourceRoot, s)) expanded.push({ rel, host: await resolveInRoot(req.sourceRoot, rel) });
  }
  const toDir = req.dest.endsWith('/') || expanded.length > 1 || (await isDirIn(destRoot, req.dest));
  for (const { s, heredoc } of named) {
    if (!(heredoc && s.startsWith('<<'))) continue;
    const target = toDir ? posix.join(req.dest, heredoc.name) : req.dest;
    const parent = await makeParents(destRoot, posix.dirname(target), owner);
    const file = posix.join(parent, posix.basename(target));
    await removeTree(file);
    await writeFile(file, heredoc.content);
    await chmod(file, req.chmod ?? 0o644);
    await lchown(file, owner.uid, owner.gid);
  }
  for (const { rel, host } of expanded) {
    const st = await lstat(host);
    if (st.isDirectory()) {
      await makeParents(destRoot, req.dest, owner);
      for (const name of (await readdir(host)).sort()) await copyEntry(posix.join(host, name), await resolveInRoot(destRoot, posix.join(req.dest, name)), chowned, req.chmod);
      continue;
    }
    if (req.add && st.isFile()) {
      const kind = await archiveKind(host);
      if (kind) {
        await unpack(host, kind, await makeParents(destRoot, req.dest, owner));
        continue;
      }
    }
    const target = toDir ? posix.join(req.dest, posix.basename(rel)) : req.dest;
    const parent = await makeParents(destRoot, posix.dirname(target), owner);
    await copyEntry(host, posix.join(parent, posix.basename(target)), chowned, req.chmod);
  }
}

async function isDirIn(root: string, path: string): Promise<boolean> {
  try {
    return (await lstat(await resolveInRoot(root, path))).isDirectory();
  } catch {
    return false;
  }
}
