/**
 * The k8s-file log format conmon writes, one record per line:
 *   2026-11-22T12:18:34.136314066+00:00 stdout F a whole line
 *   2026-11-22T12:18:34.136314066+00:00 stderr P the start of a line written without its newline
 * A line the container wrote in several pieces is several P records and a final F record. Pure
 * functions to read it, and to write it the same way (for runs that have no conmon).
 */
import { performance } from 'node:perf_hooks';

export type Stream = 'stdout' | 'stderr';

export interface LogRecord {
  /** As written (any UTC offset). */
  time: string;
  stream: Stream;
  /** P: more of this line follows; F: the line ends here. */
  partial: boolean;
  content: Buffer;
}

const SPACE = 0x20;

/** One record (without its final newline); null when the line is not a record. */
export function parseRecord(line: Buffer): LogRecord | null {
  const a = line.indexOf(SPACE);
  if (a < 0) return null;
  const b = line.indexOf(SPACE, a + 1);
  if (b < 0) return null;
  const stream = line.toString('latin1', a + 1, b);
  if (stream !== 'stdout' && stream !== 'stderr') return null;
  const tag = line.toString('latin1', b + 1, b + 2);
  if (tag !== 'P' && tag !== 'F') return null;
  const content = line.length > b + 2 ? line.subarray(b + 3) : Buffer.alloc(0);
  return { time: line.toString('latin1', 0, a), stream, partial: tag === 'P', content };
}

const TIME = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/;

/** Nanoseconds since the epoch of an RFC 3339 time (null when it is not one). */
export function timeNanos(time: string): bigint | null {
  const m = TIME.exec(time);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac = '', zone = 'Z'] = m;
  let ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    ms -= sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
  }
  return BigInt(ms) * 1_000_000n + BigInt(frac.padEnd(9, '0'));
}

/** Docker's timestamp format (RFC 3339 in UTC, nanoseconds with trailing zeros trimmed). */
export function formatNanos(nanos: bigint): string {
  const ms = Number(nanos / 1_000_000_000n) * 1000;
  const base = new Date(ms).toISOString().slice(0, 19);
  const frac = (nanos % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return `${base}${frac ? `.${frac}` : ''}Z`;
}

/** The current time as conmon writes it (nanosecond field, explicit +00:00). */
export function nowStamp(): string {
  const nanos = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
  const base = new Date(Number(nanos / 1_000_000n)).toISOString().slice(0, 19);
  return `${base}.${(nanos % 1_000_000_000n).toString().padStart(9, '0')}+00:00`;
}

/**
 * The records for a chunk of output, as conmon makes them: one per line, the last one partial
 * when the chunk does not end with a newline.
 */
export function formatRecords(stream: Stream, chunk: Buffer, time = nowStamp()): Buffer {
  const parts: Buffer[] = [];
  let start = 0;
  while (start < chunk.length) {
    const nl = chunk.indexOf(0x0a, start);
    const end = nl < 0 ? chunk.length : nl;
    parts.push(Buffer.from(`${time} ${stream} ${nl < 0 ? 'P' : 'F'} `, 'latin1'), chunk.subarray(start, end), Buffer.from('\n'));
    start = end + 1;
  }
  return Buffer.concat(parts);
}

/**
 * Joins records into lines: P records accumulate per stream until their F record. `flush` returns
 * what is still pending (a line whose end was never written).
 */
export class LineAssembler {
  private pending = new Map<Stream, { time: string; parts: Buffer[] }>();

  /** The completed line, when this record ends one (with its newline). */
  push(record: LogRecord): { stream: Stream; time: string; data: Buffer } | null {
    const open = this.pending.get(record.stream);
    if (record.partial) {
      if (open) open.parts.push(record.content);
      else this.pending.set(record.stream, { time: record.time, parts: [record.content] });
      return null;
    }
    this.pending.delete(record.stream);
    const parts = open ? [...open.parts, record.content] : [record.content];
    return { stream: record.stream, time: open?.time ?? record.time, data: Buffer.concat([...parts, Buffer.from('\n')]) };
  }

  flush(): { stream: Stream; time: string; data: Buffer }[] {
    const out = [...this.pending.entries()].map(([stream, p]) => ({ stream, time: p.time, data: Buffer.concat(p.parts) }));
    this.pending.clear();
    return out;
  }
}
