/**
 * Reading the files a project is made of (Compose files, .env, env_file, bundles, seccomp
 * profiles), with the errors a user can act on: missing, a directory, too large, not text, not a
 * regular file. Every such read goes through readInputFile, so none can block on a device or on
 * a named pipe nobody writes to: besides regular files it reads standard input ("-") and pipes
 * whose data is ready (`-f <(command)`), and refuses devices, sockets and idle pipes.
 */
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { ConfigError } from '../errors.js';

/** Real Compose files are kilobytes; anything past this is refused before it costs time or memory. */
export const MAX_TEXT_FILE_BYTES = 8 * 1024 * 1024;

/** How long a pipe may keep a read waiting for its next bytes (`<(command)` starts as we do). */
export const PIPE_IDLE_MS = 2000;

const STDIN = '-';

/** A file that cannot be read as an input (missing, not a regular file, too large, not text). */
export class InputFileError extends ConfigError {}

/** "Compose file /x/compose.yml", "Compose file on standard input". */
function named(role: string, path: string): string {
  return `${role} ${path === STDIN ? 'on standard input' : path}`;
}

function describeSize(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/** Reads a whole file (or standard input for "-") as text, refusing what is not a small text file. */
export function readTextFile(path: string, role: string): string {
  return decodeText(readInputFile(path, role), path, role);
}

/** Reads a whole file, standard input for "-", or a pipe with data, refusing anything else. */
export function readInputFile(path: string, role: string): Buffer {
  if (path === STDIN) return readBounded(0, path, role, undefined);
  let fd: number;
  try {
    // Stat first: opening a device can have effects of its own. Opened without blocking, so a
    // named pipe with no writer cannot hold the open; fstat again in case the path changed.
    refuseUnreadable(statSync(path), path, role);
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    throw fileError(e, path, role);
  }
  try {
    const st = fstatSync(fd);
    refuseUnreadable(st, path, role);
    if (st.size > MAX_TEXT_FILE_BYTES) {
      throw new InputFileError(
        `${named(role, path)} is too large (${describeSize(st.size)}; the limit is ${describeSize(MAX_TEXT_FILE_BYTES)})`,
        { file: path },
      );
    }
    const data = readBounded(fd, path, role, st.isFIFO() ? PIPE_IDLE_MS : undefined);
    if (st.isFIFO() && data.length === 0) throw new InputFileError(`${named(role, path)} is a pipe with nothing written to it`, { file: path });
    return data;
  } catch (e) {
    throw fileError(e, path, role);
  } finally {
    closeSync(fd);
  }
}

function refuseUnreadable(st: Stats, path: string, role: string): void {
  if (st.isFile() || st.isFIFO()) return;
  if (st.isDirectory()) throw new InputFileError(`${named(role, path)} is a directory, not a file`, { file: path });
  const kind = st.isCharacterDevice() ? 'character device' : st.isBlockDevice() ? 'block device' : st.isSocket() ? 'socket' : 'special file';
  throw new InputFileError(`${named(role, path)} is a ${kind}, not a regular file`, { file: path });
}

/**
 * Reads until EOF but never more than the limit (a pipe has no size to check up front). A pipe
 * that sends nothing for `idleMs` is refused; standard input (idleMs undefined) is waited for.
 */
function readBounded(fd: number, path: string, role: string, idleMs: number | undefined): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  let idleSince: number | undefined;
  for (;;) {
    const chunk = Buffer.allocUnsafe(64 * 1024);
    let n: number;
    try {
      n = readSync(fd, chunk, 0, chunk.length, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') {
        idleSince ??= Date.now();
        if (idleMs !== undefined && Date.now() - idleSince > idleMs) {
          throw new InputFileError(`${named(role, path)} is a pipe that sent nothing for ${idleMs / 1000} s; a pipe is read only when its data is ready`, { file: path });
        }
        // A non-blocking pipe with nothing yet: wait a little instead of spinning.
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
        continue;
      }
      if ((e as NodeJS.ErrnoException).code === 'EOF') break;
      throw e;
    }
    if (n === 0) break;
    idleSince = undefined;
    total += n;
    if (total > MAX_TEXT_FILE_BYTES) {
      throw new InputFileError(`${named(role, path)} is too large (over ${describeSize(MAX_TEXT_FILE_BYTES)})`, { file: path });
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
    throw new InputFileError(`${named(role, path)} is not UTF-8 text (is it a binary file?)`, { file: path });
  }
}

function fileError(e: unknown, path: string, role: string): InputFileError {
  if (e instanceof InputFileError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new InputFileError(`${named(role, path)} does not exist`, { file: path });
  if (code === 'EACCES' || code === 'EPERM') return new InputFileError(`${named(role, path)} cannot be read: permission denied`, { file: path });
  if (code === 'EISDIR') return new InputFileError(`${named(role, path)} is a directory, not a file`, { file: path });
  return new InputFileError(`${named(role, path)} cannot be read: ${(e as Error).message}`, { file: path });
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
