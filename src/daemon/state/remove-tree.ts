/**
 * The one way the daemon removes a tree it owns (an image's rootfs, a container's bundle and upper
 * dir, a volume, a temporary of an interrupted import): at any depth, whatever the names' bytes,
 * never following a symlink and never entering another filesystem (a mount left on the tree is an
 * error naming it, not a deletion of the files mounted there).
 *
 * Why not fs.rm: it hands the kernel whole paths, and the kernel refuses one longer than PATH_MAX
 * (4,096 bytes). An image layer holding `d/d/…/f` 2,000 levels deep, or a container that ran
 * `mkdir d && cd d` 2,000 times, could then never be removed (ENAMETOOLONG), and a leftover of it
 * stopped the next daemon from starting. This walk keeps every path it passes to the kernel under
 * PATH_MAX: a directory more than HOIST_BELOW bytes below the top of the tree being removed is
 * first renamed (one syscall, same filesystem) to that top, and walked again from there. So a
 * deep tree costs one rename per ~250 levels, and the kernel never resolves more than ~250
 * components for one call (resolving is what makes deep trees slow: it is linear in the depth);
 * a tree of ordinary depth is walked exactly as fs.rm would, with one lstat per directory more
 * (the mount check).
 *
 * Measured (bench/remove-tree.mjs: CPU time of the process and its children, docs/benchmarks.md):
 * a container's directory 3.3 ms against 4.5 for fs.rm and 13.6 for a spawned `rm -rf` (a fork of
 * the daemon and an exec per removal), a busybox rootfs 11 ms against 20 and 16; only on large
 * trees is `rm -rf` cheaper (6,000 files: 186 ms, fs.rm 359, rm 88), and the daemon removes a
 * container's directory at every `down`, a large image rarely. Directory file descriptors through
 * /proc/self/fd (Node has no openat) would cost an open per directory and, to stay within the fd
 * limit at any depth, re-reading each parent on the way up.
 */
import { randomBytes } from 'node:crypto';
import { lstatSync, readdirSync, renameSync, rmdirSync, unlinkSync, type Dirent } from 'node:fs';
import { rename } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

/** Bytes below the root past which a directory is hoisted. */
export const HOIST_BELOW = 512;

/** The longest root path: a hoisted path (root + HOIST_BELOW) plus a name (255) stays under 4,095 bytes. */
export const MAX_ROOT = 2800;

/** The walk gives the event loop a turn after this much work (ms), so the daemon keeps answering. */
const SLICE_MS = 2;

/** A tree, or part of it, could not be removed: says which path and why. */
export class TreeRemovalError extends Error {
  constructor(
    readonly path: string,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException).code;
}

const SLASH = Buffer.from('/');

function below(dir: Buffer, name: Buffer): Buffer {
  return Buffer.concat([dir, SLASH, name]);
}

/** Reports a failed call on `path` as one line naming the path, shortened when it is very long. */
function failure(path: Buffer, e: unknown): TreeRemovalError {
  const text = path.toString();
  const shown = text.length > 200 ? `${text.slice(0, 120)}…${text.slice(-60)} (${path.length} bytes)` : text;
  const code = errno(e);
  return new TreeRemovalError(text, code, `cannot remove ${shown}: ${code ?? (e as Error).message}`);
}

/** Runs one filesystem call; a path already gone is no error (another walk, or the kernel, was first). */
function gone<T>(path: Buffer, call: () => T): T | null {
  try {
    return call();
  } catch (e) {
    if (errno(e) === 'ENOENT') return null;
    throw failure(path, e);
  }
}

interface Frame {
  path: Buffer;
  entries: Dirent<Buffer>[] | null;
  next: number;
  /** Hoists counted when this frame's entries were read (the root re-reads itself after one). */
  hoistsSeen: number;
}

/**
 * The walk itself: synchronous calls in slices of SLICE_MS between turns of the event loop. Sync
 * calls cost a quarter of the CPU of fs/promises ones here (no promise and no thread-pool hop per
 * entry: 6,000 files, 130-160 ms against 530 ms), and the slices keep the daemon responsive.
 */
async function walk(root: Buffer, dev: number): Promise<void> {
  let hoists = 0;
  const stack: Frame[] = [{ path: root, entries: null, next: 0, hoistsSeen: 0 }];
  let sliceStart = performance.now();
  while (stack.length > 0) {
    const top = stack[stack.length - 1] as Frame;
    if (top.entries === null) {
      top.hoistsSeen = hoists;
      top.entries = gone(top.path, () => readdirSync(top.path, { withFileTypes: true, encoding: 'buffer' })) ?? [];
    }
    const d = top.entries[top.next++];
    if (d === undefined) {
      if (top.path === root && hoists !== top.hoistsSeen) {
        top.entries = null; // hoisted directories landed here meanwhile
        top.next = 0;
        continue;
      }
      stack.pop();
      gone(top.path, () => rmdirSync(top.path));
    } else {
      const path = below(top.path, d.name);
      if (!d.isDirectory()) {
        gone(path, () => unlinkSync(path));
      } else if (path.length - root.length > HOIST_BELOW) {
        // Walked later from the top, where its own path is short again.
        const to = below(root, Buffer.from(`.rm-deep-${randomBytes(6).toString('hex')}`));
        gone(path, () => renameSync(path, to));
        hoists++;
      } else {
        const st = gone(path, () => lstatSync(path));
        if (st !== null) {
          if (st.dev !== dev) throw new TreeRemovalError(path.toString(), 'EXDEV', `cannot remove ${path.toString()}: another filesystem is mounted there; unmount it first`);
          stack.push({ path, entries: null, next: 0, hoistsSeen: 0 });
        }
      }
    }
    if (performance.now() - sliceStart >= SLICE_MS) {
      await yieldToEventLoop();
      sliceStart = performance.now();
    }
  }
}

/**
 * Removes `path` and everything below it, as `rm -rf --one-file-system` does: a missing path is
 * no error, a symlink is removed (never followed), and the walk refuses to enter a mount point.
 */
export async function removeTree(path: string): Promise<void> {
  const root = Buffer.from(path);
  const st = gone(root, () => lstatSync(root));
  if (st === null) return;
  if (!st.isDirectory()) {
    gone(root, () => unlinkSync(root));
    return;
  }
  if (root.length > MAX_ROOT) throw new TreeRemovalError(path, 'ENAMETOOLONG', `cannot remove ${path.slice(0, 120)}…: the daemon's own paths must stay under ${MAX_ROOT} bytes`);
  await walk(root, st.dev);
}

/**
 * Removes a leftover of interrupted work (a temporary, a half-removed image or container) and never
 * throws: a leftover that cannot be removed is reported through `log` and stays where it is, under
 * its temporary name, which its store ignores and retries at its next start.
 */
export async function removeLeftover(path: string, log: (line: string) => void): Promise<boolean> {
  try {
    await removeTree(path);
    return true;
  } catch (e) {
    log(`${(e as Error).message}; left in place and retried at the next start`);
    return false;
  }
}

/**
 * Removes leftovers one after another, in the background: a store opens without waiting for them
 * (a large one must not delay the daemon's start, which the CLI waits 10 s for). The promise
 * settles when all are done and never rejects.
 */
export async function removeLeftoversLater(paths: readonly string[], log: (line: string) => void): Promise<void> {
  await Promise.resolve(); // the caller goes on first
  for (const p of paths) await removeLeftover(p, log);
}

/**
 * Moves `path` out of its store's sight in one step, to a sibling named `<prefix><name>-<hex>`
 * (the store treats such names as leftovers), and returns the new path; null when `path` does
 * not exist. Everything else about the removal can then happen, or fail, later.
 */
export async function moveAside(path: string, prefix: string): Promise<string | null> {
  const aside = join(dirname(path), `${prefix}${basename(path)}-${randomBytes(4).toString('hex')}`);
  try {
    await rename(path, aside);
    return aside;
  } catch (e) {
    if (errno(e) === 'ENOENT') return null;
    throw e;
  }
}
