/**
 * A GET whose answer is a long stream, read straight off its own connection: the logs endpoint.
 *
 * dockerd writes a log as one HTTP chunk per line. Node's HTTP client hands each chunk to
 * JavaScript as its own Buffer and stream event, which for 100,000 lines costs more CPU than
 * dockerd spends serving them (on 2 cores the two compete). Here the chunked encoding is undone
 * in one loop per socket read, and the body comes out as one Buffer per read.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { DockerEndpoint } from './endpoint.js';
import { EngineError } from '../../contract/errors.js';
import { errorFromConnection, errorFromStatus, messageOfBody } from './errors.js';
import { copyBytes } from './streams.js';

export interface StreamedResponse {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  /** The body, decoded from the chunked encoding, a Buffer per network read. */
  body: AsyncIterable<Buffer>;
  /** Closes the connection (the body then ends). */
  destroy(): void;
}

const MAX_HEADER_BYTES = 64 * 1024;

/** The engine answered, but not in HTTP/1.1 as it should: not a connection problem. */
export class MalformedResponse extends Error {}

function failure(e: unknown, address: string): Error {
  if (e instanceof MalformedResponse) return new EngineError('engine', `the Docker engine at ${address} answered outside HTTP/1.1: ${e.message}`);
  return errorFromConnection(e as Error, address);
}

function open(endpoint: DockerEndpoint): Socket {
  if (endpoint.transport === 'unix') return netConnect({ path: endpoint.socketPath as string });
  // The endpoint keeps an IPv6 address in brackets, for URLs; a socket wants it bare.
  const host = (endpoint.host as string).replace(/^\[(.*)\]$/, '$1');
  const port = endpoint.port as number;
  if (endpoint.transport === 'https') return tlsConnect({ host, port, servername: host, ...endpoint.tls });
  return netConnect({ host, port });
}

/** Undoes HTTP/1.1's chunked transfer coding, across reads that split it anywhere. */
export class ChunkedDecoder {
  private pending: Buffer = Buffer.alloc(0);
  /** Bytes left of the current chunk's data, then of its closing CRLF. */
  private dataLeft = 0;
  private crlfLeft = 0;
  done = false;

  /** The data in `input`, in one Buffer (empty when it held only framing). */
  push(input: Buffer): Buffer {
    let buf = this.pending.length > 0 ? Buffer.concat([this.pending, input]) : input;
    this.pending = Buffer.alloc(0);
    // The data is never longer than its encoding: copied into one buffer of that size.
    const out = Buffer.allocUnsafe(buf.length);
    let written = 0;
    let i = 0;
    while (i < buf.length && !this.done) {
      if (this.dataLeft > 0) {
        const n = Math.min(this.dataLeft, buf.length - i);
        written += copyBytes(buf, i, i + n, out, written);
        this.dataLeft -= n;
        i += n;
        continue;
      }
      if (this.crlfLeft > 0) {
        const n = Math.min(this.crlfLeft, buf.length - i);
        this.crlfLeft -= n;
        i += n;
        continue;
      }
      // A size line: hex digits, perhaps ";extensions", then CRLF (read as bytes: no strings).
      // Scanned here, not with indexOf: the line is a few bytes, a native call costs more.
      let eol = i;
      while (eol < buf.length && buf[eol] !== 10) eol++;
      if (eol === buf.length) {
        if (buf.length - i > 1024) throw new MalformedResponse('malformed chunked encoding (chunk size line too long)');
        this.pending = Buffer.from(buf.subarray(i));
        buf = Buffer.alloc(0);
        break;
      }
      let size = 0;
      let digits = 0;
      for (let j = i; j < eol; j++) {
        const c = buf[j] as number;
        const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
        if (d < 0) break;
        size = size * 16 + d;
        digits++;
      }
      if (digits === 0 || digits > 12) {
        throw new MalformedResponse(`malformed chunked encoding (chunk size "${buf.toString('latin1', i, Math.min(eol, i + 40)).replace(/\r$/, '')}")`);
      }
      i = eol + 1;
      // The last chunk: trailers, if any, are not read (the connection closes).
      if (size === 0) this.done = true;
      this.dataLeft = size;
      this.crlfLeft = 2;
    }
    return out.subarray(0, written);
  }
}

/** Splits the head of a response off the first bytes read; undefined until it is all there. */
function parseHead(buf: Buffer): { status: number; headers: Record<string, string>; rest: Buffer } | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) {
    if (buf.length > MAX_HEADER_BYTES) throw new MalformedResponse('an HTTP header over 64 KiB');
    return undefined;
  }
  const [statusLine, ...fields] = buf.toString('latin1', 0, end).split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '');
  if (!m) throw new MalformedResponse(`not HTTP/1.1: "${(statusLine ?? '').slice(0, 60)}"`);
  const headers: Record<string, string> = {};
  for (const field of fields) {
    const colon = field.indexOf(':');
    if (colon > 0) headers[field.slice(0, colon).trim().toLowerCase()] = field.slice(colon + 1).trim();
  }
  return { status: Number(m[1]), headers, rest: buf.subarray(end + 4) };
}

/**
 * GETs `path` (with its `/vX.Y` prefix and query) from the engine on a connection of its own.
 * An error status is thrown as the engine's error; the body of a success is the caller's.
 */
export async function streamGet(endpoint: DockerEndpoint, path: string, signal?: AbortSignal): Promise<StreamedResponse> {
  if (signal?.aborted) throw signal.reason;
  const socket = open(endpoint);
  const onAbort = () => socket.destroy();
  signal?.addEventListener('abort', onAbort, { once: true });
  socket.write(`GET ${path} HTTP/1.1\r\nHost: docker\r\nUser-Agent: flotilla\r\nConnection: close\r\n\r\n`);
  const reads = socket[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let head: ReturnType<typeof parseHead>;
  let received = Buffer.alloc(0);
  try {
    while (!head) {
      const next = await reads.next();
      if (next.done) throw Object.assign(new Error('the Docker engine closed the connection before answering'), { code: 'ECONNRESET' });
      received = Buffer.concat([received, next.value]);
      head = parseHead(received);
    }
  } catch (e) {
    socket.destroy();
    signal?.removeEventListener('abort', onAbort);
    if (signal?.aborted) throw signal.reason;
    throw failure(e, endpoint.address);
  }
  const { status, headers, rest } = head;
  const chunked = /chunked/i.test(headers['transfer-encoding'] ?? '');
  async function* body(): AsyncGenerator<Buffer> {
    const decoder = chunked ? new ChunkedDecoder() : undefined;
    const decode = (b: Buffer) => (decoder ? decoder.push(b) : b);
    try {
      const first = decode(rest);
      if (first.length > 0) yield first;
      while (!decoder?.done) {
        const next = await reads.next();
        if (next.done) break;
        const data = decode(next.value);
        if (data.length > 0) yield data;
      }
    } catch (e) {
      if (signal?.aborted) return;
      throw failure(e, endpoint.address);
    } finally {
      socket.destroy();
      signal?.removeEventListener('abort', onAbort);
    }
  }
  if (status >= 400) {
    const parts: Buffer[] = [];
    for await (const part of body()) parts.push(part);
    throw errorFromStatus(status, messageOfBody(Buffer.concat(parts)));
  }
  return { status, headers, body: body(), destroy: () => socket.destroy() };
}
