/**
 * The embedded engine's image store. Each image is one directory, images/<hex>/ (hex = the sha256
 * of its config bytes, which is its id):
 *   rootfs/       every layer applied in order, whiteouts included: the overlay lowerdir, never
 *                 modified once the image is committed
 *   config.json   the exact config bytes
 *   image.json    what is costly to recompute: {size, layers}
 * images/refs.json (./refs.ts) lists the committed images and maps tags and digests to them.
 *
 * Every image is built in a temporary folder under images/ and renamed into place; refs.json is
 * then replaced atomically, and that is the commit. A failed import or load removes its
 * temporaries and leaves the store as it was; a store opened after a crash deletes leftover
 * temporaries and image folders that refs.json does not list. Image folders are 0700: their
 * setuid binaries must not be reachable by the host's other users.
 */
import { isStateTemporary } from '../state/json-file.js';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { ImagesPort } from '../containers/collaborators.js';
import type { DaemonPaths } from '../paths.js';
import { EngineError } from '../../engine/errors.js';
import { readImageArchive } from './archive.js';
import { importedConfig, parseImageConfig } from './config.js';
import { RootfsBuilder, rootfsSize } from './extract.js';
import { formatReference, parseReference, repositoryOf, type Reference } from './reference.js';
import { TEMP_PREFIX, emptyRefs, readRefs, writeRefs, type RefsFile } from './refs.js';
import { DEFAULT_LIMITS, type ImageConfig, type ImageLimits, type ImageStoreOptions, type StoredImage } from './types.js';

export { normaliseReference } from './reference.js';
export type { ImageConfig, ImageLimits, ImageStoreOptions, StoredImage } from './types.js';

type LayerSource = () => AsyncIterable<unknown>;

/** An image built in a temporary folder (dir), or found committed already (dir null). */
interface Staged {
  id: string;
  dir: string | null;
  tags: string[];
  digests: string[];
}

/** What image.json holds. */
interface ImageFacts {
  size: number;
  layers: number;
}

const HEX_ID = /^[0-9a-f]{64}$/;

function shortId(id: string): string {
  return id.slice('sha256:'.length, 'sha256:'.length + 12);
}

function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Runs functions one after another: every change of refs.json is a read-modify-write. */
class Serial {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

function copyRefs(r: RefsFile): RefsFile {
  return { version: 1, images: [...r.images], tags: { ...r.tags }, digests: { ...r.digests } };
}

/** Satisfies ImagesPort (the container manager) and ImageStoreLike (../engine.ts); test/daemon/images/store.test.ts checks both. */
export class ImageStore implements ImagesPort {
  private refs: RefsFile = emptyRefs();
  private opened = false;
  private readonly serial = new Serial();
  /** The immutable part of each image, read once. */
  private readonly records = new Map<string, Omit<StoredImage, 'repoTags' | 'repoDigests'>>();
  private readonly limits: ImageLimits;
  private readonly warn: (message: string) => void;
  private readonly dir: string;

  constructor(paths: DaemonPaths, options: ImageStoreOptions = {}) {
    this.dir = paths.images;
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.warn = options.warn ?? ((m) => process.stderr.write(`warning: ${m}\n`));
  }

  /** Creates the folder, loads the index, and removes what an interrupted operation left. */
  async open(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const refs = await readRefs(this.dir);
    const present = new Set<string>();
    for (const name of await readdir(this.dir)) {
      if (name.startsWith(TEMP_PREFIX) || isStateTemporary(name)) {
        await rm(join(this.dir, name), { recursive: true, force: true });
      } else if (HEX_ID.test(name)) {
        const id = `sha256:${name}`;
        const complete = refs.images.includes(id) && (await stat(join(this.dir, name, 'config.json')).then(() => true, () => false));
        if (complete) present.add(id);
        else await rm(join(this.dir, name), { recursive: true, force: true }); // never committed, or half removed
      }
    }
    const kept: RefsFile = {
      version: 1,
      images: refs.images.filter((id) => present.has(id)),
      tags: Object.fromEntries(Object.entries(refs.tags).filter(([, id]) => present.has(id))),
      digests: Object.fromEntries(Object.entries(refs.digests).filter(([, id]) => present.has(id))),
    };
    if (JSON.stringify(kept) !== JSON.stringify(refs)) await writeRefs(this.dir, kept);
    this.refs = kept;
    this.opened = true;
  }

  private ensureOpen(): void {
    if (!this.opened) throw new Error('ImageStore used before open()');
  }

  private imageDir(id: string): string {
    return join(this.dir, id.slice('sha256:'.length));
  }

  /** A root filesystem tarball (plain or gzip) made into a one-layer image, as `docker import` does. */
  async importRootfs(input: Readable, options: { reference?: string; config?: Partial<ImageConfig> } = {}): Promise<StoredImage> {
    this.ensureOpen();
    const tags = options.reference === undefined ? [] : [this.tagName(options.reference)];
    const label = tags[0] ?? 'the imported root filesystem';
    const dir = await mkdtemp(join(this.dir, TEMP_PREFIX));
    try {
      const { diffIds, size } = await this.extract(dir, label, [() => input], null);
      const config = importedConfig(diffIds[0] ?? '', options.config);
      await this.finish(dir, config, { size, layers: 1 });
      const id = sha256(config);
      await this.commit([{ id, dir, tags, digests: [] }]);
      return this.image(id);
    } catch (e) {
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
  }

  /** A `docker save` archive or an OCI image layout (plain or gzip): every image in it, with its tags. */
  async load(input: Readable): Promise<StoredImage[]> {
    this.ensureOpen();
    const spool = await mkdtemp(join(this.dir, `${TEMP_PREFIX}load-`));
    const staged: Staged[] = [];
    try {
      const images = await readImageArchive(input, spool, this.limits);
      for (const image of images) {
        const sources = image.layers.map((file): LayerSource => () => createReadStream(file, { highWaterMark: 256 * 1024 }));
        staged.push(await this.stage(image.config, sources, image.tags, [], staged));
      }
      await this.commit(staged);
    } catch (e) {
      for (const s of staged) if (s.dir) await rm(s.dir, { recursive: true, force: true });
      throw e;
    } finally {
      await rm(spool, { recursive: true, force: true });
    }
    const ids = [...new Set(staged.map((s) => s.id))];
    return Promise.all(ids.map((id) => this.image(id)));
  }

  /**
   * An image from its config bytes and its layers (uncompressed or gzip tar streams, bottom first):
   * the path load() takes, and registry pulls and builds will. Layers are checked against the
   * config's rootfs.diff_ids. When the image is in the store already its layers are not read.
   */
  async addImage(configJson: Buffer, layers: Readable[], tags: string[], options: { repoDigests?: string[] } = {}): Promise<StoredImage> {
    this.ensureOpen();
    const names = tags.map((t) => this.tagName(t));
    const digests = (options.repoDigests ?? []).map((d) => this.digestName(d));
    let staged: Staged | undefined;
    try {
      staged = await this.stage(configJson, layers.map((l): LayerSource => () => l), names, digests, []);
      await this.commit([staged]);
    } catch (e) {
      if (staged?.dir) await rm(staged.dir, { recursive: true, force: true });
      throw e;
    } finally {
      for (const l of layers) l.destroy();
    }
    return this.image(staged.id);
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

  /** Builds one image into a temporary folder, unless it is committed or staged already. */
  private async stage(config: Buffer, layers: LayerSource[], tags: string[], digests: string[], siblings: Staged[]): Promise<Staged> {
    const id = sha256(config);
    const label = tags[0] ?? `image ${shortId(id)}`;
    const parsed = parseImageConfig(config, label);
    if (parsed.diffIds !== null && parsed.diffIds.length !== layers.length) {
      throw new EngineError('invalid', `${label}: the image config lists ${parsed.diffIds.length} layers, but ${layers.length} were given`);
    }
    if (this.refs.images.includes(id) || siblings.some((s) => s.id === id)) return { id, dir: null, tags, digests };
    const dir = await mkdtemp(join(this.dir, TEMP_PREFIX));
    try {
      const { size } = await this.extract(dir, label, layers, parsed.diffIds);
      await this.finish(dir, config, { size, layers: layers.length });
    } catch (e) {
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
    return { id, dir, tags, digests };
  }

  private async extract(dir: string, label: string, layers: LayerSource[], expected: string[] | null): Promise<{ diffIds: string[]; size: number }> {
    const rootfs = join(dir, 'rootfs');
    await mkdir(rootfs, { mode: 0o755 });
    const builder = new RootfsBuilder(rootfs, label, this.limits, this.warn);
    const diffIds: string[] = [];
    for (const [i, open] of layers.entries()) {
      const diffId = await builder.applyLayer(i + 1, open());
      const want = expected?.[i];
      if (want !== undefined && want !== diffId) {
        throw new EngineError('invalid', `layer ${i + 1} of ${label}: its content is ${diffId}, but the image config says ${want}`);
      }
      diffIds.push(diffId);
    }
    return { diffIds, size: await rootfsSize(rootfs) };
  }

  private async finish(dir: string, config: Buffer, facts: ImageFacts): Promise<void> {
    await writeFile(join(dir, 'config.json'), config, { mode: 0o600 });
    await writeFile(join(dir, 'image.json'), `${JSON.stringify(facts)}\n`, { mode: 0o600 });
  }

  /** Renames staged folders into place and records them and their names in one refs.json write. */
  private commit(staged: Staged[]): Promise<void> {
    return this.serial.run(async () => {
      const next = copyRefs(this.refs);
      const placed: string[] = [];
      try {
        for (const s of staged) {
          if (s.dir !== null) {
            if (next.images.includes(s.id)) {
              await rm(s.dir, { recursive: true, force: true }); // the same image, committed meanwhile
            } else {
              const final = this.imageDir(s.id);
              await rm(final, { recursive: true, force: true }); // an uncommitted leftover, if any
              await rename(s.dir, final);
              placed.push(final);
            }
            s.dir = null;
          }
          if (!next.images.includes(s.id)) next.images.push(s.id);
          for (const t of s.tags) next.tags[t] = s.id;
          for (const d of s.digests) next.digests[d] = s.id;
        }
        await writeRefs(this.dir, next);
      } catch (e) {
        for (const p of placed) await rm(p, { recursive: true, force: true }).catch(() => undefined);
        throw e;
      }
      this.refs = next;
    });
  }

  /** The committed image `id`, with its current names. */
  private async image(id: string): Promise<StoredImage> {
    let record = this.records.get(id);
    if (record === undefined) {
      const dir = this.imageDir(id);
      const config = parseImageConfig(await readFile(join(dir, 'config.json')), id);
      const facts = JSON.parse(await readFile(join(dir, 'image.json'), 'utf8')) as ImageFacts;
      record = { id, created: config.created, size: facts.size, architecture: config.architecture, os: config.os, config: config.config, rootfs: join(dir, 'rootfs') };
      this.records.set(id, record);
    }
    const names = (map: Record<string, string>): string[] =>
      Object.entries(map)
        .filter(([, v]) => v === id)
        .map(([k]) => k)
        .sort();
    return { ...record, repoTags: names(this.refs.tags), repoDigests: names(this.refs.digests) };
  }

  /**
   * The image a reference names, and how: `name` is the tag or digest reference it was found by,
   * null when found by id. Names are tried before id prefixes, as Docker does.
   */
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
    const matches = this.refs.images.filter((id) => id.startsWith(prefix));
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
    const images = await Promise.all(this.refs.images.map((id) => this.image(id)));
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
   * `inUse` says whether any container, running or stopped, uses the image: its rootfs is that
   * container's overlay lowerdir until the container is removed, so such an image is never
   * deleted, force or not. Removing its last name needs force and leaves it untagged (Docker does
   * the same for an image of a running container).
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
        if (used && names.length === 1 && !options.force) {
          throw new EngineError('conflict', `unable to remove repository reference "${name}" (must force) - image ${shortId(id)} is used by a container`);
        }
        untag(name);
        if (names.length > 1 || used) {
          await writeRefs(this.dir, next);
          this.refs = next;
          return { untagged, deleted: [] as string[], dir: null };
        }
      } else {
        if (used) throw new EngineError('conflict', `unable to delete ${shortId(id)} (cannot be forced) - image is used by a container; remove the container first`);
        const repositories = new Set(names.map(repositoryOf));
        if (repositories.size > 1 && !options.force) {
          throw new EngineError('conflict', `unable to delete ${shortId(id)} (must be forced) - image is referenced in multiple repositories`);
        }
        for (const n of names) untag(n);
      }
      next.images = next.images.filter((i) => i !== id);
      // Out of the index first: a crash from here on leaves a folder open() deletes.
      await writeRefs(this.dir, next);
      this.refs = next;
      this.records.delete(id);
      const doomed = join(this.dir, `${TEMP_PREFIX}rm-${id.slice(7)}`);
      await rename(this.imageDir(id), doomed);
      return { untagged, deleted: [id], dir: doomed };
    });
    if (result.dir) await rm(result.dir, { recursive: true, force: true });
    return { untagged: result.untagged, deleted: result.deleted };
  }
}
