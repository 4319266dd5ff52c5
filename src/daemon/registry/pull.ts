/**
 * `pull`: an image from a registry into the store. The manifest (an index or manifest list is
 * resolved to linux/<this arch>, or the platform asked for), then the config, then the layers: up
 * to three downloads at once, each layer unpacked as soon as its blob is complete while the
 * others download. A blob is verified as it is written and a mismatch keeps nothing; a download
 * broken off is resumed with Range, by the retry or by the next pull. The image appears, with its
 * tag and digest reference, only when every layer is in place.
 */
import { EngineError } from '../../contract/errors.js';
import type { ProgressSink } from '../../contract/engine.js';
import type { BlobWriter } from '../images/blobs.js';
import { goArch, parseImageConfig } from '../images/config.js';
import { formatReference, parseReference, registryOf } from '../../contract/image-reference.js';
import type { LayerRecord } from '../images/refs.js';
import type { ImageStore, StoredImage } from '../images/store.js';
import { SizeBudget } from '../images/unpack.js';
import { MANIFEST_TYPES, type Manifest, type RegistryClient } from './client.js';
import { TransportError } from './transport.js';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os?: string; architecture?: string; variant?: string };
}

export interface ImageManifest {
  config: Descriptor;
  layers: Descriptor[];
}

const SHA256 = /^sha256:[0-9a-f]{64}$/;

function descriptor(v: unknown, where: string): Descriptor {
  const d = v as Partial<Descriptor> | null;
  if (typeof d !== 'object' || d === null || typeof d.digest !== 'string' || !SHA256.test(d.digest) || typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) {
    throw new EngineError('invalid', `${where} is not a descriptor with a sha256 digest and a size`);
  }
  return { mediaType: typeof d.mediaType === 'string' ? d.mediaType : '', digest: d.digest, size: d.size, ...(d.platform ? { platform: d.platform } : {}) };
}

function parseJson(m: Manifest, what: string): Record<string, unknown> {
  try {
    const doc = JSON.parse(m.bytes.toString('utf8')) as unknown;
    if (typeof doc === 'object' && doc !== null && !Array.isArray(doc)) return doc as Record<string, unknown>;
  } catch {
    // below
  }
  throw new EngineError('invalid', `${what}: the manifest is not a JSON object`);
}

/** "linux/amd64", "linux/arm64/v8" → its parts; the default is this machine's. */
export function parsePlatform(platform: string | undefined): { os: string; architecture: string; variant?: string } {
  if (!platform) return { os: 'linux', architecture: goArch() };
  const [os = '', architecture = '', variant] = platform.split('/');
  if (!os || !architecture) throw new EngineError('invalid', `invalid platform ${JSON.stringify(platform)}: use os/arch[/variant], e.g. linux/amd64`);
  return variant ? { os, architecture, variant } : { os, architecture };
}

export function isIndex(m: Manifest, doc: Record<string, unknown>): boolean {
  return m.mediaType === MANIFEST_TYPES.ociIndex || m.mediaType === MANIFEST_TYPES.dockerList || (Array.isArray(doc['manifests']) && doc['config'] === undefined);
}

export function imageManifest(doc: Record<string, unknown>, what: string): ImageManifest {
  if (doc['schemaVersion'] === 1) throw new EngineError('invalid', `${what}: Docker schema 1 manifests are not supported (push the image again with a current Docker)`);
  if (!Array.isArray(doc['layers'])) throw new EngineError('invalid', `${what}: the manifest has no layers list`);
  return { config: descriptor(doc['config'], `${what}: config`), layers: doc['layers'].map((l, i) => descriptor(l, `${what}: layer ${i + 1}`)) };
}

export interface RegistryPullOptions {
  platform?: string;
  progress?: ProgressSink;
  /** Downloads at once (3, as containerd). */
  concurrency?: number;
}

function short(digest: string): string {
  return digest.slice(7, 19);
}

function mb(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)}GB` : n >= 1e6 ? `${(n / 1e6).toFixed(1)}MB` : `${(n / 1e3).toFixed(1)}kB`;
}

export async function pullImage(store: ImageStore, client: RegistryClient, reference: string, options: RegistryPullOptions = {}): Promise<StoredImage> {
  const ref = parseReference(reference);
  const { path } = registryOf(ref.repository);
  const name = formatReference(ref);
  const progress = options.progress ?? (() => undefined);
  const wanted = parsePlatform(options.platform);
  if (ref.digest === undefined) progress({ status: `Pulling from ${ref.repository}`, id: ref.tag ?? 'latest' });

  let manifest = await client.getManifest(path, ref.digest ?? ref.tag ?? 'latest');
  const topDigest = manifest.digest;
  let doc = parseJson(manifest, name);
  if (isIndex(manifest, doc)) {
    const entries = (doc['manifests'] as unknown[]).map((m, i) => descriptor(m, `${name}: manifest ${i + 1}`));
    const match = entries.find((e) => e.platform?.os === wanted.os && e.platform?.architecture === wanted.architecture && (wanted.variant === undefined || e.platform?.variant === wanted.variant));
    if (!match) {
      const have = entries.map((e) => [e.platform?.os, e.platform?.architecture, e.platform?.variant].filter(Boolean).join('/')).join(', ');
      throw new EngineError('not-found', `${name}: no image for ${[wanted.os, wanted.architecture, wanted.variant].filter(Boolean).join('/')} (the registry has ${have || 'none'})`);
    }
    manifest = await client.getManifest(path, match.digest);
    doc = parseJson(manifest, name);
  }
  const m = imageManifest(doc, name);

  const keys = [manifest.digest, m.config.digest, ...m.layers.map((l) => l.digest)];
  const release = store.hold(keys);
  try {
    if (!(await store.blobs.has(m.config.digest))) await download(store, client, path, m.config, () => undefined);
    const config = await store.blobs.read(m.config.digest);
    const parsed = parseImageConfig(config, name);
    const diffIds = parsed.diffIds ?? [];
    if (diffIds.length !== m.layers.length) throw new EngineError('invalid', `${name}: the config lists ${diffIds.length} layers, the manifest ${m.layers.length}`);
    if (parsed.os && parsed.os !== wanted.os) throw new EngineError('invalid', `${name}: the image is for ${parsed.os}/${parsed.architecture}, not ${wanted.os}/${wanted.architecture}`);
    const heldDiffs = store.hold(diffIds);
    try {
      await store.blobs.put(manifest.bytes, manifest.digest);
      const known = store.record(m.config.digest);
      const layers = known && known.layers.every((l, i) => l.diffId === diffIds[i]) ? known.layers : await fetchLayers(store, client, path, m, diffIds, name, progress, options.concurrency ?? 3);
      const repoDigest = `${ref.repository}@${topDigest}`;
      const image = await store.createImage(config, layers, { tags: ref.digest === undefined ? [name] : [], repoDigests: [repoDigest], manifest: manifest.digest });
      progress({ status: `Digest: ${topDigest}` });
      progress({ status: known ? `Status: Image is up to date for ${name}` : `Status: Downloaded newer image for ${name}` });
      return image;
    } finally {
      heldDiffs();
    }
  } finally {
    release();
  }
}

async function fetchLayers(store: ImageStore, client: RegistryClient, path: string, m: ImageManifest, diffIds: string[], name: string, progress: ProgressSink, concurrency: number): Promise<LayerRecord[]> {
  const budget = new SizeBudget(store.imageLimits.maxImageBytes);
  const records: (LayerRecord | undefined)[] = [];
  let unpacking: Promise<unknown> = Promise.resolve();
  const unpacks: Promise<void>[] = [];
  for (const l of m.layers) progress({ id: short(l.digest), status: 'Pulling fs layer' });
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (next < m.layers.length && !failed) {
      const i = next++;
      const l = m.layers[i] as Descriptor;
      const diffId = diffIds[i] as string;
      const id = short(l.digest);
      const haveSnapshot = (await store.snapshots.info(diffId)) !== null;
      if (haveSnapshot && (await store.blobs.has(l.digest))) {
        records[i] = { digest: l.digest, mediaType: l.mediaType, size: l.size, diffId };
        progress({ id, status: 'Already exists' });
        continue;
      }
      if (!(await store.blobs.has(l.digest))) {
        await download(store, client, path, l, (done) => progress({ id, status: 'Downloading', detail: `${mb(done)}/${mb(l.size)}` }));
        progress({ id, status: 'Download complete' });
      }
      // Unpacked one at a time, while the next blobs download.
      const unpack = unpacking.then(async () => {
        progress({ id, status: 'Extracting' });
        records[i] = await store.layerFromBlob(l.digest, l.mediaType, diffId, `layer ${i + 1} of ${name}`, budget);
        progress({ id, status: 'Pull complete' });
      });
      unpacking = unpack.catch(() => undefined);
      unpacks.push(unpack);
    }
  };
  // Every download and unpack is over before the pull returns, failed or not.
  const guarded = async (): Promise<void> => {
    try {
      await worker();
    } catch (e) {
      failed = true;
      throw e;
    }
  };
  const settled = [...(await Promise.allSettled(Array.from({ length: Math.max(1, Math.min(concurrency, m.layers.length)) }, guarded))), ...(await Promise.allSettled(unpacks))];
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failure) throw failure.reason;
  return records.map((r, i) => {
    if (!r) throw new EngineError('engine', `${name}: layer ${i + 1} was not stored`);
    return r;
  });
}

const DOWNLOAD_TRIES = 4;

/**
 * A blob into the store: resumed from what an earlier attempt left, retried (with Range) when the
 * connection breaks, verified against its digest (a mismatch keeps nothing).
 */
export async function download(store: ImageStore, client: RegistryClient, path: string, d: Descriptor, onProgress: (bytes: number) => void): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    let w: BlobWriter = await store.blobs.writer(d.digest, { resume: true });
    try {
      if (w.written > d.size) {
        await w.abandon(false);
        w = await store.blobs.writer(d.digest);
      }
      const { response, offset } = await client.blob(path, d.digest, w.written);
      if (offset === 0 && w.written > 0) {
        // The registry sent the whole blob: start over.
        await w.abandon(false);
        w = await store.blobs.writer(d.digest);
      }
      let last = 0;
      for await (const chunk of response.body) {
        await w.write(chunk as Buffer);
        if (w.written > d.size) throw new EngineError('invalid', `blob ${d.digest} is larger than its ${d.size} bytes; nothing was kept`);
        if (w.written - last >= 512 * 1024) {
          last = w.written;
          onProgress(w.written);
        }
      }
      if (w.written < d.size) throw new TransportError(`blob ${d.digest}: the connection ended after ${w.written} of ${d.size} bytes`, 'ECONNRESET');
      onProgress(w.written);
      await w.commit();
      return;
    } catch (e) {
      const broken = e instanceof TransportError || (typeof (e as NodeJS.ErrnoException).code === 'string' && /ECONNRESET|ERR_STREAM_PREMATURE_CLOSE|ECONNABORTED|EPIPE|ETIMEDOUT/.test((e as NodeJS.ErrnoException).code ?? '')) || (e as Error).message === 'aborted';
      await w.abandon(broken);
      if (!broken || attempt + 1 >= DOWNLOAD_TRIES) {
        if (broken) throw new EngineError('unreachable', `blob ${d.digest}: the download broke off ${DOWNLOAD_TRIES} times (${(e as Error).message}); the next pull resumes it`);
        throw e;
      }
      await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
    }
  }
}
