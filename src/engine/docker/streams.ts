/**
 * Reading the engine's streams: the multiplexed stdout/stderr framing (8-byte headers) of logs,
 * attach and exec without a TTY, raw TTY output, and newline-delimited JSON (progress, events).
 */
import type { LogChunk } from '../../contract/engine.js';

type ByteSource = AsyncIterable<Buffer | string>;

function asBuffer(chunk: Buffer | string): Buffer {
  return typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
}

/**
 * Copies `src[from, to)` into `out` at `at`; returns the bytes copied. Docker's frames and chunks
 * are a log line each: for so few bytes a plain loop beats Buffer#copy's native call.
 */
export function copyBytes(src: Buffer, from: number, to: number, out: Buffer, at: number): number {
  if (to - from >= 64) return src.copy(out, at, from, to);
  for (let i = from; i < to; i++) out[at++] = src[i] as number;
  return to - from;
}

/**
 * Splits Docker's multiplexed stream: each frame is [type, 0, 0, 0, size (uint32 BE)] then
 * `size` bytes; type 1 is stdout, 2 stderr (0, stdin echoed back, counts as stdout).
 */
export async function* demultiplex(source: ByteSource): AsyncGenerator<LogChunk> {
  let pending: Buffer = Buffer.alloc(0);
  for await (const chunk of source) {
    pending = pending.length === 0 ? asBuffer(chunk) : Buffer.concat([pending, asBuffer(chunk)]);
    // Docker sends one frame per line: the payloads of consecutive frames of one stream from one
    // read are copied into one buffer and yielded as one chunk, so a reader writes once per read.
    const out = Buffer.allocUnsafe(pending.length);
    let start = 0;
    let end = 0;
    let stream: LogChunk['stream'] | undefined;
    let offset = 0;
    while (pending.length - offset >= 8) {
      const size = pending.readUInt32BE(offset + 4);
      if (pending.length - offset - 8 < size) break;
      const frameStream: LogChunk['stream'] = pending[offset] === 2 ? 'stderr' : 'stdout';
      const from = offset + 8;
      offset = from + size;
      if (size === 0) continue;
      if (stream !== undefined && stream !== frameStream && end > start) {
        yield { stream, data: out.subarray(start, end) };
        start = end;
      }
      stream = frameStream;
      end += copyBytes(pending, from, from + size, out, end);
    }
    if (stream !== undefined && end > start) yield { stream, data: out.subarray(start, end) };
    pending = offset === 0 ? pending : pending.subarray(offset);
  }
}

/** A TTY's output: one stream, all of it stdout. */
export async function* raw(source: ByteSource): AsyncGenerator<LogChunk> {
  for await (const chunk of source) {
    const data = asBuffer(chunk);
    if (data.length > 0) yield { stream: 'stdout', data };
  }
}

/** Lines of a newline-delimited stream (a last line without a newline included). */
export async function* lines(source: ByteSource): AsyncGenerator<string> {
  let pending = '';
  const decoder = new TextDecoder();
  for await (const chunk of source) {
    pending += decoder.decode(asBuffer(chunk), { stream: true });
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl).replace(/\r$/, '');
      pending = pending.slice(nl + 1);
      if (line.trim() !== '') yield line;
    }
  }
  pending += decoder.decode();
  if (pending.trim() !== '') yield pending.replace(/\r$/, '');
}

/**
 * Reads `source` until it ends, or quietly stops when `signal` aborts (the abort destroys the
 * stream, which then fails with a premature close that is not an error here).
 */
export async function* untilAborted<T>(source: AsyncIterable<T>, signal: AbortSignal | undefined, destroy: () => void): AsyncGenerator<T> {
  const onAbort = () => destroy();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (signal?.aborted) return;
    for await (const item of source) {
      yield item;
      if (signal?.aborted) return;
    }
  } catch (e) {
    if (!signal?.aborted) throw e;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    destroy();
  }
}
