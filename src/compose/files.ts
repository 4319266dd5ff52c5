/**
 * Reading the text files a project is made of (Compose files, .env, env_file, bundles), with the
 * errors a user can act on: missing, a directory, too large, not text.
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { ConfigError } from '../errors.js';

/** Real Compose files are kilobytes; anything past this is refused before it costs time or memory. */
export const MAX_TEXT_FILE_BYTES = 8 * 1024 * 1024;

const STDIN = '-';

function describeSize(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/** Reads a whole file (or standard input for "-") as text, refusing what is not a small text file. */
export function readTextFile(path: string, role: string): string {
  let fd: number;
  try {
    fd = path === STDIN ? 0 : openSync(path, 'r');
  } catch (e) {
    throw fileError(e, path, role);
  }
  try {
    if (path !== STDIN) {
      const st = fstatSync(fd);
      if (st.isDirectory()) throw new ConfigError(`${role} ${path} is a directory, not a file`, { file: path });
      if (st.size > MAX_TEXT_FILE_BYTES) {
        throw new ConfigError(
          `${role} is too large (${describeSize(st.size)}; the limit is ${describeSize(MAX_TEXT_FILE_BYTES)})`,
          { file: path },
        );
      }
    }
    return decodeText(readBounded(fd, path, role), path, role);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw fileError(e, path, role);
  } finally {
    if (path !== STDIN) closeSync(fd);
  }
}

/** Reads until EOF but never more than the limit (a pipe has no size to check up front). */
function readBounded(fd: number, path: string, role: string): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const chunk = Buffer.allocUnsafe(64 * 1024);
    let n: number;
    try {
      n = readSync(fd, chunk, 0, chunk.length, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') {
        // A non-blocking pipe with nothing yet: wait a little instead of spinning.
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
        continue;
      }
      if ((e as NodeJS.ErrnoException).code === 'EOF') break;
      throw e;
    }
    if (n === 0) break;
    total += n;
    if (total > MAX_TEXT_FILE_BYTES) {
      throw new ConfigError(`${role} is too large (over ${describeSize(MAX_TEXT_FILE_BYTES)})`, { file: path });
    }
    chunks.push(chunk.subarray(0, n));
  }
  return Buffer.concat(chunks, total);
}

function decodeText(buf: Buffer, path: string, role: string): string {
  if (buf.length >= 2 && buf[0] === 0xff && buf[1] === 0xfe) return new TextDecoder('utf-16le').decode(buf.subarray(2));
  if (buf.length >= 2 && buf[0] === 0xfe && buf[1] === 0xff) return new TextDecoder('utf-16be').decode(buf.subarray(2));
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(buf);
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  } catch {
    throw new ConfigError(`${role} is not UTF-8 text (is it a binary file?)`, { file: path });
  }
}

function fileError(e: unknown, path: string, role: string): ConfigError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new ConfigError(`${role} ${path} does not exist`, { file: path });
  if (code === 'EACCES' || code === 'EPERM') return new ConfigError(`${role} ${path} cannot be read: permission denied`, { file: path });
  if (code === 'EISDIR') return new ConfigError(`${role} ${path} is a directory, not a file`, { file: path });
  return new ConfigError(`${role} ${path} cannot be read: ${(e as Error).message}`, { file: path });
}

export function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

export function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}
