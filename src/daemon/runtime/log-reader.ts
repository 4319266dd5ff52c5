/**
 * Reading a container's k8s-file log: its rotated backups (ctr.log.N ... ctr.log.1) then
 * ctr.log, P fragments joined into lines, the last N lines, a since filter, timestamps, and
 * following: fs.watch on the directory plus a poll, surviving rotation (the renamed file is read
 * to its end before the new one is opened: conmon only creates the new file when it reopens, so
 * by then it writes nothing more to the old one) and truncation. Following ends when aborted, or
 * once the container has stopped and the file has been read to its end.
 */
import { watch, type FSWatcher } from 'node:fs';
import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { formatNanos, LineAssembler, parseRecord, timeNanos, type LogRecord, type Stream } from './k8s-log.js';
import type { RuntimeLogOptions, TimedLogChunk } from './types.js';

const BLOCK = 64 * 1024;

/** Backups oldest first, then the file itself (which may not exist yet). */
export async function logFiles(logPath: string): Promise<string[]> {
  const base = basename(logPath);
  let names: string[] = [];
  try {
    names = await readdir(dirname(logPath));
  } catch {
    return [logPath];
  }
  const backups = names
    .map((n) => (n.startsWith(`${base}.`) ? Number(n.slice(base.length + 1)) : NaN))
    .filter((n) => Number.isInteger(n) && n > 0)
    .sort((a, b) => b - a);
  return [...backups.map((n) => `${logPath}.${n}`), logPath];
}

async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return buf.subarray(0, done);
}

/** Complete records (newline-terminated) from the end of a file backwards, with their offsets. */
async function* recordsBackward(fh: FileHandle, size: number): AsyncGenerator<{ start: number; record: LogRecord | null }> {
  let pos = size;
  let buf = Buffer.alloc(0);
  const more = async () => {
    const len = Math.min(BLOCK, pos);
    pos -= len;
    buf = Buffer.concat([await readAt(fh, pos, len), buf]);
  };
  // Drop an incomplete last record (being written).
  for (;;) {
    const nl = buf.lastIndexOf(0x0a);
    if (nl >= 0) {
      buf = buf.subarray(0, nl + 1);
      break;
    }
    if (pos === 0) return;
    await more();
  }
  for (;;) {
    const prev = buf.length >= 2 ? buf.lastIndexOf(0x0a, buf.length - 2) : -1;
    if (prev >= 0) {
      yield { start: pos + prev + 1, record: parseRecord(buf.subarray(prev + 1, buf.length - 1)) };
      buf = buf.subarray(0, prev + 1);
      continue;
    }
    if (pos === 0) {
      if (buf.length > 0) yield { start: 0, record: parseRecord(buf.subarray(0, buf.length - 1)) };
      return;
    }
    await more();
  }
}

/** Where to start reading so that `lines` logical lines follow: a file index and an offset. */
async function tailStart(files: { fh: FileHandle | null; size: number }[], lines: number): Promise<{ file: number; offset: number }> {
  if (lines <= 0) {
    const last = files.length - 1;
    return { file: last, offset: files[last]?.size ?? 0 };
  }
  let count = 0;
  // Going backwards, a P record of a stream with no F seen yet ends that stream's unterminated
  // last line, which counts as one line (once). A line whose pieces straddle the start (another
  // stream's records in between) is shown from the start on.
  const closed = new Set<string>();
  const open = new Set<string>();
  for (let i = files.length - 1; i >= 0; i--) {
    const f = files[i];
    if (!f?.fh) continue;
    for await (const { start, record } of recordsBackward(f.fh, f.size)) {
      if (!record) continue;
      if (record.partial) {
        if (closed.has(record.stream) || open.has(record.stream)) continue;
        open.add(record.stream);
      } else {
        closed.add(record.stream);
      }
      if (count >= lines) return { file: i, offset: start + (await recordLength(f.fh, start)) };
      count++;
    }
  }
  return { file: 0, offset: 0 };
}

/** The length of the record starting at `start`, newline included. */
async function recordLength(fh: FileHandle, start: number): Promise<number> {
  let length = 0;
  for (;;) {
    const chunk = await readAt(fh, start + length, BLOCK);
    if (chunk.length === 0) return length;
    const nl = chunk.indexOf(0x0a);
    if (nl >= 0) return length + nl + 1;
    length += chunk.length;
  }
}

/** A file being read forwards: complete records from `offset`, the offset advancing past them. */
class ForwardReader {
  constructor(
    readonly fh: FileHandle,
    readonly ino: number,
    public offset: number,
  ) {}

  async *records(): AsyncGenerator<LogRecord> {
    for (;;) {
      const chunk = await readAt(this.fh, this.offset, BLOCK);
      if (chunk.length === 0) return;
      let start = 0;
      for (;;) {
        const nl = chunk.indexOf(0x0a, start);
        if (nl < 0) break;
        const record = parseRecord(chunk.subarray(start, nl));
        start = nl + 1;
        if (record) yield record;
      }
      if (start === 0) {
        // One record longer than a block: read it whole.
        const length = await recordLength(this.fh, this.offset);
        const whole = await readAt(this.fh, this.offset, length);
        if (whole[whole.length - 1] !== 0x0a) return; // still being written
        this.offset += length;
        const record = parseRecord(whole.subarray(0, whole.length - 1));
        if (record) yield record;
        continue;
      }
      this.offset += start;
      if (chunk.length < BLOCK) return;
    }
  }
}

async function openIfExists(path: string): Promise<{ fh: FileHandle; ino: number; size: number } | null> {
  try {
    const fh = await open(path, 'r');
    const st = await fh.stat();
    return { fh, ino: st.ino, size: st.size };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/** Each file of the log (backups oldest first, then the live file) with its inode, as listed now. */
async function listing(logPath: string): Promise<{ path: string; ino: number }[]> {
  const out: { path: string; ino: number }[] = [];
  for (const path of await logFiles(logPath)) {
    try {
      out.push({ path, ino: (await stat(path)).ino });
    } catch {
      // not there (yet), or renamed since the directory was read
    }
  }
  return out;
}

const sameListing = (a: { path: string; ino: number }[], b: { path: string; ino: number }[]) =>
  a.length === b.length && a.every((x, i) => x.path === b[i]?.path && x.ino === b[i]?.ino);

/**
 * The listing as it was at one instant, or null while rotations keep changing it. A rotation renames
 * every backup one step older while a listing stats them one by one, so one listing alone can miss a
 * file or see one twice (seen: a follower skipping whole files under rapid rotation). Two listings
 * that agree path for path saw no rename in between, so they show the files as they were at the
 * moment between them, in age order (a rotation caught half done leaves a gap there, never a file
 * out of order).
 */
async function stableListing(logPath: string): Promise<{ path: string; ino: number }[] | null> {
  let previous = await listing(logPath);
  for (let attempt = 0; attempt < 5; attempt++) {
    const now = await listing(logPath);
    if (sameListing(previous, now)) return now;
    previous = now;
  }
  return null;
}

/**
 * The file written after the one with inode `ino`: the next one in age order among the backups
 * and the live file (several rotations may have happened since it was opened). When `ino` is gone
 * (deleted beyond max-file), every file left is newer, so the oldest one. While rotations outpace
 * the listing it waits for a pause rather than guess: a guess from a torn listing read files twice
 * (a CI run: 900 lines for 600) or skipped them.
 */
async function successor(logPath: string, ino: number | null): Promise<{ fh: FileHandle; ino: number; size: number } | null> {
  for (let attempt = 0; attempt < 400; attempt++) {
    const candidates = await stableListing(logPath);
    if (!candidates) {
      await new Promise((r) => setTimeout(r, Math.min(2 ** attempt, 50)));
      continue;
    }
    const at = ino === null ? -2 : candidates.findIndex((c) => c.ino === ino);
    const next = at === -2 ? candidates[candidates.length - 1] : at >= 0 ? candidates[at + 1] : candidates[0];
    if (!next) return null;
    const o = await openIfExists(next.path);
    if (o && o.ino === next.ino) return o;
    await o?.fh.close();
    // Renamed again meanwhile: look again.
  }
  return openIfExists(logPath);
}

/** Wakes a follower on changes in the log's directory, on a poll timer, or on abort. */
class Waker {
  private watcher: FSWatcher | null = null;
  private wake: (() => void) | null = null;
  private changed = false;

  constructor(logPath: string, signal: AbortSignal | undefined) {
    const base = basename(logPath);
    try {
      this.watcher = watch(dirname(logPath), (_event, name) => {
        if (name === null || String(name).startsWith(base)) this.fire();
      });
      this.watcher.on('error', () => this.close());
    } catch {
      this.watcher = null; // the poll still works
    }
    signal?.addEventListener('abort', () => this.fire(), { once: true });
  }

  private fire(): void {
    this.changed = true;
    this.wake?.();
  }

  async wait(ms: number): Promise<void> {
    if (this.changed) {
      this.changed = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
    this.wake = null;
    this.changed = false;
  }

  close(): void {
    this.watcher?.close();
    this.watcher = null;
  }
}

export async function* readLogFile(logPath: string, options: RuntimeLogOptions, defaultIsRunning: () => boolean | Promise<boolean>): AsyncGenerator<TimedLogChunk> {
  const { signal } = options;
  if (signal?.aborted) return;
  const since = options.since !== undefined && options.since > 0 ? BigInt(Math.round(options.since * 1e9)) : null;
  const until = options.until !== undefined && options.until > 0 ? BigInt(Math.round(options.until * 1e9)) : null;
  const isRunning = options.isRunning ?? defaultIsRunning;
  const pollInterval = options.pollInterval ?? 250;
  const assembler = new LineAssembler();

  const emit = (line: { stream: Stream; time: string; data: Buffer }): TimedLogChunk | null => {
    const nanos = timeNanos(line.time);
    if (since !== null && nanos !== null && nanos < since) return null;
    if (until !== null && nanos !== null && nanos > until) return null;
    const time = nanos === null ? line.time : formatNanos(nanos);
    const data = options.timestamps ? Buffer.concat([Buffer.from(`${time} `), line.data]) : line.data;
    return { stream: line.stream, data, time };
  };

  const waker = options.follow ? new Waker(logPath, signal) : null;
  const paths = await logFiles(logPath);
  const opened = await Promise.all(paths.map((p) => openIfExists(p)));
  try {
    const files = opened.map((o) => ({ fh: o?.fh ?? null, size: o?.size ?? 0 }));
    const start = options.tail === undefined ? { file: 0, offset: 0 } : await tailStart(files, options.tail);
    // History: the backups (read to their end), then the current file from where the tail starts.
    for (let i = start.file; i < opened.length - 1; i++) {
      const o = opened[i];
      if (!o) continue;
      const reader = new ForwardReader(o.fh, o.ino, i === start.file ? start.offset : 0);
      for await (const record of reader.records()) {
        if (signal?.aborted) return;
        const line = assembler.push(record);
        const chunk = line && emit(line);
        if (chunk) yield chunk;
      }
    }
    const last = opened[opened.length - 1] ?? null;
    let current = last ? new ForwardReader(last.fh, last.ino, start.file === opened.length - 1 ? start.offset : 0) : null;
    let stopping = false;
    for (;;) {
      if (current) {
        for await (const record of current.records()) {
          if (signal?.aborted) return;
          const line = assembler.push(record);
          const chunk = line && emit(line);
          if (chunk) yield chunk;
        }
      }
      if (!options.follow || signal?.aborted) break;
      // Rotated (another file at the path) or truncated?
      let st: { ino: number; size: number } | null = null;
      try {
        st = await stat(logPath);
      } catch {
        st = null;
      }
      if (st && (!current || st.ino !== current.ino)) {
        if (current) {
          // Rotated: conmon created the new file when it reopened, so the old one is complete.
          for await (const record of current.records()) {
            const line = assembler.push(record);
            const chunk = line && emit(line);
            if (chunk) yield chunk;
          }
          await current.fh.close();
          opened[opened.length - 1] = null;
        }
        const next = await successor(logPath, current?.ino ?? null);
        opened[opened.length - 1] = next;
        current = next ? new ForwardReader(next.fh, next.ino, 0) : null;
        continue;
      }
      if (st && current && st.size < current.offset) {
        current.offset = 0;
        continue;
      }
      if (stopping) break;
      if (!(await isRunning())) {
        // Read what is left once more before ending, after a moment for the last writes.
        stopping = true;
        await waker?.wait(Math.min(pollInterval, 50));
        continue;
      }
      await waker?.wait(pollInterval);
    }
    if (!signal?.aborted) {
      for (const line of assembler.flush()) {
        const chunk = emit(line);
        if (chunk) yield chunk;
      }
    }
  } finally {
    waker?.close();
    for (const o of opened) await o?.fh.close().catch(() => undefined);
  }
}
