/**
 * The build context as the Docker CLI sends it: a tar of the context directory without what
 * .dockerignore excludes (the Dockerfile and .dockerignore themselves always kept), owned by root,
 * in lexical order. The directory is walked first, so unreadable files fail before anything is
 * sent; file contents are streamed. Shared by the Docker backend (which sends the tar to dockerd)
 * and the embedded builder (which reads the context where it is).
 */
export { BuildContextError } from './build-context-error.js';
import { createReadStream, existsSync } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { readTextFile } from './input-files.js';
import { BuildContextError } from './build-context-error.js';
import { IgnoreMatcher, readDockerignore } from './dockerignore.js';
import { packTar, type PackEntry, type PackItem } from './tar-pack.js';

export interface ContextEntry {
  /** Relative path with "/" separators, no leading "./"; directories without a trailing "/". */
  name: string;
  type: 'file' | 'directory' | 'symlink';
  mode: number;
  /** Seconds since the epoch. */
  mtime: number;
  size?: number;
  linkName?: string;
  /** Absolute path of a file's contents; undefined for `extra` entries. */
  source?: string;
  content?: Buffer;
  /**
   * What changes when the file does (device, inode, size, mode, mtime and ctime in ms): a reader
   * that kept an earlier copy knows by this whether to copy and hash it again.
   */
  changeKey?: string;
}

function contextError(path: string, e: unknown): BuildContextError {
  return new BuildContextError(`cannot read the build context: ${path}: ${(e as Error).message}`);
}

async function readIgnoreFile(dir: string): Promise<string[]> {
  const path = join(dir, '.dockerignore');
  if (!existsSync(path)) return [];
  try {
    return readDockerignore(readTextFile(path, '.dockerignore'));
  } catch (e) {
    throw contextError(path, e);
  }
}

/** The patterns, plus exceptions keeping the Dockerfile and .dockerignore (as the CLI adds them). */
export function keepBuildFiles(patterns: string[], dockerfile: string): string[] {
  const out = [...patterns];
  if (new IgnoreMatcher(out).excludes('.dockerignore')) out.push('!.dockerignore');
  if (new IgnoreMatcher(out).excludes(dockerfile)) out.push(`!${dockerfile}`);
  return out;
}

/** Byte order, as Go's filepath.Walk sorts names. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

async function walk(root: string, matcher: IgnoreMatcher, rel: string, out: ContextEntry[]): Promise<void> {
  const dir = rel === '' ? root : join(root, rel);
  let names: string[];
  try {
    names = (await readdir(dir)).sort(byteOrder);
  } catch (e) {
    throw contextError(dir, e);
  }
  for (const name of names) {
    const path = rel === '' ? name : `${rel}/${name}`;
    const full = join(root, path);
    let st;
    try {
      st = await lstat(full);
    } catch (e) {
      throw contextError(full, e);
    }
    const excluded = !matcher.empty && matcher.excludes(path);
    if (excluded && !(st.isDirectory() && matcher.hasExceptions && matcher.mayIncludeUnder(path))) continue;
    const base = { name: path, mode: st.mode, mtime: Math.floor(st.mtimeMs / 1000), changeKey: `${st.dev}:${st.ino}:${st.size}:${st.mode}:${st.mtimeMs}:${st.ctimeMs}` };
    if (st.isDirectory()) {
      if (!excluded) out.push({ ...base, type: 'directory' });
      await walk(root, matcher, path, out);
    } else if (st.isSymbolicLink()) {
      out.push({ ...base, type: 'symlink', linkName: await readlink(full) });
    } else if (st.isFile()) {
      out.push({ ...base, type: 'file', size: st.size, source: full });
    }
    // sockets, FIFOs and devices have no place in a build context
  }
}

export interface ContextOptions {
  /**
   * The Dockerfile's path in the context ("/"-separated): kept, with .dockerignore, even when
   * .dockerignore names them, as the Docker CLI keeps them for dockerd. Undefined: only the
   * patterns apply (the embedded builder reads the Dockerfile on its own, as BuildKit does).
   */
  dockerfile?: string;
  /** Files added at the root of the context (a Dockerfile from outside it). */
  extra?: { name: string; content: Buffer }[];
}

/** Walks the context; rejects with a BuildContextError when a file cannot be read. */
export async function contextEntries(dir: string, options: ContextOptions): Promise<ContextEntry[]> {
  const patterns = await readIgnoreFile(dir);
  const matcher = new IgnoreMatcher(options.dockerfile === undefined ? patterns : keepBuildFiles(patterns, options.dockerfile));
  const entries: ContextEntry[] = [];
  await walk(dir, matcher, '', entries);
  const now = Math.floor(Date.now() / 1000);
  for (const x of options.extra ?? []) entries.push({ name: x.name, type: 'file', mode: 0o644, mtime: now, size: x.content.length, content: x.content });
  return entries;
}

async function* fileBytes(entry: ContextEntry): AsyncGenerator<Buffer> {
  const size = entry.size ?? 0;
  let sent = 0;
  if (entry.content) {
    yield entry.content;
    sent = entry.content.length;
  } else if (entry.source && size > 0) {
    try {
      for await (const chunk of createReadStream(entry.source, { start: 0, end: size - 1, highWaterMark: 256 * 1024 })) {
        const buf = chunk as Buffer;
        yield buf;
        sent += buf.length;
      }
    } catch (e) {
      throw contextError(entry.source, e);
    }
  }
  // A file that shrank since it was walked is padded to the size its header announced.
  if (sent < size) yield Buffer.alloc(size - sent);
}

function* packItems(entries: ContextEntry[]): Generator<PackItem> {
  for (const entry of entries) {
    const { name, type, mode, mtime, size, linkName } = entry;
    const packEntry: PackEntry = { name, type, mode, mtime };
    if (size !== undefined) packEntry.size = size;
    if (linkName !== undefined) packEntry.linkName = linkName;
    yield type === 'file' ? { entry: packEntry, body: fileBytes(entry) } : { entry: packEntry };
  }
}

/** The tar of walked entries, streamed. */
export function contextTar(entries: ContextEntry[]): Readable {
  return packTar(packItems(entries));
}
