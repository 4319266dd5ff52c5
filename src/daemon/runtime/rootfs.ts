/**
 * The container's root filesystem: an overlay of the image's rootfs (lowerdir, shared and never
 * written) with the container's own upper and work dirs, mounted on bundle/rootfs; and safe
 * access to files inside it (symlinks resolved within the container's root, never the host's).
 */
import { lstat, mkdir, readFile, readlink } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { run } from '../command.js';
import { unmountSoon } from '../unmount.js';
import { FS_MAGIC, hasFilesystemType } from '../fs-type.js';
import { EngineError } from '../../contract/errors.js';

export interface MountInfo {
  mountPoint: string;
  fsType: string;
  source: string;
  superOptions: string;
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

export function parseMountInfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const [left = '', right = ''] = line.split(' - ');
    const fields = left.split(' ');
    const [fsType = '', source = '', superOptions = ''] = right.split(' ');
    out.push({ mountPoint: unescapeMount(fields[4] ?? ''), fsType, source: unescapeMount(source), superOptions });
  }
  return out;
}

export function mounts(): MountInfo[] {
  return parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8'));
}

export function isMountPoint(path: string): boolean {
  return mounts().some((m) => m.mountPoint === path);
}

/** Whether an overlay is mounted on `path` (a container start asks twice). */
export function overlayMounted(path: string): Promise<boolean> {
  return hasFilesystemType(path, FS_MAGIC.overlay);
}

/** The mount options fit a page; past this, lower dirs are named relative to their common parent. */
const MAX_OPTIONS = 3800;

/**
 * Mounts the overlay of `lowers` (bottom first) unless one is mounted there already. Returns
 * whether it mounted.
 */
export async function mountOverlay(lowers: string[], upper: string, work: string, target: string): Promise<boolean> {
  if (await overlayMounted(target)) return false;
  if (lowers.length === 0) throw new EngineError('invalid', 'an overlay needs at least one lower dir');
  for (const p of [...lowers, upper, work]) {
    if (/[,:]/.test(p)) throw new EngineError('invalid', `cannot use ${p} in an overlay mount: the path contains "," or ":"`);
  }
  const top = [...lowers].reverse();
  let options = `lowerdir=${top.join(':')},upperdir=${upper},workdir=${work}`;
  let cwd: string | undefined;
  if (options.length > MAX_OPTIONS) {
    cwd = commonParent(top);
    const base = cwd;
    options = `lowerdir=${top.map((l) => posix.relative(base, l)).join(':')},upperdir=${upper},workdir=${work}`;
    if (options.length > MAX_OPTIONS) throw new EngineError('invalid', `the image has too many layers to mount (${lowers.length})`);
  }
  try {
    await run(['mount', '-t', 'overlay', 'overlay', '-o', options, target], { timeout: 30_000, ...(cwd ? { cwd } : {}) });
  } catch (e) {
    throw new EngineError('engine', `cannot mount the container's root filesystem: ${(e as Error).message}`);
  }
  return true;
}

function commonParent(paths: string[]): string {
  let parts = posix.dirname(paths[0] ?? '/').split('/');
  for (const p of paths.slice(1)) {
    const q = p.split('/');
    let i = 0;
    while (i < parts.length && parts[i] === q[i]) i++;
    parts = parts.slice(0, i);
  }
  return parts.join('/') || '/';
}

/** Unmounts everything mounted at `target` (stacked mounts too); lazily when busy. */
export async function unmountAll(target: string): Promise<void> {
  if (await overlayMounted(target)) await unmountSoon(target);
  for (let i = 0; i < 8 && isMountPoint(target); i++) {
    const r = await run(['umount', target], { allowFailure: true, timeout: 30_000 });
    if (r.code !== 0) {
      const lazy = await run(['umount', '-l', target], { allowFailure: true, timeout: 30_000 });
      if (lazy.code !== 0 && isMountPoint(target)) throw new EngineError('engine', `cannot unmount ${target}: ${lazy.stderr.trim() || r.stderr.trim()}`);
    }
  }
}

/**
 * The host path of `path` inside the container root `root`, following symlinks as the container
 * would see them (absolute targets are relative to `root`, `..` stops at it). Components that do
 * not exist are kept as plain names; the result is always inside `root`.
 */
export async function resolveInRoot(root: string, path: string): Promise<string> {
  const pending = posix.normalize(`/${path}`).split('/').filter(Boolean);
  const resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === '.') continue;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const candidate = posix.join(root, ...resolved, part);
    let isLink = false;
    try {
      isLink = (await lstat(candidate)).isSymbolicLink();
    } catch {
      // Missing: taken as a plain directory, and the rest is still walked part by part, so a
      // link to `missing/../../x` cannot climb out of `root` (appending the rest unwalked let
      // the join's normalising take it above the root).
      resolved.push(part);
      continue;
    }
    if (!isLink) {
      resolved.push(part);
      continue;
    }
    if (++links > 40) throw new EngineError('invalid', `too many levels of symbolic links resolving ${path} in the container`);
    const target = await readlink(candidate);
    if (target.startsWith('/')) resolved.length = 0;
    pending.unshift(...target.split('/').filter(Boolean));
  }
  return posix.join(root, ...resolved);
}

/** A file of the container (e.g. /etc/passwd), or null when it does not exist. */
export async function readContainerFile(root: string, path: string): Promise<string | null> {
  try {
    return await readFile(await resolveInRoot(root, path), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
    throw e;
  }
}

/** Creates a directory in the container (the working directory), as Docker does when it is missing. */
export async function mkdirInRoot(root: string, path: string): Promise<void> {
  await mkdir(await resolveInRoot(root, path), { recursive: true, mode: 0o755 });
}
