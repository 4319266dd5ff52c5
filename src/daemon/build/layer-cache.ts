/**
 * The build cache: one directory per step result, `<build>/layers/<key>/`, holding the step's
 * overlay upper dir (`diff/`, used as a lowerdir by later steps), its layer tar and layer.json
 * ({diffId, size, empty}). The key is the sha256 of the parent's key, the step's definition and
 * the checksums of what it reads, so a rebuild with nothing changed finds every step, and a
 * changed file misses from the first step that reads it. A result is written in a temporary
 * directory and renamed into place: a crash leaves no half entry under a key.
 */
import { createHash, randomBytes } from 'node:crypto';
import { lstat, mkdir, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { removeLeftoversLater, removeTree } from '../state/remove-tree.js';

export interface CachedLayer {
  key: string;
  /** The upper dir: a lowerdir for the steps after it. */
  diff: string;
  /** The layer tar; null when the step changed nothing (no layer in the image). */
  tar: string | null;
  diffId: string | null;
  /** When the step ran (RFC 3339): a rebuild from the cache gives the same history and image id. */
  created: string;
}

/** The disk space under `path` (allocated blocks, links not followed); 0 when it is gone. */
export async function treeSize(path: string): Promise<number> {
  let st;
  try {
    st = await lstat(path);
  } catch {
    return 0;
  }
  let total = st.blocks * 512;
  if (st.isDirectory()) for (const name of await readdir(path).catch(() => [] as string[])) total += await treeSize(posix.join(path, name));
  return total;
}

export function stepKey(parent: string, definition: unknown, checksums: readonly string[]): string {
  return createHash('sha256').update(JSON.stringify([parent, definition, checksums])).digest('hex');
}

export class LayerCache {
  constructor(private readonly dir: string) {}

  /** Creates the folder and removes what interrupted builds left (logged, never thrown, when it cannot). */
  async open(log: (line: string) => void): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const doomed = (await readdir(this.dir)).filter((name) => name.startsWith('.tmp-')).map((name) => posix.join(this.dir, name));
    await removeLeftoversLater(doomed, log);
  }

  private entry(key: string, dir: string, meta: { diffId: string | null; created: string }): CachedLayer {
    return { key, diff: posix.join(dir, 'diff'), tar: meta.diffId ? posix.join(dir, 'layer.tar') : null, diffId: meta.diffId, created: meta.created };
  }

  async get(key: string): Promise<CachedLayer | null> {
    const dir = posix.join(this.dir, key);
    try {
      const meta = JSON.parse(await readFile(posix.join(dir, 'layer.json'), 'utf8')) as { diffId: string | null; created: string };
      return this.entry(key, dir, meta);
    } catch {
      return null;
    }
  }

  /** A fresh directory for a step's work: `diff/` is the upper dir, `work/` overlay's workdir. */
  async scratch(): Promise<string> {
    const dir = posix.join(this.dir, `.tmp-${randomBytes(6).toString('hex')}`);
    await mkdir(posix.join(dir, 'diff'), { recursive: true, mode: 0o755 });
    await mkdir(posix.join(dir, 'work'), { recursive: true });
    return dir;
  }

  /** Moves a finished scratch dir under its key (replacing an older entry, as --no-cache does). */
  async commit(key: string, scratch: string, diffId: string | null): Promise<CachedLayer> {
    await removeTree(posix.join(scratch, 'work'));
    const created = new Date().toISOString();
    await writeFile(posix.join(scratch, 'layer.json'), JSON.stringify({ diffId, created }));
    const dir = posix.join(this.dir, key);
    const old = posix.join(this.dir, `.tmp-old-${randomBytes(6).toString('hex')}`);
    await rename(dir, old).catch(() => undefined);
    try {
      await rename(scratch, dir);
    } catch (e) {
      // Another build committed the same step meanwhile: its result is as good as this one.
      const existing = await this.get(key);
      if (!existing) throw e;
      await removeTree(scratch);
      return existing;
    } finally {
      await removeTree(old);
    }
    return this.entry(key, dir, { diffId, created });
  }

  /**
   * Removes the step results `doomed` picks (by the layer each made, null for none) and returns
   * their keys and the space freed. The caller makes sure no build is running.
   */
  async prune(doomed: (diffId: string | null) => boolean): Promise<{ removed: string[]; reclaimed: number }> {
    const removed: string[] = [];
    let reclaimed = 0;
    for (const name of (await readdir(this.dir).catch(() => [] as string[])).sort()) {
      const dir = posix.join(this.dir, name);
      const entry = name.startsWith('.tmp-') ? null : await this.get(name);
      // A half-written entry (no layer.json) or a leftover scratch dir goes too.
      if (entry && !doomed(entry.diffId)) continue;
      reclaimed += await treeSize(dir);
      await removeTree(dir);
      if (entry) removed.push(name);
    }
    return { removed, reclaimed };
  }
}
