/**
 * COPY/ADD sources: which paths a source names in a root (the build context or a stage's root
 * filesystem), with wildcards matched one path component at a time as Go's filepath.Match does,
 * and the content checksum of what they name. The checksum covers each entry's path, type, mode
 * and contents (or link target), never its mtime: touching a file keeps the cache, editing it
 * invalidates exactly the steps that read it.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { posix } from 'node:path';

export class SourceError extends Error {}

/** Go's filepath.Match for one path component. */
export function matchComponent(pattern: string, name: string): boolean {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else if (ch === '\\' && i + 1 < pattern.length) re += escapeRe(pattern[++i]!);
    else if (ch === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) throw new SourceError(`syntax error in pattern ${JSON.stringify(pattern)}`);
      let cls = pattern.slice(i + 1, end);
      if (cls.startsWith('^')) cls = `^${cls.slice(1)}`;
      re += `[${cls.replace(/\\(.)/g, (_m, c: string) => escapeRe(c))}]`;
      i = end;
    } else re += escapeRe(ch);
  }
  return new RegExp(`${re}$`, 's').test(name);
}

function escapeRe(ch: string): string {
  return ch.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}

const HAS_WILDCARD = /[*?[]/;

/**
 * The relative paths a source names under `root`: the path itself (cleaned; "." is the root), or
 * what its wildcards match, sorted. A source leaving the root is refused.
 */
export async function expandSource(root: string, source: string): Promise<string[]> {
  const clean = posix.normalize(`/${source}`);
  if (posix.normalize(source).startsWith('..')) throw new SourceError(`forbidden path outside the build context: ${source}`);
  const parts = clean.split('/').filter(Boolean);
  if (!parts.some((p) => HAS_WILDCARD.test(p))) {
    const rel = parts.join('/');
    try {
      await lstat(rel === '' ? root : posix.join(root, rel));
    } catch {
      throw new SourceError(`${source}: no such file or directory`);
    }
    return [rel === '' ? '.' : rel];
  }
  let found = [''];
  for (const part of parts) {
    const next: string[] = [];
    for (const dir of found) {
      if (!HAS_WILDCARD.test(part)) {
        const rel = dir === '' ? part : `${dir}/${part}`;
        if (await exists(posix.join(root, rel))) next.push(rel);
        continue;
      }
      let names: string[];
      try {
        names = await readdir(dir === '' ? root : posix.join(root, dir));
      } catch {
        continue;
      }
      for (const name of names.sort()) if (matchComponent(part, name)) next.push(dir === '' ? name : `${dir}/${name}`);
    }
    found = next;
  }
  if (found.length === 0) throw new SourceError(`no source files were specified: nothing matches ${source}`);
  return found;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

async function fileDigest(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 256 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Folds `rel` (a file, link or directory, recursively) into `hash`; `known` gives file digests already computed. */
async function addEntry(hash: ReturnType<typeof createHash>, root: string, rel: string, known: KnownDigest): Promise<void> {
  const full = rel === '.' ? root : posix.join(root, rel);
  const st = await lstat(full);
  const mode = (st.mode & 0o7777).toString(8);
  if (st.isDirectory()) {
    hash.update(`d ${rel} ${mode}\n`);
    for (const name of (await readdir(full)).sort()) await addEntry(hash, root, rel === '.' ? name : `${rel}/${name}`, known);
  } else if (st.isSymbolicLink()) {
    hash.update(`l ${rel} ${await readlink(full)}\n`);
  } else if (st.isFile()) {
    hash.update(`f ${rel} ${mode} ${known(rel) ?? (await fileDigest(full))}\n`);
  } else {
    hash.update(`o ${rel} ${mode} ${st.rdev}\n`);
  }
}

/** The sha256 (hex) of a file's contents under the root, when known without reading it. */
export type KnownDigest = (rel: string) => string | undefined;

/** The checksum of what the sources name under `root` (a wildcard's matches included). */
export async function sourcesChecksum(root: string, matched: readonly string[][], known: KnownDigest = () => undefined): Promise<string> {
  const hash = createHash('sha256');
  for (const paths of matched) {
    hash.update('source\n');
    for (const rel of paths) await addEntry(hash, root, rel, known);
  }
  return hash.digest('hex');
}
