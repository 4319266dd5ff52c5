/**
 * The HTTP side of the Docker backend: one docker-modem over one keep-alive agent, the API version
 * negotiated once (GET /version) and used as the path prefix of every later call, and every
 * failure turned into an EngineError. Higher layers see three shapes of call: JSON in and out,
 * a streamed response, and a hijacked (raw duplex) connection.
 */
import { inspect } from 'node:util';
import { Agent as HttpAgent, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Socket } from 'node:net';
import DockerModem from 'docker-modem';
import { EngineError } from '../../contract/errors.js';
import { errorFromConnection, errorFromStatus, messageOfBody } from './errors.js';
import { modemOptions, type DockerEndpoint } from './endpoint.js';
import { streamGet, type StreamedResponse } from './stream-get.js';

export const MIN_API_VERSION = '1.25';
/** The newest API this backend speaks; a newer engine is asked for this one. */
export const MAX_API_VERSION = '1.47';

export type QueryValue = string | number | boolean | string[] | undefined;
export type QueryParams = Record<string, QueryValue>;

export interface CallOptions {
  query?: QueryParams;
  /** Sent as JSON. */
  body?: object;
  /** Sent as is (a tar for /build). */
  file?: NodeJS.ReadableStream;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export interface ServerVersion {
  Version: string;
  ApiVersion: string;
  MinAPIVersion?: string;
  Os: string;
  Arch: string;
}

/** docker-modem rejects statuses not listed here; we want every response, to map errors ourselves. */
const EVERY_STATUS: DockerModem.StatusCodes = new Proxy({}, { get: () => true });

export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export function queryString(query: QueryParams | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) params.append(key, v);
    else if (typeof value === 'boolean') params.append(key, value ? '1' : '0');
    else params.append(key, String(value));
  }
  const s = params.toString();
  return s === '' ? '' : `?${s}`;
}

export async function readBody(res: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}

export class DockerClient {
  private readonly modem: DockerModem;
  private readonly agent: HttpAgent;
  private version: Promise<{ server: ServerVersion; api: string }> | undefined;

  constructor(readonly endpoint: DockerEndpoint) {
    this.agent = endpoint.transport === 'https' ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
    // docker-modem util.inspect()s every request's options, agent included, even with its debug
    // output off; walking a keep-alive agent and its sockets took 5-40 ms per request.
    Object.defineProperty(this.agent, inspect.custom, { value: () => '[keep-alive agent]' });
    // docker-modem also reads DOCKER_HOST (and DOCKER_CERT_PATH's files) in its constructor, which
    // would fail on a value we have already resolved differently (-H wins); hide it meanwhile.
    const saved = process.env['DOCKER_HOST'];
    delete process.env['DOCKER_HOST'];
    try {
      this.modem = new DockerModem({ ...modemOptions(endpoint), agent: this.agent });
    } finally {
      if (saved !== undefined) process.env['DOCKER_HOST'] = saved;
    }
  }

  /** GET /version, once per client. */
  serverVersion(): Promise<{ server: ServerVersion; api: string }> {
    this.version ??= this.negotiate().catch((e: unknown) => {
      this.version = undefined;
      throw e;
    });
    return this.version;
  }

  private async negotiate(): Promise<{ server: ServerVersion; api: string }> {
    const res = await this.dial('GET', '/version', {}, false);
    const body = await readBody(res);
    if ((res.statusCode ?? 500) >= 400) throw errorFromStatus(res.statusCode ?? 500, messageOfBody(body));
    const server = JSON.parse(body.toString('utf8')) as ServerVersion;
    if (compareVersions(server.ApiVersion, MIN_API_VERSION) < 0) {
      throw new EngineError('engine', `the Docker engine at ${this.endpoint.address} speaks API ${server.ApiVersion}; Flotilla needs ${MIN_API_VERSION} or later`);
    }
    const api = compareVersions(server.ApiVersion, MAX_API_VERSION) > 0 ? MAX_API_VERSION : server.ApiVersion;
    return { server, api };
  }

  async apiVersion(): Promise<string> {
    return (await this.serverVersion()).api;
  }

  /** A call answering JSON (null for an empty answer: 204, 304). */
  async json<T>(method: string, path: string, options: CallOptions = {}): Promise<T | null> {
    const res = await this.response(method, path, options);
    let body: Buffer;
    try {
      body = await readBody(res);
    } catch (e) {
      // The connection broke, or was aborted, after the headers (wait answers those at once).
      if (options.signal?.aborted) throw options.signal.reason;
      throw errorFromConnection(e as Error, this.endpoint.address);
    }
    if (body.length === 0) return null;
    return JSON.parse(body.toString('utf8')) as T;
  }

  /** A call whose answer is streamed; the status is checked, the body is the caller's. */
  async response(method: string, path: string, options: CallOptions = {}): Promise<IncomingMessage> {
    const api = await this.apiVersion();
    const res = await this.dial(method, `/v${api}${path}${queryString(options.query)}`, options, false);
    const status = res.statusCode ?? 500;
    if (status >= 400) throw errorFromStatus(status, messageOfBody(await readBody(res)));
    return res;
  }

  /** A GET whose body is a long stream (logs), read off a connection of its own (./stream-get.ts). */
  async streamGet(path: string, options: Pick<CallOptions, 'query' | 'signal'> = {}): Promise<StreamedResponse> {
    const api = await this.apiVersion();
    return streamGet(this.endpoint, `/v${api}${path}${queryString(options.query)}`, options.signal);
  }

  /** A hijacked connection (attach, exec start): the raw socket once the engine has upgraded it. */
  async hijack(method: string, path: string, options: CallOptions = {}): Promise<Socket> {
    const api = await this.apiVersion();
    const result = await this.dial(method, `/v${api}${path}${queryString(options.query)}`, options, true);
    if (!isResponse(result)) return result;
    const status = result.statusCode ?? 500;
    const body = await readBody(result);
    if (status >= 400) throw errorFromStatus(status, messageOfBody(body));
    throw new EngineError('engine', `the Docker engine did not upgrade the connection for ${method} ${path} (HTTP ${status})`);
  }

  private dial(method: string, path: string, options: CallOptions, hijack: false): Promise<IncomingMessage>;
  private dial(method: string, path: string, options: CallOptions, hijack: true): Promise<IncomingMessage | Socket>;
  private dial(method: string, path: string, options: CallOptions, hijack: boolean): Promise<IncomingMessage | Socket> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const dialOptions: DockerModem.DialOptions = {
        path,
        method,
        headers: { ...options.headers },
        // _query is empty: the query is already in the path. _body {} sends no body.
        options: { _query: {}, _body: options.body ?? {} },
        isStream: true,
        hijack,
        statusCodes: EVERY_STATUS,
      };
      if (options.file) dialOptions.file = options.file;
      if (signal) dialOptions.abortSignal = signal;
      this.modem.dial(dialOptions, (err, result) => {
        if (err) {
          if (signal?.aborted) reject(signal.reason);
          else reject(errorFromConnection(err, this.endpoint.address));
          return;
        }
        resolve(result as IncomingMessage | Socket);
      });
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

function isResponse(value: IncomingMessage | Socket): value is IncomingMessage {
  return 'statusCode' in value && typeof (value as IncomingMessage).statusCode === 'number';
}
