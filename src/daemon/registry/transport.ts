/**
 * HTTP to a registry, as Docker reaches one: HTTPS, trusting the system's CAs plus
 * <certs.d>/<host:port>/*.crt (Docker's /etc/docker/certs.d); plain HTTP only for registries
 * that may be insecure (127.0.0.0/8, localhost, ::1, and the daemon's insecure-registries), and
 * for those only after HTTPS fails to connect, as Docker falls back.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { EngineError } from '../../contract/errors.js';

export const DEFAULT_CERTS_DIR = '/etc/docker/certs.d';

const CERT_ERRORS = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ALTNAME/;

export interface RegistryTransportOptions {
  /** host[:port] entries (or CIDR ranges) where plain HTTP is allowed. */
  insecureRegistries?: string[];
  /** Where per-registry CA certificates are (Docker's certs.d layout). */
  certsDir?: string;
  /** Per-request time without progress before the request is abandoned, ms. */
  timeoutMs?: number;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: IncomingMessage;
  /** The URL answered (after a redirect). */
  url: string;
}

export interface HttpRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer | NodeJS.ReadableStream;
  /** Content-Length of a streamed body. */
  length?: number;
}

function ipv4InCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/');
  const n = (s: string): number | null => {
    const p = s.split('.').map(Number);
    return p.length === 4 && p.every((x) => Number.isInteger(x) && x >= 0 && x < 256) ? (((p[0] ?? 0) << 24) | ((p[1] ?? 0) << 16) | ((p[2] ?? 0) << 8) | (p[3] ?? 0)) >>> 0 : null;
  };
  const a = n(ip);
  const b = n(base ?? '');
  const len = Number(bits);
  if (a === null || b === null || !Number.isInteger(len) || len < 0 || len > 32) return false;
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  return (a & mask) === (b & mask);
}

function hostOnly(host: string): string {
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']'));
  const colon = host.lastIndexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}

/** Whether plain HTTP may be used for `host` (host[:port]). */
export function mayBeInsecure(host: string, insecure: string[] = []): boolean {
  const name = hostOnly(host);
  if (name === 'localhost' || name === '::1' || ipv4InCidr(name, '127.0.0.0/8')) return true;
  return insecure.some((entry) => entry === host || entry === name || (entry.includes('/') && ipv4InCidr(name, entry)));
}

export class RegistryTransport {
  private readonly cas = new Map<string, string[] | null>();
  private readonly schemes = new Map<string, 'https' | 'http'>();

  constructor(private readonly options: RegistryTransportOptions = {}) {}

  /** The CA certificates for `host` from certs.d, plus the system's; null when there are none of its own. */
  private ca(host: string): string[] | null {
    if (this.cas.has(host)) return this.cas.get(host) ?? null;
    const dir = join(this.options.certsDir ?? DEFAULT_CERTS_DIR, host);
    let own: string[] = [];
    try {
      own = readdirSync(dir)
        .filter((f) => f.endsWith('.crt'))
        .map((f) => readFileSync(join(dir, f), 'utf8'));
    } catch {
      own = [];
    }
    const value = own.length > 0 ? [...rootCertificates, ...own] : null;
    this.cas.set(host, value);
    return value;
  }

  /** The base URL for a registry host, HTTPS unless it fails and plain HTTP is allowed. */
  async base(host: string): Promise<string> {
    const known = this.schemes.get(host);
    if (known) return `${known}://${host}`;
    try {
      const r = await this.send(`https://${host}/v2/`, { method: 'GET' });
      r.body.resume();
      this.schemes.set(host, 'https');
    } catch (e) {
      // A certificate that cannot be trusted is reported, not worked around with plain HTTP.
      if (e instanceof TransportError && CERT_ERRORS.test(e.code)) {
        throw new TransportError(`${e.message}: trust its CA in ${join(this.options.certsDir ?? DEFAULT_CERTS_DIR, host, 'ca.crt')}`, e.code);
      }
      if (!(e instanceof TransportError) || !mayBeInsecure(host, this.options.insecureRegistries)) throw e;
      this.schemes.set(host, 'http');
    }
    return `${this.schemes.get(host)}://${host}`;
  }

  /** One request; follows redirects (blob downloads go to storage URLs), never retries. */
  async send(url: string, req: HttpRequest = {}, redirects = 0): Promise<HttpResponse> {
    const u = new URL(url);
    const isHttps = u.protocol === 'https:';
    const ca = isHttps ? this.ca(u.host) : null;
    const headers: Record<string, string> = { 'User-Agent': 'flotilla', ...(req.headers ?? {}) };
    if (Buffer.isBuffer(req.body)) headers['Content-Length'] = String(req.body.length);
    else if (req.length !== undefined) headers['Content-Length'] = String(req.length);
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const r = (isHttps ? httpsRequest : httpRequest)(u, { method: req.method ?? 'GET', headers, ...(ca ? { ca } : {}) }, resolve);
      r.setTimeout(this.options.timeoutMs ?? 60_000, () => r.destroy(new TransportError(`${u.host}: no answer within ${(this.options.timeoutMs ?? 60_000) / 1000} s`, 'ETIMEDOUT')));
      r.on('error', (e: NodeJS.ErrnoException) => reject(e instanceof TransportError ? e : new TransportError(`${u.host}: ${e.message}`, e.code ?? 'EIO')));
      if (req.body === undefined) r.end();
      else if (Buffer.isBuffer(req.body)) r.end(req.body);
      else {
        req.body.on('error', (e: Error) => r.destroy(e));
        req.body.pipe(r);
      }
    });
    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if ([301, 302, 303, 307, 308].includes(status) && location && redirects < 5) {
      response.resume();
      const next = new URL(location, url).toString();
      const keep = status === 307 || status === 308;
      // Credentials go to the registry only, never to the storage a redirect names.
      const { Authorization: _a, ...rest } = req.headers ?? {};
      const sameHost = new URL(next).host === u.host;
      return this.send(next, { ...req, method: keep ? req.method : 'GET', headers: sameHost ? (req.headers ?? {}) : rest, ...(keep ? {} : { body: undefined }) }, redirects + 1);
    }
    return { status, headers: response.headers, body: response, url };
  }
}

/** The connection failed (refused, reset, TLS, timeout): worth a retry, or the HTTP fallback. */
export class TransportError extends EngineError {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super('unreachable', message);
  }
}

/** The body of a response as a buffer, refusing more than `max` bytes. */
export async function readBody(r: HttpResponse, max: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of r.body) {
    n += (chunk as Buffer).length;
    if (n > max) {
      r.body.destroy();
      throw new EngineError('invalid', `${r.url}: the answer is larger than ${max} bytes`);
    }
    parts.push(chunk as Buffer);
  }
  return Buffer.concat(parts);
}
