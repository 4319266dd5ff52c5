/**
 * The build context inside the daemon. The daemon runs as root on the CLI's own machine (its
 * socket admits root only), so it reads the context directory where it is, walked with its
 * .dockerignore as the Docker CLI walks it (src/util/build-context.ts), and copies what is kept
 * into a copy of its own: every step of a build reads one fixed snapshot even if the user edits
 * files meanwhile, as BuildKit's context transfer gives it.
 *
 * The copy is kept between builds, one per context directory (<build>/contexts/<sha of path>/),
 * with a manifest of each file's change key (device, inode, size, mode, mtime, ctime) and the
 * sha256 of its contents computed while copying. A rebuild copies and hashes only the files whose
 * change key moved, and removes what is gone or now ignored: a rebuild with nothing changed reads
 * no file's contents. The manifest is removed before a sync and written after it, so a sync cut
 * short starts over from an empty copy. A context in use by another build at the same time is
 * copied afresh into that build's own directory instead.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, mkdir, readFile, rename, rm, symlink, unlink, utimes, writeFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { EngineError } from '../../contract/errors.js';
import type { ContextEntry } from '../../util/build-context.js';

interface ManifestEntry {
  type: ContextEntry['type'];
  mode: number;
  mtime: number;
  changeKey?: string;
  linkName?: string;
  /** sha256 hex of a file's contents. */
  sha?: string;
}

type Manifest = Record<string, ManifestEntry>;

export interface ContextCopy {
  /** The copy's root directory. */
  root: string;
  /** The sha256 (hex) of a context file's contents, known from the copy; undefined for other paths. */
  digest(rel: string): string | undefined;
  release(): void;
}

const MANIFEST = 'manifest.json';

/** Copies `from` to `to` (replacing it) and returns the sha256 hex of what was copied. */
async function copyHashed(from: string, to: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  const tmp = `${to}.flotilla-tmp`;
  let copied = 0;
  await pipeline(
    createReadStream(from, { highWaterMark: 256 * 1024, ...(size > 0 ? { end: size - 1 } : {}) }),
    new Transform({
      transform(chunk: Buffer, _enc, done) {
        copied += chunk.length;
        hash.update(chunk);
        done(null, chunk);
      },
    }),
    createWriteStream(tmp, { mode: 0o600 }),
  );
  // A file that shrank since it was walked is padded to its walked size, as the context tar was.
  if (copied < size) {
    const pad = Buffer.alloc(size - copied);
    hash.update(pad);
    await writeFile(tmp, pad, { flag: 'a' });
  }
  await rm(to, { recursive: true, force: true });
  await rename(tmp, to);
  return hash.digest('hex');
}

function contextError(entry: ContextEntry, e: unknown): EngineError {
  return new EngineError('invalid', `cannot read the build context: ${entry.source ?? entry.name}: ${(e as Error).message}`);
}

/** Brings `tree` to `entries`, given what `old` says it holds; returns the new manifest. */
async function sync(tree: string, entries: ContextEntry[], old: Manifest): Promise<Manifest> {
  const next: Manifest = {};
  const wanted = new Map(entries.map((e) => [e.name, e]));
  // Gone, ignored now, or of another type: removed first (a parent's removal takes its children).
  for (const [name, was] of Object.entries(old)) {
    const now = wanted.get(name);
    if (!now || now.type !== was.type) await rm(posix.join(tree, name), { recursive: true, force: true });
  }
  const dirs: ContextEntry[] = [];
  const made = new Set<string>(['.']);
  for (const entry of entries) {
    const path = posix.join(tree, entry.name);
    const was = old[entry.name];
    const same = was !== undefined && was.type === entry.type;
    const mode = entry.mode & 0o7777;
    const parent = posix.dirname(entry.name);
    // A directory left out by .dockerignore whose exception keeps a file in it is made plainly, as tar makes it.
    if (!made.has(parent)) {
      await mkdir(posix.join(tree, parent), { recursive: true, mode: 0o755 });
      made.add(parent);
    }
    if (entry.type === 'directory') {
      if (!same) await mkdir(path, { recursive: true });
      if (!same || was.mode !== mode) await chmod(path, mode);
      made.add(entry.name);
      dirs.push(entry);
      next[entry.name] = { type: 'directory', mode, mtime: entry.mtime };
    } else if (entry.type === 'symlink') {
      if (!same || was.linkName !== entry.linkName) {
        await rm(path, { recursive: true, force: true });
        await symlink(entry.linkName ?? '', path);
      }
      next[entry.name] = { type: 'symlink', mode, mtime: entry.mtime, linkName: entry.linkName ?? '' };
    } else {
      let sha = same && was.changeKey !== undefined && was.changeKey === entry.changeKey ? was.sha : undefined;
      const kept = sha !== undefined && was?.mode === mode && was.mtime === entry.mtime;
      if (sha === undefined) {
        try {
          sha = entry.content ? await writeContent(path, entry.content) : await copyHashed(entry.source!, path, entry.size ?? 0);
        } catch (e) {
          await unlink(path).catch(() => undefined);
          throw contextError(entry, e);
        }
      }
      if (!kept) {
        await chmod(path, mode);
        await utimes(path, entry.mtime, entry.mtime);
      }
      next[entry.name] = { type: 'file', mode, mtime: entry.mtime, sha, ...(entry.changeKey !== undefined ? { changeKey: entry.changeKey } : {}) };
    }
  }
  // Directories' times last, deepest first: making their children moved them.
  for (const d of dirs.reverse()) await utimes(posix.join(tree, d.name), d.mtime, d.mtime);
  return next;
}

async function writeContent(path: string, content: Buffer): Promise<string> {
  await rm(path, { recursive: true, force: true });
  await writeFile(path, content, { mode: 0o600 });
  return createHash('sha256').update(content).digest('hex');
}

async function readManifest(dir: string): Promise<Manifest | null> {
  try {
    return JSON.parse(await readFile(posix.join(dir, MANIFEST), 'utf8')) as Manifest;
  } catch {
    return null;
  }
}

export class ContextCopies {
  private readonly inUse = new Set<string>();

  /** `dir`: where kept copies live (<build>/contexts). */
  constructor(private readonly dir: string) {}

  /**
   * A copy of the walked `entries` of the context directory `context`: the kept one, brought up to
   * date, or (when another build uses that one) a fresh one under `scratch`.
   */
  async acquire(context: string, entries: ContextEntry[], scratch: string): Promise<ContextCopy> {
    const key = createHash('sha256').update(context).digest('hex');
    const shared = !this.inUse.has(key);
    const dir = shared ? posix.join(this.dir, key) : posix.join(scratch, 'context');
    if (shared) this.inUse.add(key);
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const tree = posix.join(dir, 'tree');
      let old = shared ? await readManifest(dir) : null;
      await rm(posix.join(dir, MANIFEST), { force: true });
      if (!old) {
        await rm(tree, { recursive: true, force: true });
        old = {};
      }
      await mkdir(tree, { recursive: true, mode: 0o755 });
      await chmod(tree, 0o755);
      const manifest = await sync(tree, entries, old);
      if (shared) await writeFile(posix.join(dir, MANIFEST), JSON.stringify(manifest), { mode: 0o600 });
      let released = false;
      return {
        root: tree,
        digest: (rel) => {
          const m = manifest[rel];
          return m?.type === 'file' ? m.sha : undefined;
        },
        release: () => {
          if (released) return;
          released = true;
          if (shared) this.inUse.delete(key);
        },
      };
    } catch (e) {
      if (shared) this.inUse.delete(key);
      throw e;
    }
  }
}
