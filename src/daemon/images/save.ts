/**
 * `image save`: images as the archive `docker save` writes (Docker 25's layout, which Docker
 * 20.10's `docker load` reads through manifest.json and OCI tools through index.json):
 *   blobs/sha256/<hex>   each layer as an uncompressed tar (named by its diff id), each config,
 *                        and an OCI manifest per image
 *   manifest.json        [{Config, RepoTags, Layers}]: what `docker load` reads
 *   index.json           the OCI index (one entry per tag, annotated with the name; one untagged
 *                        entry for an image saved without a name)
 *   oci-layout, repositories
 * Names follow Docker's rules: `name:tag` saves that tag, a bare `name` every tag of the
 * repository, a digest reference or an id the image without a name. Every member has mtime 0,
 * so the same images make the same bytes. Layers are streamed from their stored blobs,
 * decompressed; each is checked against its diff id as it goes (a damaged store fails the
 * save rather than writing a layer docker load would refuse).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { EngineError } from '../../contract/errors.js';
import { packTar, type PackItem } from '../../util/tar-pack.js';
import { hexOf } from './blobs.js';
import { parseReference, registryOf } from '../../contract/image-reference.js';
import type { LayerRecord } from './refs.js';
import type { ImageStore } from './store.js';
import { decompressed } from './tar/decompress.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar';

interface Selected {
  id: string;
  /** Normalised tags ("busybox:latest"), in the order asked. */
  tags: string[];
}

/** A name without tag or digest ("busybox", "127.0.0.1:5000/app"): Docker saves every tag of it. */
function isNameOnly(ref: string): boolean {
  return !ref.includes('@') && ref.lastIndexOf(':') <= ref.lastIndexOf('/');
}

/** The images `refs` name, with the tags each is saved under; an unknown name fails before anything is written. */
export async function selectImages(store: ImageStore, refs: string[]): Promise<Selected[]> {
  const out = new Map<string, Selected>();
  const add = (id: string, tag: string | null): void => {
    let s = out.get(id);
    if (!s) out.set(id, (s = { id, tags: [] }));
    if (tag !== null && !s.tags.includes(tag)) s.tags.push(tag);
  };
  for (const ref of refs) {
    if (isNameOnly(ref) && !ref.startsWith('sha256:')) {
      let repository: string | null = null;
      try {
        repository = parseReference(ref).repository;
      } catch {
        repository = null; // an id prefix is no name: resolved below
      }
      const tagged = repository === null ? [] : (await store.list()).flatMap((i) => i.repoTags.filter((t) => parseReference(t).repository === repository).map((t) => [i.id, t] as const));
      for (const [id, tag] of tagged) add(id, tag);
      if (tagged.length > 0) continue;
    }
    const image = await store.resolve(ref);
    if (!image) throw new EngineError('not-found', `no such image: ${ref}`);
    const parsed = ref.startsWith('sha256:') ? null : safeParse(ref);
    const tag = parsed && parsed.digest === undefined ? `${parsed.repository}:${parsed.tag ?? 'latest'}` : null;
    add(image.id, tag !== null && image.repoTags.includes(tag) ? tag : null);
  }
  return [...out.values()];
}

function safeParse(ref: string): ReturnType<typeof parseReference> | null {
  try {
    return parseReference(ref);
  } catch {
    return null;
  }
}

/** "busybox:latest" → "docker.io/library/busybox:latest", as containerd names images. */
function fullName(tag: string): string {
  const r = parseReference(tag);
  const { host, path } = registryOf(r.repository);
  return `${host}/${path}:${r.tag ?? 'latest'}`;
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

/** The layer's uncompressed tar from its stored blob, checked against its diff id and length. */
async function* layerTar(store: ImageStore, layer: LayerRecord, size: number, label: string): AsyncGenerator<Buffer> {
  const hash = createHash('sha256');
  let length = 0;
  const limits = store.imageLimits;
  for await (const chunk of decompressed(createReadStream(store.blobs.path(layer.digest), { highWaterMark: 256 * 1024 }), { maxRatio: limits.maxCompressionRatio, bombFloor: limits.bombFloorBytes })) {
    hash.update(chunk);
    length += chunk.length;
    if (length > size) break;
    yield chunk;
  }
  const got = `sha256:${hash.digest('hex')}`;
  if (length !== size || got !== layer.diffId) {
    throw new EngineError('engine', `${label}: the stored blob ${layer.digest} no longer holds layer ${layer.diffId}; the store is damaged (pull or load the image again)`);
  }
}

/**
 * The archive of the images `refs` name, streamed. Names are resolved, and every layer's size
 * known, before the first byte; their blobs are held from removal until the stream ends.
 */
export async function imageArchive(store: ImageStore, refs: string[]): Promise<Readable> {
  if (refs.length === 0) throw new EngineError('invalid', 'image save needs at least one image');
  const selected = await selectImages(store, refs);
  const images = await Promise.all(
    selected.map(async (s) => {
      const record = store.record(s.id);
      if (!record) throw new EngineError('not-found', `no such image: ${s.id}`);
      return { ...s, layers: record.layers, config: await store.config(s.id) };
    }),
  );
  const release = store.hold(images.flatMap((i) => [i.id, ...i.layers.flatMap((l) => [l.digest, l.diffId])]));
  try {
    const layers = new Map<string, { layer: LayerRecord; size: number; label: string }>();
    for (const image of images) {
      for (const [n, l] of image.layers.entries()) {
        if (layers.has(l.diffId)) continue;
        const label = `layer ${n + 1} of ${image.tags[0] ?? image.id}`;
        const size = await store.snapshots.tarSize(l.diffId, () => createReadStream(store.blobs.path(l.digest)), store.imageLimits);
        layers.set(l.diffId, { layer: l, size, label });
      }
    }
    const blobs = new Map<string, PackItem>();
    const file = (name: string, body: Buffer): PackItem => ({ entry: { name, type: 'file', mode: 0o644, mtime: 0, size: body.length }, body });
    for (const [diffId, { layer, size, label }] of layers) {
      const name = `blobs/sha256/${hexOf(diffId)}`;
      blobs.set(name, { entry: { name, type: 'file', mode: 0o644, mtime: 0, size }, body: layerTar(store, layer, size, label) });
    }
    const manifestJson: unknown[] = [];
    const index: unknown[] = [];
    const repositories: Record<string, Record<string, string>> = {};
    for (const image of images) {
      const configName = `blobs/sha256/${hexOf(image.id)}`;
      blobs.set(configName, file(configName, image.config));
      const manifest = json({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: OCI_CONFIG, digest: image.id, size: image.config.length },
        layers: image.layers.map((l) => ({ mediaType: OCI_LAYER, digest: l.diffId, size: layers.get(l.diffId)?.size ?? 0 })),
      });
      const manifestDigest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
      blobs.set(`blobs/sha256/${hexOf(manifestDigest)}`, file(`blobs/sha256/${hexOf(manifestDigest)}`, manifest));
      const descriptor = { mediaType: OCI_MANIFEST, digest: manifestDigest, size: manifest.length };
      for (const tag of image.tags) {
        index.push({ ...descriptor, annotations: { 'io.containerd.image.name': fullName(tag), 'org.opencontainers.image.ref.name': parseReference(tag).tag ?? 'latest' } });
        const top = image.layers.at(-1);
        const { repository, tag: t } = parseReference(tag);
        if (top) (repositories[repository] ??= {})[t ?? 'latest'] = hexOf(top.diffId);
      }
      if (image.tags.length === 0) index.push(descriptor);
      manifestJson.push({ Config: configName, RepoTags: image.tags.length > 0 ? image.tags : null, Layers: image.layers.map((l) => `blobs/sha256/${hexOf(l.diffId)}`) });
    }
    const dir = (name: string): PackItem => ({ entry: { name, type: 'directory', mode: 0o755, mtime: 0 } });
    const items: PackItem[] = [dir('blobs'), dir('blobs/sha256'), ...[...blobs.keys()].sort().map((k) => blobs.get(k) as PackItem)];
    items.push(file('index.json', json({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: index })));
    items.push(file('manifest.json', json(manifestJson)));
    items.push(file('oci-layout', json({ imageLayoutVersion: '1.0.0' })));
    if (Object.keys(repositories).length > 0) items.push(file('repositories', json(repositories)));
    const stream = packTar(items);
    stream.once('close', release);
    return stream;
  } catch (e) {
    release();
    throw e;
  }
}
