/**
 * Layer snapshots: images/snapshots/<diff id hex>/ holds fs/ (the layer unpacked once, with overlay
 * whiteouts; an overlay lower dir of every container of every image that has the layer) and
 * layer.json ({diffId, size}). A snapshot is unpacked in snapshots/.tmp-* and renamed into place
 * only when complete, so a present snapshot is a whole one; an interrupted unpack leaves a
 * temporary that open() removes.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EngineError } from '../../contract/errors.js';
import { hexOf } from './blobs.js';
import { removeTree } from '../state/remove-tree.js';
import { writeJsonAtomic } from '../state/json-file.js';
import { decompressed } from './tar/decompress.js';
import { LayerUnpacker, type SizeBudget } from './unpack.js';
import type { ImageLimits } from './types.js';

const TEMP = '.tmp-';

export interface SnapshotInfo {
  diffId: string;
  size: number;
  /** Blobs known to unpack to this layer (their content was hashed to diffId). */
  blobs?: string[];
  /** Bytes of the layer's uncompressed tar (absent in snapshots of earlier versions: tarSize() counts them). */
  tarSize?: number;
}

export class SnapshotStore {
  readonly dir: string;
  private readonly infos = new Map<string, SnapshotInfo>();
  /** Unpacks under way, by diff id (or blob digest when the diff id is not known yet). */
  private readonly inflight = new Map<string, Promise<SnapshotInfo>>();

  constructor(imagesDir: string) {
    this.dir = join(imagesDir, 'snapshots');
  }

  /** Creates the folder; returns the temporaries interrupted work left, for the caller to remove. */
  async open(): Promise<string[]> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    return (await readdir(this.dir)).filter((name) => name.startsWith(TEMP)).map((name) => join(this.dir, name));
  }

  /** The lower dir of a layer. */
  path(diffId: string): string {
    return join(this.dir, hexOf(diffId), 'fs');
  }

  async info(diffId: string): Promise<SnapshotInfo | null> {
    const known = this.infos.get(diffId);
    if (known) return known;
    try {
      const info = JSON.parse(await readFile(join(this.dir, hexOf(diffId), 'layer.json'), 'utf8')) as SnapshotInfo;
      this.infos.set(diffId, info);
      return info;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  /**
   * The snapshot of a layer, unpacked from `open()` unless it exists. `expected` is the diff id the
   * image config gives (null when unknown, as for an import); the layer must hash to it. `key`
   * names the unpack for callers racing on the same layer (the blob digest).
   */
  async ensure(key: string, expected: string | null, label: string, source: () => AsyncIterable<unknown>, limits: ImageLimits, budget: SizeBudget, warn: (m: string) => void): Promise<SnapshotInfo> {
    if (expected !== null) {
      const have = await this.info(expected);
      // A blob not seen with this layer before is hashed (not unpacked) to prove it is the layer.
      if (have && (have.blobs ?? []).includes(key)) return have;
      if (have) {
        const diffId = await diffIdOf(source(), limits);
        if (diffId !== expected) throw new EngineError('invalid', `${label}: its content is ${diffId}, but the image config says ${expected}`);
        return this.noteBlob(have, key);
      }
    }
    const id = expected ?? key;
    const running = this.inflight.get(id);
    if (running) return running;
    const work = this.unpack(key, expected, label, source, limits, budget, warn);
    this.inflight.set(id, work);
    try {
      return await work;
    } finally {
      this.inflight.delete(id);
    }
  }

  /**
   * The length of the layer's uncompressed tar; counted from `source` (a blob of the layer, whose
   * content must hash to the diff id) when the snapshot does not record it, and recorded then.
   */
  async tarSize(diffId: string, source: () => AsyncIterable<unknown>, limits: ImageLimits): Promise<number> {
    const info = await this.info(diffId);
    if (info === null) throw new EngineError('not-found', `layer ${diffId} is not in the store`);
    if (info.tarSize !== undefined) return info.tarSize;
    const counted = await contentOf(source(), limits);
    if (counted.diffId !== diffId) throw new EngineError('engine', `layer ${diffId}: its stored blob holds ${counted.diffId}; the store is damaged (pull or load the image again)`);
    const next: SnapshotInfo = { ...info, tarSize: counted.size };
    await writeJsonAtomic(join(this.dir, hexOf(diffId), 'layer.json'), next);
    this.infos.set(diffId, next);
    return counted.size;
  }

  /** Records a blob proven to hold this layer (hashed to its diff id, or made from one that was). */
  async noteBlob(info: SnapshotInfo, blob: string): Promise<SnapshotInfo> {
    const next: SnapshotInfo = { ...info, blobs: [...new Set([...(info.blobs ?? []), blob])] };
    await writeJsonAtomic(join(this.dir, hexOf(info.diffId), 'layer.json'), next);
    this.infos.set(info.diffId, next);
    return next;
  }

  private async unpack(key: string, expected: string | null, label: string, source: () => AsyncIterable<unknown>, limits: ImageLimits, budget: SizeBudget, warn: (m: string) => void): Promise<SnapshotInfo> {
    const tmp = join(this.dir, `${TEMP}${randomBytes(8).toString('hex')}`);
    const fs = join(tmp, 'fs');
    await mkdir(fs, { recursive: true, mode: 0o700 });
    try {
      const { diffId, size, tarSize } = await new LayerUnpacker(fs, label, limits, budget, warn).unpack(source());
      if (expected !== null && diffId !== expected) throw new EngineError('invalid', `${label}: its content is ${diffId}, but the image config says ${expected}`);
      const info: SnapshotInfo = { diffId, size, tarSize, blobs: [key] };
      await writeFile(join(tmp, 'layer.json'), `${JSON.stringify(info)}\n`, { mode: 0o600 });
      const final = join(this.dir, hexOf(diffId));
      const exists = await stat(join(final, 'layer.json')).then(
        () => true,
        () => false,
      );
      if (exists) {
        await removeTree(tmp);
        const have = await this.info(diffId);
        if (have) return this.noteBlob(have, key);
      } else {
        await removeTree(final); // a half-removed one, if any
        await rename(tmp, final);
      }
      this.infos.set(diffId, info);
      return info;
    } catch (e) {
      await removeTree(tmp).catch(() => undefined);
      throw e;
    }
  }

  /** Every complete snapshot's diff id. */
  async list(): Promise<string[]> {
    return (await readdir(this.dir)).filter((n) => /^[0-9a-f]{64}$/.test(n)).map((n) => `sha256:${n}`);
  }

  async remove(diffId: string): Promise<void> {
    this.infos.delete(diffId);
    const dir = join(this.dir, hexOf(diffId));
    const doomed = join(this.dir, `${TEMP}rm-${randomBytes(4).toString('hex')}`);
    // Out of its name first: a crash during the removal leaves a temporary open() removes.
    const moved = await rename(dir, doomed).then(
      () => true,
      () => false,
    );
    if (moved) await removeTree(doomed);
  }
}

/** The sha256 and length of a layer's uncompressed tar, without unpacking it. */
async function contentOf(source: AsyncIterable<unknown>, limits: ImageLimits): Promise<{ diffId: string; size: number }> {
  const hash = createHash('sha256');
  let total = 0;
  for await (const chunk of decompressed(source, { maxRatio: limits.maxCompressionRatio, bombFloor: limits.bombFloorBytes })) {
    total += chunk.length;
    if (total > limits.maxImageBytes) throw new EngineError('invalid', `a layer is larger than the limit of ${limits.maxImageBytes} bytes uncompressed`);
    hash.update(chunk);
  }
  return { diffId: `sha256:${hash.digest('hex')}`, size: total };
}

async function diffIdOf(source: AsyncIterable<unknown>, limits: ImageLimits): Promise<string> {
  return (await contentOf(source, limits)).diffId;
}
