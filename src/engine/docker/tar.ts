/**
 * A minimal tar writer (POSIX ustar, with PAX extended headers for what ustar cannot hold: long or
 * non-ASCII names and link targets, sizes of 8 GiB and more). Enough for build contexts: regular
 * files, directories and symbolic links.
 */

export interface TarEntry {
  /** Relative path with "/" separators, no leading "./"; directories without a trailing "/". */
  name: string;
  type: 'file' | 'directory' | 'symlink';
  /** Permission bits (and setuid/setgid/sticky). */
  mode: number;
  /** Seconds since the epoch. */
  mtime: number;
  size?: number;
  linkName?: string;
  uid?: number;
  gid?: number;
}

export const BLOCK = 512;
const USTAR_MAX_SIZE = 0o77777777777;

function octal(value: number, width: number): string {
  // width includes the terminating NUL
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

function fitsUstar(s: string, max: number): boolean {
  return Buffer.byteLength(s) <= max && /^[\x20-\x7e]*$/.test(s);
}

/** One PAX record: "<length> <key>=<value>\n", the length counting itself. */
export function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyLength = Buffer.byteLength(body);
  let length = bodyLength + String(bodyLength).length;
  if (String(length).length + bodyLength !== length) length = bodyLength + String(length).length;
  return `${length}${body}`;
}

function header(name: string, typeflag: string, entry: { mode: number; mtime: number; size: number; linkName?: string; uid?: number; gid?: number }): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(entry.mode & 0o7777, 8), 100, 'ascii');
  h.write(octal(entry.uid ?? 0, 8), 108, 'ascii');
  h.write(octal(entry.gid ?? 0, 8), 116, 'ascii');
  h.write(octal(Math.min(entry.size, USTAR_MAX_SIZE), 12), 124, 'ascii');
  h.write(octal(Math.max(0, Math.floor(entry.mtime)), 12), 136, 'ascii');
  h.write(typeflag, 156, 'ascii');
  if (entry.linkName) h.write(entry.linkName, 157, 100, 'utf8');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  h.fill(' ', 148, 156);
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(octal(sum, 7) + ' ', 148, 'ascii');
  return h;
}

export function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return rest === 0 ? Buffer.alloc(0) : Buffer.alloc(BLOCK - rest);
}

/** The header block(s) of an entry: a PAX header first when ustar cannot hold it. */
export function entryHeader(entry: TarEntry): Buffer {
  const name = entry.type === 'directory' ? `${entry.name}/` : entry.name;
  const size = entry.type === 'file' ? (entry.size ?? 0) : 0;
  const records: string[] = [];
  if (!fitsUstar(name, 100)) records.push(paxRecord('path', name));
  if (entry.linkName !== undefined && !fitsUstar(entry.linkName, 100)) records.push(paxRecord('linkpath', entry.linkName));
  if (size > USTAR_MAX_SIZE) records.push(paxRecord('size', String(size)));
  const typeflag = entry.type === 'file' ? '0' : entry.type === 'directory' ? '5' : '2';
  const main = header(truncate(name, 100), typeflag, { ...entry, size, linkName: entry.linkName === undefined ? undefined : truncate(entry.linkName, 100) });
  if (records.length === 0) return main;
  const pax = Buffer.from(records.join(''), 'utf8');
  const paxName = truncate(`PaxHeaders/${entry.name.split('/').pop() ?? ''}`, 100);
  return Buffer.concat([header(paxName, 'x', { mode: 0o644, mtime: entry.mtime, size: pax.length }), pax, padding(pax.length), main]);
}

/** The first bytes of `s` that fit in `max` bytes of UTF-8, not splitting a character. */
function truncate(s: string, max: number): string {
  if (Buffer.byteLength(s) <= max) return s;
  let out = '';
  for (const ch of s) {
    if (Buffer.byteLength(out + ch) > max) break;
    out += ch;
  }
  return out;
}

/** The end of an archive: two zero blocks. */
export function trailer(): Buffer {
  return Buffer.alloc(2 * BLOCK);
}
