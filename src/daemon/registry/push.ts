/**
 * `push`: an image of the store to a registry. For each layer: nothing when the repository has
 * the blob (HEAD), a cross-repository mount when another repository of the same registry is known
 * to have it, else an upload (one PUT, or PATCH chunks for large blobs). Layers stored
 * uncompressed (loaded or imported images) are pushed gzip-compressed, as Docker pushes them;
 * the compressed blob is kept, proven to unpack to the same layer. Then the config and the
 * manifest (the one the image was pulled or last pushed with when its layers are the same, so the
 * digest does not change). Resolves to the digest the registry gives the manifest.
 */
import { createGzip } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { EngineError } from '../../contract/errors.js';
import type { ProgressSink } from '../../contract/engine.js';
import { sha256Digest } from '../images/blobs.js';
import { formatReference, parseReference, registryOf } from '../../contract/image-reference.js';
import type { LayerRecord } from '../images/refs.js';
import { MEDIA_TYPES, layerMediaType, type ImageStore } from '../images/store.js';
import { MANIFEST_TYPES, type RegistryClient } from './client.js';

export interface PushOptions {
  progress?: ProgressSink;
  /** Blobs larger than this go up in chunks of this size. */
  chunkSize?: number;
}

const CONFIG_TYPE = 'application/vnd.docker.container.image.v1+json';

function short(digest: string): string {
  return digest.slice(7, 19);
}

export async function pushImage(store: ImageStore, client: RegistryClient, reference: string, options: PushOptions = {}): Promise<string> {
  const ref = parseReference(reference);
  if (ref.digest !== undefined) throw new EngineError('invalid', `cannot push ${reference}: push a tag, not a digest`);
  const name = formatReference(ref);
  const image = await store.resolve(name);
  if (!image) throw new EngineError('not-found', `An image does not exist locally with the tag: ${ref.repository}`);
  const record = store.record(image.id);
  if (!record) throw new EngineError('not-found', `no such image: ${image.id}`);
  const { path, host } = registryOf(ref.repository);
  const progress = options.progress ?? (() => undefined);
  const chunkSize = options.chunkSize ?? 32 * 1024 * 1024;
  progress({ status: `The push refers to repository [${ref.repository}]` });

  // Other repositories of this registry the image is known in: where a blob can be mounted from.
  const sources = [...image.repoTags, ...image.repoDigests]
    .map((n) => parseReference(n).repository)
    .filter((r) => r !== ref.repository && registryOf(r).host === host)
    .map((r) => registryOf(r).path);

  const release = store.hold([image.id, ...record.layers.flatMap((l) => [l.digest, l.diffId])]);
  try {
    const layers: LayerRecord[] = [];
    for (const l of record.layers) layers.push(await pushable(store, l));
    for (const l of [...layers].reverse()) progress({ id: short(l.digest), status: 'Preparing' });
    for (const l of layers) {
      const id = short(l.digest);
      if (await client.hasBlob(path, l.digest)) {
        progress({ id, status: 'Layer already exists' });
        continue;
      }
      let mounted = false;
      for (const from of sources) {
        if ((await client.startUpload(path, { digest: l.digest, from })) === null) {
          progress({ id, status: `Mounted from ${from}` });
          mounted = true;
          break;
        }
      }
      if (mounted) continue;
      progress({ id, status: 'Pushing' });
      await upload(store, client, path, l.digest, l.size, chunkSize);
      progress({ id, status: 'Pushed' });
    }
    const config = await store.config(image.id);
    if (!(await client.hasBlob(path, image.id))) await upload(store, client, path, image.id, config.length, chunkSize);

    let manifest: Buffer;
    let mediaType: string;
    const same = record.manifest !== null && layers.every((l, i) => l.digest === record.layers[i]?.digest);
    if (same && record.manifest !== null && (await store.blobs.has(record.manifest))) {
      manifest = await store.blobs.read(record.manifest);
      const doc = JSON.parse(manifest.toString('utf8')) as { mediaType?: string };
      mediaType = doc.mediaType ?? MANIFEST_TYPES.dockerV2;
    } else {
      mediaType = MANIFEST_TYPES.dockerV2;
      manifest = Buffer.from(
        JSON.stringify(
          {
            schemaVersion: 2,
            mediaType,
            config: { mediaType: CONFIG_TYPE, size: config.length, digest: image.id },
            layers: layers.map((l) => ({ mediaType: l.mediaType, size: l.size, digest: l.digest })),
          },
          null,
          3,
        ),
      );
    }
    const digest = sha256Digest(manifest);
    const answered = await client.putManifest(path, ref.tag ?? 'latest', manifest, mediaType);
    if (answered !== null && answered !== digest) throw new EngineError('engine', `${host}: the registry gave the manifest the digest ${answered}, not ${digest}`);
    await store.blobs.put(manifest, digest);
    await store.recordPush(image.id, digest, `${ref.repository}@${digest}`);
    progress({ status: `${ref.tag ?? 'latest'}: digest: ${digest} size: ${manifest.length}` });
    return digest;
  } finally {
    release();
  }
}

/** A layer as it is pushed: compressed blobs as they are, an uncompressed one gzip-compressed once. */
async function pushable(store: ImageStore, l: LayerRecord): Promise<LayerRecord> {
  if (l.mediaType !== MEDIA_TYPES.plain) return l;
  const info = await store.snapshots.info(l.diffId);
  for (const b of info?.blobs ?? []) {
    if (b !== l.digest && (await store.blobs.has(b)) && (await layerMediaType(store.blobs.path(b))) === MEDIA_TYPES.gzip) {
      return { digest: b, mediaType: MEDIA_TYPES.gzip, size: (await store.blobs.size(b)) ?? 0, diffId: l.diffId };
    }
  }
  const w = await store.blobs.writer(null);
  const gzip = createGzip({ level: 6 });
  const sink = async (source: AsyncIterable<Buffer>): Promise<void> => {
    for await (const chunk of source) await w.write(chunk);
  };
  try {
    await pipeline(Readable.from(store.blobs.stream(l.digest) as AsyncIterable<Buffer>), gzip, sink);
  } catch (e) {
    await w.abandon(false);
    throw e;
  }
  const digest = await w.commit();
  if (info) await store.snapshots.noteBlob(info, digest);
  return { digest, mediaType: MEDIA_TYPES.gzip, size: (await store.blobs.size(digest)) ?? 0, diffId: l.diffId };
}

async function* chunksOf(stream: AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let n = 0;
  for await (const c of stream) {
    pending.push(c);
    n += c.length;
    while (n >= size) {
      const all = Buffer.concat(pending);
      yield all.subarray(0, size);
      pending = [all.subarray(size)];
      n -= size;
    }
  }
  if (n > 0) yield Buffer.concat(pending);
}

async function upload(store: ImageStore, client: RegistryClient, path: string, digest: string, size: number, chunkSize: number): Promise<void> {
  const location = await client.startUpload(path);
  if (location === null) return;
  if (size <= chunkSize) await client.uploadWhole(path, location, digest, store.blobs.stream(digest), size);
  else await client.uploadChunks(path, location, digest, chunksOf(store.blobs.stream(digest) as AsyncIterable<Buffer>, chunkSize));
}
