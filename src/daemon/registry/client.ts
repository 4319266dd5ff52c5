/**
 * A Registry HTTP API v2 (OCI distribution) client for one registry host: manifests, blobs,
 * uploads, with authentication (./auth.ts) and retries. GET and HEAD are retried on 5xx answers
 * and broken connections (three more tries, 0.5 s then doubling); uploads are not (a retried
 * upload starts again from the session the caller holds).
 */
import { EngineError } from '../../contract/errors.js';
import { sha256Digest } from '../images/blobs.js';
import { RegistryAuth, type RegistryCredentials } from './auth.js';
import { TransportError, readBody, type HttpRequest, type HttpResponse, type RegistryTransport } from './transport.js';

export const MANIFEST_TYPES = {
  dockerV2: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
} as const;

export const ACCEPT_MANIFESTS = [MANIFEST_TYPES.ociIndex, MANIFEST_TYPES.dockerList, MANIFEST_TYPES.ociManifest, MANIFEST_TYPES.dockerV2].join(', ');

const RETRIES = 3;
const MAX_MANIFEST = 4 * 1024 * 1024;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The registry's own error text ({"errors":[{"code","message"}]}), when it sent one. */
async function registryMessage(r: HttpResponse): Promise<string> {
  try {
    const body = await readBody(r, 64 * 1024);
    const doc = JSON.parse(body.toString('utf8')) as { errors?: { code?: string; message?: string }[] };
    const first = doc.errors?.[0];
    if (first) return `${first.code ?? ''}${first.message ? `: ${first.message}` : ''}`.replace(/^: /, '');
  } catch {
    // no usable body
  }
  return `HTTP ${r.status}`;
}

export interface Manifest {
  bytes: Buffer;
  mediaType: string;
  digest: string;
}

export class RegistryClient {
  private readonly auth: RegistryAuth;
  private baseUrl: string | null = null;

  constructor(
    private readonly transport: RegistryTransport,
    readonly host: string,
    credentials: RegistryCredentials | null,
  ) {
    this.auth = new RegistryAuth(transport, host, credentials);
  }

  private async base(): Promise<string> {
    this.baseUrl ??= await this.transport.base(this.host);
    return this.baseUrl;
  }

  /**
   * A request with authentication: sent, and sent again once with credentials when the answer
   * is a 401 with a new challenge. GET and HEAD are retried on 5xx and connection failures.
   */
  async request(path: string, scope: string, req: HttpRequest & { idempotent?: boolean } = {}): Promise<HttpResponse> {
    const url = path.startsWith('http') ? path : `${await this.base()}${path}`;
    const idempotent = req.idempotent ?? (req.method === undefined || req.method === 'GET' || req.method === 'HEAD');
    let authRetried = false;
    for (let attempt = 0; ; attempt++) {
      const auth = await this.auth.header(scope);
      const headers = { ...(req.headers ?? {}), ...(auth ? { Authorization: auth } : {}) };
      let r: HttpResponse;
      try {
        r = await this.transport.send(url, { ...req, headers });
      } catch (e) {
        if (e instanceof TransportError && idempotent && attempt < RETRIES) {
          await sleep(500 * 2 ** attempt);
          continue;
        }
        throw e;
      }
      if (r.status === 401 && !authRetried && this.auth.learn(r.headers['www-authenticate'] as string | undefined, scope)) {
        r.body.resume();
        authRetried = true;
        attempt--;
        continue;
      }
      if (r.status >= 500 && idempotent && attempt < RETRIES) {
        r.body.resume();
        await sleep(500 * 2 ** attempt);
        continue;
      }
      return r;
    }
  }

  /** Throws the registry's error for an unexpected answer. */
  async fail(r: HttpResponse, what: string): Promise<never> {
    const message = await registryMessage(r);
    if (r.status === 401 || r.status === 403) throw new EngineError('invalid', `${what}: unauthorized (${message}): log in with flotilla login ${this.host}`);
    if (r.status === 404) throw new EngineError('not-found', `${what}: not found (${message})`);
    throw new EngineError('engine', `${what}: the registry answered ${message}`);
  }

  async getManifest(repo: string, reference: string): Promise<Manifest> {
    const what = `${this.host}/${repo}:${reference}`;
    const r = await this.request(`/v2/${repo}/manifests/${reference}`, `repository:${repo}:pull`, { headers: { Accept: ACCEPT_MANIFESTS } });
    if (r.status !== 200) return this.fail(r, `manifest of ${what}`);
    const bytes = await readBody(r, MAX_MANIFEST);
    const digest = sha256Digest(bytes);
    if (reference.startsWith('sha256:') && digest !== reference) throw new EngineError('invalid', `manifest of ${what}: its content is ${digest}; nothing was kept`);
    const type = String(r.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
    return { bytes, mediaType: type, digest };
  }

  /** The manifest's digest as the registry has it (HEAD), without its body. */
  async manifestDigest(repo: string, reference: string): Promise<string | null> {
    const r = await this.request(`/v2/${repo}/manifests/${reference}`, `repository:${repo}:pull`, { method: 'HEAD', headers: { Accept: ACCEPT_MANIFESTS } });
    r.body.resume();
    if (r.status === 404) return null;
    if (r.status !== 200) return this.fail(r, `manifest of ${this.host}/${repo}:${reference}`);
    const d = r.headers['docker-content-digest'];
    return typeof d === 'string' ? d : null;
  }

  /** The blob from byte `offset` on (HTTP Range): a 206 answer when resumed, 200 from the start. */
  async blob(repo: string, digest: string, offset = 0): Promise<{ response: HttpResponse; offset: number }> {
    const headers: Record<string, string> = offset > 0 ? { Range: `bytes=${offset}-` } : {};
    const r = await this.request(`/v2/${repo}/blobs/${digest}`, `repository:${repo}:pull`, { headers });
    if (r.status === 206 && offset > 0) return { response: r, offset };
    if (r.status === 200) return { response: r, offset: 0 };
    return this.fail(r, `blob ${digest} of ${this.host}/${repo}`);
  }

  /** Whether the repository has the blob (HEAD). */
  async hasBlob(repo: string, digest: string, scope = `repository:${repo}:pull,push`): Promise<boolean> {
    const r = await this.request(`/v2/${repo}/blobs/${digest}`, scope, { method: 'HEAD' });
    r.body.resume();
    if (r.status === 200) return true;
    if (r.status === 404) return false;
    return this.fail(r, `blob ${digest} of ${this.host}/${repo}`);
  }

  /**
   * Starts an upload; with `mount`, asks the registry to take the blob from another repository
   * instead (cross-repository mount): resolves to null when it did (201).
   */
  async startUpload(repo: string, mount?: { digest: string; from: string }): Promise<string | null> {
    const scope = mount ? `repository:${repo}:pull,push repository:${mount.from}:pull` : `repository:${repo}:pull,push`;
    const query = mount ? `?mount=${encodeURIComponent(mount.digest)}&from=${encodeURIComponent(mount.from)}` : '';
    const r = await this.request(`/v2/${repo}/blobs/uploads/${query}`, scope, { method: 'POST', idempotent: true, body: Buffer.alloc(0) });
    r.body.resume();
    if (r.status === 201 && mount) return null;
    if (r.status !== 202) return this.fail(r, `upload to ${this.host}/${repo}`);
    return this.location(r);
  }

  private async location(r: HttpResponse): Promise<string> {
    const loc = r.headers.location;
    if (!loc) throw new EngineError('engine', `${this.host}: an upload answer without a Location`);
    return new URL(loc, `${await this.base()}/`).toString();
  }

  /** Sends the whole blob in one PUT (monolithic upload). */
  async uploadWhole(repo: string, location: string, digest: string, body: NodeJS.ReadableStream | Buffer, length: number): Promise<void> {
    const url = new URL(location);
    url.searchParams.set('digest', digest);
    const r = await this.request(url.toString(), `repository:${repo}:pull,push`, { method: 'PUT', body, length, headers: { 'Content-Type': 'application/octet-stream' }, idempotent: false });
    r.body.resume();
    if (r.status !== 201) return this.fail(r, `upload of ${digest} to ${this.host}/${repo}`);
  }

  /** Sends the blob in chunks (PATCH with Content-Range each), then closes the upload with its digest. */
  async uploadChunks(repo: string, location: string, digest: string, chunks: AsyncIterable<Buffer>): Promise<void> {
    let at = location;
    let offset = 0;
    const scope = `repository:${repo}:pull,push`;
    for await (const chunk of chunks) {
      const r = await this.request(at, scope, { method: 'PATCH', body: chunk, headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${offset}-${offset + chunk.length - 1}` }, idempotent: false });
      r.body.resume();
      if (r.status !== 202) return this.fail(r, `upload of ${digest} to ${this.host}/${repo}`);
      offset += chunk.length;
      at = await this.location(r);
    }
    const url = new URL(at);
    url.searchParams.set('digest', digest);
    const r = await this.request(url.toString(), scope, { method: 'PUT', body: Buffer.alloc(0), idempotent: false });
    r.body.resume();
    if (r.status !== 201) return this.fail(r, `upload of ${digest} to ${this.host}/${repo}`);
  }

  /** PUTs a manifest; resolves to the digest the registry gives it (Docker-Content-Digest). */
  async putManifest(repo: string, reference: string, manifest: Buffer, mediaType: string): Promise<string | null> {
    const r = await this.request(`/v2/${repo}/manifests/${reference}`, `repository:${repo}:pull,push`, { method: 'PUT', body: manifest, headers: { 'Content-Type': mediaType }, idempotent: true });
    r.body.resume();
    if (r.status !== 201 && r.status !== 200) return this.fail(r, `manifest of ${this.host}/${repo}:${reference}`);
    const d = r.headers['docker-content-digest'];
    return typeof d === 'string' ? d : null;
  }

  /** Checks the credentials against the registry (what docker login does): GET /v2/ with them. */
  async ping(): Promise<void> {
    const r = await this.request('/v2/', '');
    r.body.resume();
    if (r.status === 200) return;
    if (r.status === 401) throw new EngineError('invalid', `${this.host}: unauthorized: the registry refused the credentials`);
    return this.fail(r, this.host);
  }
}
