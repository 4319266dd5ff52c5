/**
 * A small tar writer for tests: ustar, GNU and v7 headers, GNU long names, PAX records, base-256
 * numbers, and the knobs to make broken or hostile archives (any type flag, any name, a bad
 * checksum, a lying size, no end-of-archive blocks).
 */
import { gzipSync } from 'node:zlib';

export interface Item {
  name: string;
  /** Type flag; '0' by default ('5' when the name ends with '/'). */
  type?: string;
  data?: Buffer | string;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  devmajor?: number;
  devminor?: number;
  /** Header dialect; 'ustar' by default. */
  format?: 'ustar' | 'gnu' | 'v7';
  /** ustar name prefix (the name field then holds only the rest). */
  prefix?: string;
  /** Header size field, when it must differ from the data's length. */
  size?: number;
  /** Numeric fields written in GNU base-256. */
  base256?: ('size' | 'uid' | 'gid' | 'mtime')[];
  /** PAX records written in an 'x' header before the entry. */
  pax?: Record<string, string>;
  /** Emit GNU 'L' / 'K' entries for the name / link name. */
  gnuLongName?: boolean;
  gnuLongLink?: boolean;
  /** Bytes written in GNU's atime field (where ustar has its prefix). */
  gnuAtime?: number;
  badChecksum?: boolean;
}

function octal(buf: Buffer, offset: number, width: number, value: number): void {
  const text = value.toString(8).padStart(width - 1, '0');
  if (text.length > width - 1) throw new Error(`${value} does not fit ${width} bytes in octal`);
  buf.write(`${text}\0`, offset, width, 'latin1');
}

function base256(buf: Buffer, offset: number, width: number, value: number): void {
  let v = BigInt(value);
  if (v < 0n) v = (1n << BigInt(width * 8)) + v; // two's complement
  for (let i = width - 1; i >= 0; i--) {
    buf[offset + i] = Number(v & 0xffn);
    v >>= 8n;
  }
  buf[offset] = (buf[offset] ?? 0) | 0x80;
}

function pad(data: Buffer): Buffer {
  const rest = (512 - (data.length % 512)) % 512;
  return rest === 0 ? data : Buffer.concat([data, Buffer.alloc(rest)]);
}

export function paxRecords(records: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  for (const [key, value] of Object.entries(records)) {
    const body = ` ${key}=${value}\n`;
    // The length counts its own digits: settle on the fixed point.
    let len = Buffer.byteLength(body) + 1;
    while (Buffer.byteLength(body) + String(len).length !== len) len = Buffer.byteLength(body) + String(len).length;
    parts.push(Buffer.from(`${len}${body}`));
  }
  return Buffer.concat(parts);
}

function header(item: Item, name: string, type: string, size: number): Buffer {
  const b = Buffer.alloc(512);
  const format = item.format ?? 'ustar';
  Buffer.from(name).copy(b, 0, 0, 100);
  octal(b, 100, 8, item.mode ?? (type === '5' ? 0o755 : 0o644));
  const numbers: [string, number, number, number][] = [
    ['uid', 108, 8, item.uid ?? 0],
    ['gid', 116, 8, item.gid ?? 0],
    ['size', 124, 12, item.size ?? size],
    ['mtime', 136, 12, item.mtime ?? 1_700_000_000],
  ];
  for (const [key, off, width, value] of numbers) {
    if (item.base256?.includes(key as 'size')) base256(b, off, width, value);
    else octal(b, off, width, value);
  }
  b.write(type, 156, 1, 'latin1');
  Buffer.from(item.linkname ?? '').copy(b, 157, 0, 100);
  if (format === 'ustar') {
    b.write('ustar\u000000', 257, 8, 'latin1');
    if (item.prefix) Buffer.from(item.prefix).copy(b, 345, 0, 155);
  } else if (format === 'gnu') {
    b.write('ustar  \u0000', 257, 8, 'latin1');
    if (item.gnuAtime !== undefined) octal(b, 345, 12, item.gnuAtime);
  }
  if (format !== 'v7') {
    b.write('root', 265, 32, 'latin1');
    b.write('root', 297, 32, 'latin1');
    octal(b, 329, 8, item.devmajor ?? 0);
    octal(b, 337, 8, item.devminor ?? 0);
  }
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of b) sum += byte;
  if (item.badChecksum) sum += 1;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return b;
}

function entry(item: Item): Buffer[] {
  const out: Buffer[] = [];
  const data = typeof item.data === 'string' ? Buffer.from(item.data) : (item.data ?? Buffer.alloc(0));
  const type = item.type ?? (item.name.endsWith('/') ? '5' : '0');
  if (item.pax) {
    const records = paxRecords(item.pax);
    out.push(header({ name: 'PaxHeaders/x', format: item.format ?? 'ustar' }, 'PaxHeaders/x', 'x', records.length), pad(records));
  }
  if (item.gnuLongName) {
    const long = Buffer.from(`${item.name}\0`);
    out.push(header({ name: '././@LongLink', format: 'gnu' }, '././@LongLink', 'L', long.length), pad(long));
  }
  if (item.gnuLongLink) {
    const long = Buffer.from(`${item.linkname ?? ''}\0`);
    out.push(header({ name: '././@LongLink', format: 'gnu' }, '././@LongLink', 'K', long.length), pad(long));
  }
  out.push(header(item, item.name, type, data.length));
  if (data.length > 0) out.push(pad(data));
  return out;
}

/** A tar archive of `items`; `end: false` leaves out the two end-of-archive blocks. */
export function tar(items: Item[], options: { end?: boolean } = {}): Buffer {
  const parts = items.flatMap(entry);
  if (options.end !== false) parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

export const gzip = (b: Buffer): Buffer => gzipSync(b);

// Shorthands for the common entries.
export const dir = (name: string, more: Partial<Item> = {}): Item => ({ name: name.endsWith('/') ? name : `${name}/`, type: '5', ...more });
export const file = (name: string, data: string | Buffer, more: Partial<Item> = {}): Item => ({ name, data, ...more });
export const symlink = (name: string, target: string, more: Partial<Item> = {}): Item => ({ name, type: '2', linkname: target, mode: 0o777, ...more });
export const hardlink = (name: string, target: string, more: Partial<Item> = {}): Item => ({ name, type: '1', linkname: target, ...more });
export const whiteout = (dirName: string, victim: string): Item => ({ name: `${dirName ? `${dirName}/` : ''}.wh.${victim}`, data: '' });
export const opaque = (dirName: string): Item => ({ name: `${dirName ? `${dirName}/` : ''}.wh..wh..opq`, data: '' });
