/**
 * The few parts of the DNS wire format (RFC 1035) the embedded server needs: read a query's
 * header and question, write an answer of A records, an empty answer, or an error. Forwarded
 * queries and answers travel as raw bytes and are only checked (id, question).
 */

export const TYPE_A = 1;
export const TYPE_AAAA = 28;
export const CLASS_IN = 1;
export const TYPE_OPT = 41;

export const RCODE_NOERROR = 0;
export const RCODE_FORMERR = 1;
export const RCODE_SERVFAIL = 2;
export const RCODE_NXDOMAIN = 3;
export const RCODE_NOTIMP = 4;
export const RCODE_REFUSED = 5;

const FLAG_QR = 0x8000;
const FLAG_AA = 0x0400;
const FLAG_TC = 0x0200;
const FLAG_RD = 0x0100;
const FLAG_RA = 0x0080;

export interface Question {
  /** As sent, without the trailing dot. */
  name: string;
  type: number;
  class: number;
}

export interface Query {
  id: number;
  flags: number;
  opcode: number;
  question: Question | null;
  /** How many bytes of the message the question section ends at. */
  questionEnd: number;
  /** The UDP payload size the client accepts (EDNS), or 512. */
  udpSize: number;
}

export class DnsFormatError extends Error {}

/** Reads a (possibly compressed) name at `offset`; returns it and the offset after it. */
export function readName(msg: Buffer, offset: number): { name: string; end: number } {
  const labels: string[] = [];
  let pos = offset;
  let end = -1;
  for (let jumps = 0; ; ) {
    if (pos >= msg.length) throw new DnsFormatError('name runs past the message');
    const len = msg[pos]!;
    if (len === 0) {
      if (end < 0) end = pos + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= msg.length) throw new DnsFormatError('truncated pointer');
      if (end < 0) end = pos + 2;
      if (++jumps > 32) throw new DnsFormatError('pointer loop');
      pos = ((len & 0x3f) << 8) | msg[pos + 1]!;
      continue;
    }
    if ((len & 0xc0) !== 0) throw new DnsFormatError('bad label type');
    if (pos + 1 + len > msg.length) throw new DnsFormatError('label runs past the message');
    labels.push(msg.toString('latin1', pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
  return { name: labels.join('.'), end };
}

export function encodeName(name: string): Buffer {
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  const parts: Buffer[] = [];
  for (const label of trimmed ? trimmed.split('.') : []) {
    const bytes = Buffer.from(label, 'latin1');
    if (bytes.length === 0 || bytes.length > 63) throw new DnsFormatError(`bad label in ${name}`);
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

function skipRecord(msg: Buffer, offset: number): { type: number; class: number; end: number } {
  const { end } = readName(msg, offset);
  if (end + 10 > msg.length) throw new DnsFormatError('record runs past the message');
  const rdlength = msg.readUInt16BE(end + 8);
  if (end + 10 + rdlength > msg.length) throw new DnsFormatError('record data runs past the message');
  return { type: msg.readUInt16BE(end), class: msg.readUInt16BE(end + 2), end: end + 10 + rdlength };
}

export function parseQuery(msg: Buffer): Query {
  if (msg.length < 12) throw new DnsFormatError('message shorter than a header');
  const id = msg.readUInt16BE(0);
  const flags = msg.readUInt16BE(2);
  const qdcount = msg.readUInt16BE(4);
  const ancount = msg.readUInt16BE(6);
  const nscount = msg.readUInt16BE(8);
  const arcount = msg.readUInt16BE(10);
  const query: Query = { id, flags, opcode: (flags >> 11) & 0xf, question: null, questionEnd: 12, udpSize: 512 };
  if (qdcount !== 1) return query;
  const { name, end } = readName(msg, 12);
  if (end + 4 > msg.length) throw new DnsFormatError('question runs past the message');
  query.question = { name, type: msg.readUInt16BE(end), class: msg.readUInt16BE(end + 2) };
  query.questionEnd = end + 4;
  // EDNS: an OPT record among the additional ones gives the client's UDP size in its class.
  let pos = query.questionEnd;
  try {
    for (let i = 0; i < ancount + nscount; i++) pos = skipRecord(msg, pos).end;
    for (let i = 0; i < arcount; i++) {
      const r = skipRecord(msg, pos);
      if (r.type === TYPE_OPT) query.udpSize = Math.min(4096, Math.max(512, r.class));
      pos = r.end;
    }
  } catch {
    // A malformed additional section only costs the client its EDNS size.
  }
  return query;
}

function header(query: Query, rcode: number, counts: { an: number }, extraFlags = 0): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(query.id, 0);
  const flags = FLAG_QR | (query.opcode << 11) | (query.flags & FLAG_RD) | FLAG_RA | extraFlags | (rcode & 0xf);
  h.writeUInt16BE(flags, 2);
  h.writeUInt16BE(query.question ? 1 : 0, 4);
  h.writeUInt16BE(counts.an, 6);
  return h;
}

/**
 * The question section, copied byte for byte (the answer echoes the client's own case). Copying
 * is safe even with a compression pointer in it: the question sits at offset 12 in both messages.
 */
function questionBytes(msg: Buffer, query: Query): Buffer {
  return query.question ? msg.subarray(12, query.questionEnd) : Buffer.alloc(0);
}

/** An answer with no records (NOERROR: the name exists, not with this type; or an error code). */
export function emptyResponse(msg: Buffer, query: Query, rcode: number, authoritative = false): Buffer {
  return Buffer.concat([header(query, rcode, { an: 0 }, authoritative ? FLAG_AA : 0), questionBytes(msg, query)]);
}

/**
 * An authoritative answer of A records for the question's name. When it would not fit in
 * `limit` bytes (UDP), it carries as many records as fit and the TC flag, so the client retries
 * over TCP.
 */
export function addressResponse(msg: Buffer, query: Query, addresses: readonly string[], ttl: number, limit = 65535): Buffer {
  const question = questionBytes(msg, query);
  const records: Buffer[] = [];
  let length = 12 + question.length;
  let truncated = false;
  for (const address of addresses) {
    const r = Buffer.alloc(16);
    r.writeUInt16BE(0xc00c, 0); // pointer to the question's name, at offset 12
    r.writeUInt16BE(TYPE_A, 2);
    r.writeUInt16BE(CLASS_IN, 4);
    r.writeUInt32BE(ttl, 6);
    r.writeUInt16BE(4, 10);
    const octets = address.split('.').map(Number);
    for (let i = 0; i < 4; i++) r[12 + i] = octets[i]!;
    if (length + r.length > limit) {
      truncated = true;
      break;
    }
    records.push(r);
    length += r.length;
  }
  return Buffer.concat([header(query, RCODE_NOERROR, { an: records.length }, FLAG_AA | (truncated ? FLAG_TC : 0)), question, ...records]);
}

/** For a query we could not even parse: FORMERR with the id, if there is one. */
export function formatErrorResponse(msg: Buffer): Buffer | null {
  if (msg.length < 2) return null;
  const h = Buffer.alloc(12);
  h.writeUInt16BE(msg.readUInt16BE(0), 0);
  h.writeUInt16BE(FLAG_QR | FLAG_RA | RCODE_FORMERR, 2);
  return h;
}

/** True when `answer` is a response to `query`: same id, same question (names case-insensitive). */
export function answersQuery(answer: Buffer, query: Query): boolean {
  if (answer.length < 12 || answer.readUInt16BE(0) !== query.id || (answer.readUInt16BE(2) & FLAG_QR) === 0) return false;
  if (!query.question) return true;
  try {
    if (answer.readUInt16BE(4) !== 1) return false;
    const { name, end } = readName(answer, 12);
    return (
      name.toLowerCase() === query.question.name.toLowerCase() &&
      answer.readUInt16BE(end) === query.question.type &&
      answer.readUInt16BE(end + 2) === query.question.class
    );
  } catch {
    return false;
  }
}

// ---- for tests and tools: a query, and the A records of an answer ------------------------------

export function buildQuery(id: number, name: string, type: number, recursionDesired = true): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(recursionDesired ? FLAG_RD : 0, 2);
  h.writeUInt16BE(1, 4);
  const q = Buffer.alloc(4);
  q.writeUInt16BE(type, 0);
  q.writeUInt16BE(CLASS_IN, 2);
  return Buffer.concat([h, encodeName(name), q]);
}

export interface ParsedAnswer {
  id: number;
  rcode: number;
  truncated: boolean;
  authoritative: boolean;
  /** The addresses of the A records, in order. */
  addresses: string[];
  answerCount: number;
}

export function parseAnswer(msg: Buffer): ParsedAnswer {
  if (msg.length < 12) throw new DnsFormatError('message shorter than a header');
  const flags = msg.readUInt16BE(2);
  const qdcount = msg.readUInt16BE(4);
  const ancount = msg.readUInt16BE(6);
  let pos = 12;
  for (let i = 0; i < qdcount; i++) pos = readName(msg, pos).end + 4;
  const addresses: string[] = [];
  for (let i = 0; i < ancount; i++) {
    const r = skipRecord(msg, pos);
    if (r.type === TYPE_A && r.end - pos >= 4) addresses.push([...msg.subarray(r.end - 4, r.end)].join('.'));
    pos = r.end;
  }
  return { id: msg.readUInt16BE(0), rcode: flags & 0xf, truncated: (flags & FLAG_TC) !== 0, authoritative: (flags & FLAG_AA) !== 0, addresses, answerCount: ancount };
}
