/**
 * One 512-byte tar header, and PAX extended-header records. Three header dialects exist and
 * differ in what the bytes after the link name mean: POSIX ustar ("ustar\0" "00") has a 155-byte
 * name prefix at 345; GNU ("ustar " " \0") keeps atime, ctime and sparse maps there, so its
 * prefix must not be read; old v7 headers end at the link name.
 */

/** A malformed or unsupported archive; the message is the user's to read. */
export class TarFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TarFormatError';
  }
}

export const BLOCK = 512;

export interface RawHeader {
  /** Name as stored (ustar prefix joined); raw bytes, decoded later. */
  name: Buffer;
  linkName: Buffer;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  /** The type flag as a one-character string ('\0' for old regular files). */
  type: string;
  devMajor: number;
  devMinor: number;
}

const USTAR_MAGIC = Buffer.from('ustar\u000000', 'latin1');
const GNU_MAGIC = Buffer.from('ustar  \u0000', 'latin1');

export function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

/** Bytes up to the first NUL. */
function cString(field: Buffer): Buffer {
  const nul = field.indexOf(0);
  return nul === -1 ? field : field.subarray(0, nul);
}

/**
 * A numeric field: octal ASCII (space or NUL padded), or GNU base-256 when the high bit of the
 * first byte is set (0x80 positive, 0xff negative), which carries sizes over 8 GiB and ids over
 * 2^21.
 */
export function parseNumeric(field: Buffer, what: string): number {
  const first = field[0] ?? 0;
  if (first & 0x80) {
    // Two's complement big-endian; bit 6 of the first byte is the sign. A negative number is read
    // as the inverted bytes' value v, giving -v - 1. Multiplication, not shifts: they wrap at 32 bits.
    const invert = first & 0x40 ? 0xff : 0;
    let value = 0;
    for (let i = 0; i < field.length; i++) {
      let c = (field[i] ?? 0) ^ invert;
      if (i === 0) c &= 0x7f;
      value = value * 256 + c;
      if (!Number.isSafeInteger(value)) throw new TarFormatError(`${what} field is out of range`);
    }
    return invert ? -value - 1 : value;
  }
  let i = 0;
  while (i < field.length && (field[i] === 0x20 || field[i] === 0)) i++;
  let value = 0;
  let digits = 0;
  for (; i < field.length; i++) {
    const c = field[i] ?? 0;
    if (c === 0x20 || c === 0) break;
    if (c < 0x30 || c > 0x37) throw new TarFormatError(`${what} field is not an octal number`);
    value = value * 8 + (c - 0x30);
    digits++;
  }
  for (; i < field.length; i++) {
    const c = field[i];
    if (c !== 0x20 && c !== 0) throw new TarFormatError(`${what} field is not an octal number`);
  }
  if (digits === 0) return 0;
  return value;
}

function checksumMatches(block: Buffer): boolean {
  const stored = parseNumeric(block.subarray(148, 156), 'checksum');
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : (block[i] ?? 0);
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  // Some historic writers summed signed chars; both are accepted, as GNU tar does.
  return stored === unsigned || stored === signed;
}

export function parseHeader(block: Buffer): RawHeader {
  let ok: boolean;
  try {
    ok = checksumMatches(block);
  } catch {
    ok = false;
  }
  if (!ok) throw new TarFormatError('bad header checksum (not a tar archive, or a corrupt one)');
  const magic = block.subarray(257, 265);
  let name = cString(block.subarray(0, 100));
  if (magic.equals(USTAR_MAGIC)) {
    const prefix = cString(block.subarray(345, 500));
    if (prefix.length > 0) name = Buffer.concat([prefix, Buffer.from('/'), name]);
  }
  const hasDevices = magic.equals(USTAR_MAGIC) || magic.equals(GNU_MAGIC);
  return {
    name,
    linkName: cString(block.subarray(157, 257)),
    mode: parseNumeric(block.subarray(100, 108), 'mode') & 0o7777,
    uid: parseNumeric(block.subarray(108, 116), 'uid'),
    gid: parseNumeric(block.subarray(116, 124), 'gid'),
    size: parseNumeric(block.subarray(124, 136), 'size'),
    mtime: parseNumeric(block.subarray(136, 148), 'mtime'),
    type: String.fromCharCode(block[156] ?? 0),
    devMajor: hasDevices ? parseNumeric(block.subarray(329, 337), 'devmajor') : 0,
    devMinor: hasDevices ? parseNumeric(block.subarray(337, 345), 'devminor') : 0,
  };
}

/** PAX records ("<length> <key>=<value>\n") in order, repeats kept, values as bytes (xattr values are binary). */
export function parsePaxRecords(data: Buffer): [string, Buffer][] {
  const records: [string, Buffer][] = [];
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    const lengthText = space === -1 ? '' : data.toString('latin1', pos, space);
    if (!/^[1-9][0-9]{0,9}$/.test(lengthText)) throw new TarFormatError('malformed PAX extended header (bad record length)');
    const end = pos + Number(lengthText);
    if (end > data.length || data[end - 1] !== 0x0a) throw new TarFormatError('malformed PAX extended header (record overruns the header)');
    const record = data.subarray(space + 1, end - 1);
    const eq = record.indexOf(0x3d);
    if (eq <= 0) throw new TarFormatError('malformed PAX extended header (record without a key)');
    records.push([record.toString('utf8', 0, eq), record.subarray(eq + 1)]);
    pos = end;
  }
  return records;
}

/** The records as a map: a later record of a key replaces an earlier one. */
export function parsePax(data: Buffer): Map<string, Buffer> {
  return new Map(parsePaxRecords(data));
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Names are stored as bytes; this engine handles UTF-8 names only. */
export function decodeName(bytes: Buffer, what: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new TarFormatError(`${what} ${JSON.stringify(bytes.toString('latin1'))} is not valid UTF-8`);
  }
}

/** A type flag as it appears in messages: the character, or its code when unprintable. */
export function describeType(type: string): string {
  const code = type.charCodeAt(0);
  return code >= 0x21 && code <= 0x7e ? `'${type}'` : `0x${code.toString(16).padStart(2, '0')}`;
}
