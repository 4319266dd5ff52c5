/**
 * The embedded engine's image store (docs/embedded-engine.md, "Image store"):
 *   images/blobs/sha256/<hex>     content-addressed blobs, verified as they are written: layer
 *                                 blobs as received (gzip, zstd or plain), configs, manifests
 *   images/ingest/                blobs being written; <hex>.partial: a download to resume
 *   images/snapshots/<hex>/fs     each layer unpacked once (./snapshots.ts), an overlay lower dir
 *   images/index.json             the commit point (./refs.ts): images, tags, digests
 *
 * An image is committed by one atomic write of index.json after its blobs and snapshots exist;
 * an interrupted import, load or pull leaves nothing visible, and what it had verified (blobs,
 * snapshots) is used again by the next attempt. Blobs and snapshots no image reaches are removed
 * when the last image using them is (`image rm`), or by prune.
 *
 * What a builder uses (src/daemon/build): resolve() gives an image's layers as lower dirs;
 * addLayerFromDir() turns a step's overlay upper dir into a layer (addLayer() a tar stream) as a
 * blob and a snapshot; createImage() writes a config and commits the image with its tags atomically.
 */
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { ImagesPort } from '../containers/collaborators.js';
import type { DaemonPaths } from '../paths.js';
import { isStateTemporary } from '../state/json-file.js';
import { EngineError } from '../../contract/errors.js';
import { readImageArchive } from './archive.js';
import { BlobStore, sha256Digest } from './blobs.js';
import { importedConfig, parseImageConfig } from './config.js';
import { dirLayerTar } from './dir-layer.js';
import { imageArchive } from './save.js';
import { formatReference, parseReference, repositoryOf, type Reference } from '../../contract/image-reference.js';
import { TEMP_PREFIX, copyRefs, emptyRefs, readRefs, writeRefs, type ImageRecord, type LayerRecord, type RefsFile } from './refs.js';
import { removeLeftoversLater, removeTree } from '../state/remove-tree.js';
import { SnapshotStore } from './snapshots.js';
import type { ImageConfigJson } from '../../contract/image-config.js';
import { DEFAULT_LIMITS, type ImageLimits, type ImageStoreOptions, type StoredImage } from './types.js';
import { SizeBudget } from './unpack.js';

export { normaliseReference } from '../../contract/image-reference.js';
export type { LayerRecord } from './refs.js';
export type { ImageLimits, ImageStoreOptions, StoredImage } from './types.js';

export const MEDIA_TYPES = {
  gzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  plain: 'application/vnd.docker.image.rootfs.diff.tar',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
} as const;

function shortId(id: string): string {
  return id.slice('sha256:'.length, 'sha256:'.length + 12);
}

/** A layer blob's media type, told by its first bytes. */
export async function layerMediaType(file: string): Promise<string> {
  const fh = await open(file, 'r');
  try {
    const head = Buffer.alloc(4);
    await fh.read(head, 0, 4, 0);
    if (head[0] === 0x1f && head[1] === 0x8b) return MEDIA_TYPES.gzip;
    if (head.equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return MEDIA_TYPES.zstd;
    return MEDIA_TYPES.plain;
  } finally {
    await fh.close();
  }
}

/** Runs functions one after another: every change of index.json is a read-modify-write. */
class Serial {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

export interface CreateImageOptions {
  tags?: string[];
  /** Digest references ("repo@sha256:…") the image is known by (a pull's). */
  repoDigests?: string[];
  /** The manifest blob the image came with (stored already). */
  manifest?: string | null;
}

/** Satisfies ImagesPort (the container manager) and ImageStoreLike (../engine.ts); test/daemon/images/store.test.ts checks both. */
export class ImageStore implements ImagesPort {
  private refs: RefsFile = emptyRefs();
  private opened = false;
  private readonly serial = new Serial();
  private readonly records = new Map<string, Omit<StoredImage, 'repoTags' | 'repoDigests'>>();
  private readonly limits: ImageLimits;
  private readonly warn: (message: string) => void;
  readonly dir: string;
  readonly blobs: BlobStore;
  readonly snapshots: SnapshotStore;
  /** Removals of what interrupted work left, started by open(). */
  private leftovers: Promise<void> = Promise.resolve();
  /** Blobs and snapshots a pull or build in progress relies on: removal leaves them alone. */
  private readonly held = new Map<string, number>();

  constructor(paths: DaemonPaths, options: ImageStoreOptions = {}) {
    this.dir = paths.images;
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.warn = options.warn ?? ((m) => process.stderr.write(`warning: ${m}\n`));
    this.blobs = new BlobStore(this.dir, this.limits.minFreeBytes);
    this.snapshots = new SnapshotStore(this.dir);
  }

  get imageLimits(): ImageLimits {
    return this.limits;
  }

  /**
   * Creates the folders, loads the index; keeps partial downloads. Temporaries that interrupted
   * work left (here and among the snapshots) are removed in the background: one that cannot be
   * is logged and tried again at the next start, never a failure to start.
   */
  async open(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const doomed: string[] = [];
    for (const name of await readdir(this.dir)) {
      if (name.startsWith(TEMP_PREFIX) || isStateTemporary(name)) doomed.push(join(this.dir, name));
    }
    await this.blobs.open();
    await this.blobs.clean(true);
    doomed.push(...(await this.snapshots.open()));
    this.leftovers = removeLeftoversLater(doomed, (line) => this.warn(line));
    const refs = await readRefs(this.dir, this.warn);
    const kept = copyRefs(refs);
    for (const [id, image] of Object.entries(refs.images)) {
      const whole = (await this.blobs.has(id)) && (await Promise.all(image.layers.map(async (l) => (await this.snapshots.info(l.diffId)) !== null))).every(Boolean);
      if (!whole) {
        this.warn(`image ${shortId(id)} lacks its config or a layer on disk; it is left out of the index`);
        delete kept.images[id];
      }
    }
    kept.tags = Object.fromEntries(Object.entries(kept.tags).filter(([, id]) => kept.images[id] !== undefined));
    kept.digests = Object.fromEntries(Object.entries(kept.digests).filter(([, id]) => kept.images[id] !== undefined));
    if (JSON.stringify(kept) !== JSON.stringify(refs)) await writeRefs(this.dir, kept);
    this.refs = kept;
    this.opened = true;
  }

  /** Settles once the leftovers open() found are removed (or reported). */
  whenLeftoversRemoved(): Promise<void> {
    return this.leftovers;
  }

  private ensureOpen(): void {
    if (!this.opened) throw new Error('ImageStore used before open()');
  }

  // ---- holding what is being assembled ---------------------------------------------------------

  /** Keeps blobs and snapshots (by digest or diff id) from removal until the returned function runs. */
  hold(keys: string[]): () => void {
    for (const k of keys) this.held.set(k, (this.held.get(k) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const k of keys) {
        const n = (this.held.get(k) ?? 1) - 1;
        if (n <= 0) this.held.delete(k);
        else this.held.set(k, n);
      }
    };
  }

  // ---- layers --------------------------------------------------------------------------------

  /**
   * A layer from a blob that is stored already: unpacked into its snapshot unless that exists.
   * `expectedDiffId` is the config's (null when unknown); `budget` is the image's size budget.
   */
  async layerFromBlob(digest: string, mediaType: string | null, expectedDiffId: string | null, label: string, budget: SizeBudget): Promise<LayerRecord> {
    const file = this.blobs.path(digest);
    const size = await this.blobs.size(digest);
    if (size === null) throw new EngineError('not-found', `${label}: blob ${digest} is not in the store`);
    const info = await this.snapshots.ensure(digest, expectedDiffId, label, () => createReadStream(file, { highWaterMark: 256 * 1024 }), this.limits, budget, this.warn);
    return { digest, mediaType: mediaType ?? (await layerMediaType(file)), size, diffId: info.diffId };
  }

  /**
   * The layer with this diff id as the store has it (a blob proven to hold it, and its snapshot),
   * or null: a builder whose step came from its cache commits the stored layer instead of adding
   * the same bytes again. Callers hold the result before they rely on it.
   */
  async storedLayer(diffId: string): Promise<LayerRecord | null> {
    this.ensureOpen();
    const info = await this.snapshots.info(diffId);
    for (const digest of info?.blobs ?? []) {
      const size = await this.blobs.size(digest);
      if (size !== null) return { digest, mediaType: await layerMediaType(this.blobs.path(digest)), size, diffId };
    }
    return null;
  }

  /** A tar stream (plain, gzip or zstd) stored as a blob and unpacked: what a builder commits. */
  async addLayer(input: AsyncIterable<unknown>, options: { label?: string; budget?: SizeBudget } = {}): Promise<LayerRecord> {
    this.ensureOpen();
    const w = await this.blobs.writer(null);
    try {
      for await (const chunk of input) await w.write(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
    } catch (e) {
      await w.abandon(false);
      throw e;
    }
    const digest = await w.commit();
    const release = this.hold([digest]);
    try {
      return await this.layerFromBlob(digest, null, null, options.label ?? `layer ${shortId(digest)}`, options.budget ?? new SizeBudget(this.limits.maxImageBytes));
    } catch (e) {
      release();
      await this.discard([digest]);
      throw e;
    } finally {
      release();
    }
  }

  /**
   * A directory made into a layer (./dir-layer.ts): an overlay upper dir's changes, whiteouts,
   * opaque directories and extended attributes included. What a builder commits after a step.
   */
  async addLayerFromDir(dir: string, options: { label?: string; budget?: SizeBudget } = {}): Promise<LayerRecord> {
    return this.addLayer(await dirLayerTar(dir), options);
  }

  /** Removes blobs and snapshots a failed import or load made, unless an image or a running operation has them. */
  private discard(digests: string[], diffIds: string[] = []): Promise<void> {
    return this.serial.run(async () => {
      const layers = Object.values(this.refs.images).flatMap((i) => i.layers);
      const blobs = new Set(layers.map((l) => l.digest));
      const snapshots = new Set(layers.map((l) => l.diffId));
      for (const d of digests) if (!blobs.has(d) && !this.held.has(d)) await this.blobs.remove(d);
      for (const d of diffIds) if (!snapshots.has(d) && !this.held.has(d)) await this.snapshots.remove(d);
    });
  }

  // ---- images --------------------------------------------------------------------------------

  /**
   * Commits an image: its config (stored as a blob; its digest is the image id) and its layers,
   * which must exist as blobs and snapshots and match the config's rootfs.diff_ids. One write of
   * the index: the image and its names appear together or not at all.
   */
  async createImage(config: Buffer, layers: LayerRecord[], options: CreateImageOptions = {}): Promise<StoredImage> {
    this.ensureOpen();
    const tags = (options.tags ?? []).map((t) => this.tagName(t));
    const digests = (options.repoDigests ?? []).map((d) => this.digestName(d));
    const id = sha256Digest(config);
    const label = tags[0] ?? `image ${shortId(id)}`;
    const parsed = parseImageConfig(config, label);
    // A config without rootfs.diff_ids (a very old archive's) is taken as it is.
    const diffIds = parsed.diffIds ?? layers.map((l) => l.diffId);
    if (diffIds.length !== layers.length || diffIds.some((d, i) => d !== layers[i]?.diffId)) {
      throw new EngineError('invalid', `${label}: the image config lists layers ${diffIds.join(', ') || '(none)'}, but the layers are ${layers.map((l) => l.diffId).join(', ') || '(none)'}`);
    }
    await this.blobs.put(config);
    await this.commit([{ id, record: { manifest: options.manifest ?? null, layers }, tags, digests }]);
    return this.image(id);
  }

  /** A root filesystem tarball (plain, gzip or zstd) made into a one-layer image, as `docker import` does. */
  async importRootfs(input: Readable, options: { reference?: string; config?: Partial<ImageConfigJson> } = {}): Promise<StoredImage> {
    this.ensureOpen();
    const tags = options.reference === undefined ? [] : [this.tagName(options.reference)];
    const label = `layer 1 of ${tags[0] ?? 'the imported root filesystem'}`;
    const layer = await this.addLayer(input, { label });
    const release = this.hold([layer.digest, layer.diffId]);
    try {
      return await this.createImage(importedConfig(layer.diffId, options.config), [layer], { tags });
    } finally {
      release();
    }
  }

  /** A `docker save` archive or an OCI image layout (plain or gzip): every image in it, with its tags. */
  async load(input: Readable): Promise<StoredImage[]> {
    this.ensureOpen();
    const spool = await mkdtemp(join(this.dir, `${TEMP_PREFIX}load-`));
    const held: (() => void)[] = [];
    const staged: { id: string; config: Buffer; layers: LayerRecord[]; tags: string[] }[] = [];
    const placed = new Set<string>();
    const made: string[] = [];
    try {
      const images = await readImageArchive(input, spool, this.limits);
      for (const image of images) {
        const id = sha256Digest(image.config);
        const label = image.tags[0] ?? `image ${shortId(id)}`;
        const parsed = parseImageConfig(image.config, label);
        if (parsed.diffIds !== null && parsed.diffIds.length !== image.layers.length) {
          throw new EngineError('invalid', `${label}: the image config lists ${parsed.diffIds.length} layers, but ${image.layers.length} were given`);
        }
        const budget = new SizeBudget(this.limits.maxImageBytes);
        const layers: LayerRecord[] = [];
        for (const [i, l] of image.layers.entries()) {
          const digest = `sha256:${l.sha256}`;
          held.push(this.hold([digest]));
          if (!placed.has(digest)) {
            await this.blobs.place(l.file, digest);
            placed.add(digest);
          }
          const layer = await this.layerFromBlob(digest, null, parsed.diffIds?.[i] ?? null, `layer ${i + 1} of ${label}`, budget);
          held.push(this.hold([layer.diffId]));
          made.push(layer.diffId);
          layers.push(layer);
        }
        staged.push({ id, config: image.config, layers, tags: image.tags });
      }
      for (const s of staged) await this.blobs.put(s.config);
      await this.commit(staged.map((s) => ({ id: s.id, record: { manifest: null, layers: s.layers }, tags: s.tags, digests: [] })));
    } catch (e) {
      for (const r of held) r();
      await this.discard([...placed], made);
      throw e;
    } finally {
      for (const r of held) r();
      await removeTree(spool);
    }
    const ids = [...new Set(staged.map((s) => s.id))];
    return Promise.all(ids.map((id) => this.image(id)));
  }

  /**
   * An image from its config bytes and its layers (uncompressed or compressed tar streams,
   * bottom first): layers are stored, unpacked and checked against the config's diff_ids.
   */
  async addImage(configJson: Buffer, layers: Readable[], tags: string[], options: { repoDigests?: string[] } = {}): Promise<StoredImage> {
    this.ensureOpen();
    const id = sha256Digest(configJson);
    const label = tags[0] ?? `image ${shortId(id)}`;
    const parsed = parseImageConfig(configJson, label);
    const known = this.refs.images[id];
    if (known) {
      // Known already: its layers are not read again, only the names are added.
      for (const l of layers) l.destroy();
      return this.createImage(configJson, known.layers, { tags, ...(options.repoDigests ? { repoDigests: options.repoDigests } : {}), manifest: known.manifest });
    }
    if (parsed.diffIds !== null && parsed.diffIds.length !== layers.length) {
      throw new EngineError('invalid', `${label}: the image config lists ${parsed.diffIds.length} layers, but ${layers.length} were given`);
    }
    const held: (() => void)[] = [];
    const records: LayerRecord[] = [];
    try {
      const budget = new SizeBudget(this.limits.maxImageBytes);
      for (const [i, l] of layers.entries()) {
        const layer = await this.addLayer(l, { label: `layer ${i + 1} of ${label}`, budget });
        held.push(this.hold([layer.digest, layer.diffId]));
        const want = parsed.diffIds?.[i];
        if (want !== undefined && want !== layer.diffId) throw new EngineError('invalid', `layer ${i + 1} of ${label}: its content is ${layer.diffId}, but the image config says ${want}`);
        records.push(layer);
      }
      return await this.createImage(configJson, records, { tags, ...(options.repoDigests ? { repoDigests: options.repoDigests } : {}) });
    } catch (e) {
      for (const r of held) r();
      await this.discard(records.map((l) => l.digest), records.map((l) => l.diffId));
      throw e;
    } finally {
      for (const r of held) r();
      for (const l of layers) l.destroy();
    }
  }

  private tagName(ref: string): string {
    const r = parseReference(ref);
    if (r.digest !== undefined) throw new EngineError('invalid', `${ref} is a digest reference; a tag is needed here`);
    return formatReference(r);
  }

  private digestName(ref: string): string {
    const r = parseReference(ref);
    if (r.digest === undefined) throw new EngineError('invalid', `${ref} is not a digest reference (name@sha256:…)`);
    return formatReference({ repository: r.repository, digest: r.digest });
  }

  private commit(items: { id: string; record: ImageRecord; tags: string[]; digests: string[] }[]): Promise<void> {
    return this.serial.run(async () => {
      const next = copyRefs(this.refs);
      for (const s of items) {
        const existing = next.images[s.id];
        next.images[s.id] = existing && existing.manifest !== null && s.record.manifest === null ? existing : s.record;
        for (const t of s.tags) next.tags[t] = s.id;
        for (const d of s.digests) next.digests[d] = s.id;
      }
      await writeRefs(this.dir, next);
      this.refs = next;
    });
  }

  /** Records the manifest an image was pushed as, and the digest reference the registry knows it by. */
  async recordPush(id: string, manifest: string, repoDigest: string): Promise<void> {
    const name = this.digestName(repoDigest);
    await this.serial.run(async () => {
      const image = this.refs.images[id];
      if (!image) throw new EngineError('not-found', `no such image: ${id}`);
      const next = copyRefs(this.refs);
      next.images[id] = { ...image, manifest };
      next.digests[name] = id;
      await writeRefs(this.dir, next);
      this.refs = next;
    });
  }

  /** `image save`: the images `refs` name as a `docker save` archive (./save.ts), streamed. */
  save(refs: string[]): Promise<Readable> {
    this.ensureOpen();
    return imageArchive(this, refs);
  }

  /** What an image is made of, as the index has it. */
  record(id: string): ImageRecord | null {
    return this.refs.images[id] ?? null;
  }

  /** The config bytes of a committed image. */
  config(id: string): Promise<Buffer> {
    return this.blobs.read(id);
  }

  /** The committed image `id`, with its current names. */
  private async image(id: string): Promise<StoredImage> {
    let record = this.records.get(id);
    const entry = this.refs.images[id];
    if (entry === undefined) throw new EngineError('not-found', `no such image: ${id}`);
    if (record === undefined) {
      const config = parseImageConfig(await this.blobs.read(id), id);
      let size = 0;
      for (const l of entry.layers) size += (await this.snapshots.info(l.diffId))?.size ?? 0;
      record = {
        id,
        created: config.created,
        size,
        architecture: config.architecture,
        os: config.os,
        config: config.config,
        layers: entry.layers.length > 0 ? topmostOnce(entry.layers.map((l) => this.snapshots.path(l.diffId))) : [await this.emptyLayer()],
      };
      this.records.set(id, record);
    }
    const names = (map: Record<string, string>): string[] =>
      Object.entries(map)
        .filter(([, v]) => v === id)
        .map(([k]) => k)
        .sort();
    return { ...record, repoTags: names(this.refs.tags), repoDigests: names(this.refs.digests) };
  }

  /** An image without layers still needs one lower dir for its containers' overlay: an empty one. */
  private async emptyLayer(): Promise<string> {
    const dir = join(this.snapshots.dir, 'empty');
    await mkdir(dir, { recursive: true, mode: 0o755 });
    return dir;
  }

  private lookup(reference: string): { id: string; name: string | null } | null {
    const idForm = /^(?:sha256:)?([0-9a-f]{12,64})$/.exec(reference);
    if (!reference.startsWith('sha256:')) {
      let parsed: Reference | null = null;
      try {
        parsed = parseReference(reference);
      } catch (e) {
        if (!idForm) throw e;
      }
      if (parsed !== null) {
        const name = parsed.digest !== undefined ? formatReference({ repository: parsed.repository, digest: parsed.digest }) : formatReference(parsed);
        const id = parsed.digest !== undefined ? this.refs.digests[name] : this.refs.tags[name];
        if (id !== undefined) return { id, name };
      }
    }
    if (!idForm) return null;
    const prefix = `sha256:${idForm[1]}`;
    const matches = Object.keys(this.refs.images).filter((id) => id.startsWith(prefix));
    if (matches.length > 1) throw new EngineError('invalid', `image id prefix ${reference} is ambiguous (${matches.length} images)`);
    const id = matches[0];
    return id === undefined ? null : { id, name: null };
  }

  /**
   * name[:tag] (":latest" by default; docker.io/library/ and docker.io/ normalised away),
   * name@sha256:…, "sha256:<hex>", or an id or id prefix of at least 12 hex digits.
   */
  async resolve(reference: string): Promise<StoredImage | null> {
    this.ensureOpen();
    const found = this.lookup(reference);
    return found ? this.image(found.id) : null;
  }

  /** Every image, newest first. */
  async list(): Promise<StoredImage[]> {
    this.ensureOpen();
    const images = await Promise.all(Object.keys(this.refs.images).map((id) => this.image(id)));
    return images.sort((a, b) => Date.parse(b.created) - Date.parse(a.created) || (a.id < b.id ? -1 : 1));
  }

  /** Gives `target` to the image `source` names; an image that held `target` keeps its other names. */
  async tag(source: string, target: string): Promise<void> {
    this.ensureOpen();
    const name = this.tagName(target);
    await this.serial.run(async () => {
      const found = this.lookup(source);
      if (!found) throw new EngineError('not-found', `no such image: ${source}`);
      const next = copyRefs(this.refs);
      next.tags[name] = found.id;
      await writeRefs(this.dir, next);
      this.refs = next;
    });
  }

  /**
   * docker rmi. By name: the name is removed, and the image too when it was its last name. By id:
   * all the image's names are removed with it; names in more than one repository need force.
   * `inUse` says whether any container, running or stopped, uses the image: its layers are that
   * container's lower dirs until the container is removed, so such an image is never deleted,
   * force or not. Removing its last name needs force and leaves it untagged (Docker does the same
   * for an image of a running container). The blobs and snapshots of a deleted image go with it
   * unless another image has them.
   */
  async remove(reference: string, options: { force: boolean; inUse: (id: string) => boolean }): Promise<{ untagged: string[]; deleted: string[] }> {
    this.ensureOpen();
    const result = await this.serial.run(async () => {
      const found = this.lookup(reference);
      if (!found) throw new EngineError('not-found', `no such image: ${reference}`);
      const { id, name } = found;
      const names = [...Object.keys(this.refs.tags).filter((t) => this.refs.tags[t] === id), ...Object.keys(this.refs.digests).filter((d) => this.refs.digests[d] === id)];
      const used = options.inUse(id);
      const next = copyRefs(this.refs);
      const untagged: string[] = [];
      const untag = (n: string): void => {
        delete next.tags[n];
        delete next.digests[n];
        untagged.push(n);
      };
      if (name !== null) {
        // As Docker does: a tag removed takes the digest references of its repository with it
        // when no other tag of that repository is left (a pulled image's name@digest).
        const going = [name];
        if (!name.includes('@')) {
          const repository = repositoryOf(name);
          const sameRepository = names.filter((n) => n !== name && repositoryOf(n) === repository);
          if (sameRepository.every((n) => n.includes('@'))) going.push(...sameRepository);
        }
        const left = names.length - going.length;
        if (used && left === 0 && !options.force) {
          throw new EngineError('conflict', `unable to remove repository reference "${name}" (must force) - image ${shortId(id)} is used by a container`);
        }
        for (const n of going) untag(n);
        if (left > 0 || used) {
          await writeRefs(this.dir, next);
          this.refs = next;
          return { untagged, deleted: [] as string[] };
        }
      } else {
        if (used) throw new EngineError('conflict', `unable to delete ${shortId(id)} (cannot be forced) - image is used by a container; remove the container first`);
        const repositories = new Set(names.map(repositoryOf));
        if (repositories.size > 1 && !options.force) {
          throw new EngineError('conflict', `unable to delete ${shortId(id)} (must be forced) - image is referenced in multiple repositories`);
        }
        for (const n of names) untag(n);
      }
      delete next.images[id];
      // Out of the index first: a crash from here on leaves garbage prune removes.
      await writeRefs(this.dir, next);
      this.refs = next;
      this.records.delete(id);
      return { untagged, deleted: [id] };
    });
    if (result.deleted.length > 0) await this.collect();
    return result;
  }

  /**
   * docker image prune: removes images without a name (with `all`, every image) that no container
   * uses, then every blob and snapshot no image reaches, and downloads left unfinished.
   */
  async prune(options: { all: boolean; inUse: (id: string) => boolean }): Promise<{ deleted: string[]; untagged: string[]; reclaimed: number }> {
    this.ensureOpen();
    const deleted: string[] = [];
    const untagged: string[] = [];
    await this.serial.run(async () => {
      const next = copyRefs(this.refs);
      // Dangling, as Docker means it: without a tag (a digest reference alone does not count).
      const named = new Set(Object.values(next.tags));
      for (const id of Object.keys(next.images)) {
        if (options.inUse(id) || (!options.all && named.has(id))) continue;
        for (const [n, v] of Object.entries(next.tags)) if (v === id) (delete next.tags[n], untagged.push(n));
        for (const [n, v] of Object.entries(next.digests)) if (v === id) (delete next.digests[n], untagged.push(n));
        delete next.images[id];
        this.records.delete(id);
        deleted.push(id);
      }
      if (deleted.length > 0) {
        await writeRefs(this.dir, next);
        this.refs = next;
      }
    });
    const reclaimed = await this.collect();
    if (this.held.size === 0) await this.blobs.clean(false);
    return { deleted, untagged, reclaimed };
  }

  /** Removes blobs and snapshots no image reaches and nothing holds; resolves to the bytes freed. */
  private collect(): Promise<number> {
    return this.serial.run(async () => {
      const blobs = new Set<string>();
      const diffIds = new Set<string>();
      for (const [id, image] of Object.entries(this.refs.images)) {
        blobs.add(id);
        if (image.manifest) blobs.add(image.manifest);
        for (const l of image.layers) {
          blobs.add(l.digest);
          diffIds.add(l.diffId);
        }
      }
      let freed = 0;
      for (const d of await this.blobs.list()) {
        if (blobs.has(d) || this.held.has(d)) continue;
        freed += (await this.blobs.size(d)) ?? 0;
        await this.blobs.remove(d);
      }
      for (const d of await this.snapshots.list()) {
        if (diffIds.has(d) || this.held.has(d)) continue;
        freed += (await this.snapshots.info(d))?.size ?? 0;
        await this.snapshots.remove(d);
      }
      return freed;
    });
  }
}

/**
 * Lower dirs with a layer that occurs twice kept only at its topmost place (overlayfs refuses a
 * dir twice). Exact: the upper copy has the same files and the same whiteouts as the lower one.
 */
function topmostOnce(layers: string[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (let i = layers.length - 1; i >= 0; i--) {
    const l = layers[i] as string;
    if (seen.has(l)) continue;
    seen.add(l);
    out.unshift(l);
  }
  return out;
}
