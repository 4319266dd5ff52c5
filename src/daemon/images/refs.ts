/**
 * images/index.json: the store's index and its single commit point. It lists every committed
 * image (its id is the digest of its config blob) with its layers, and maps tags and digest
 * references to image ids. Blobs and snapshots the index does not reach are garbage for
 * `image prune` (or leftovers of an interrupted pull, which a re-run uses). The file is replaced
 * atomically (temporary file, fsync, rename).
 */
import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { EngineError } from '../../contract/errors.js';
import { writeJsonAtomic } from '../state/json-file.js';

export const TEMP_PREFIX = '.tmp-';

export interface LayerRecord {
  /** The blob as stored (and pushed): compressed or not. */
  digest: string;
  mediaType: string;
  /** Bytes of the blob. */
  size: number;
  /** sha256 of the uncompressed tar: the config's rootfs.diff_ids entry, and the snapshot's name. */
  diffId: string;
}

export interface ImageRecord {
  /** The manifest blob the image was pulled with or last pushed as; null for a loaded or imported image. */
  manifest: string | null;
  layers: LayerRecord[];
}

export interface RefsFile {
  version: 2;
  /** Image id ("sha256:<hex>", its config's digest) → what it is made of. */
  images: Record<string, ImageRecord>;
  /** Normalised tag ("busybox:latest") → image id. */
  tags: Record<string, string>;
  /** Normalised digest reference ("busybox@sha256:…") → image id. */
  digests: Record<string, string>;
}

export function emptyRefs(): RefsFile {
  return { version: 2, images: {}, tags: {}, digests: {} };
}

export function copyRefs(r: RefsFile): RefsFile {
  return { version: 2, images: { ...r.images }, tags: { ...r.tags }, digests: { ...r.digests } };
}

function isStringMap(v: unknown): v is Record<string, string> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');
}

function isLayer(v: unknown): v is LayerRecord {
  const l = v as LayerRecord;
  return typeof l === 'object' && l !== null && typeof l.digest === 'string' && typeof l.mediaType === 'string' && typeof l.size === 'number' && typeof l.diffId === 'string';
}

function isImage(v: unknown): v is ImageRecord {
  const i = v as ImageRecord;
  return typeof i === 'object' && i !== null && (i.manifest === null || typeof i.manifest === 'string') && Array.isArray(i.layers) && i.layers.every(isLayer);
}

/**
 * The index; an empty one when there is none. An index of the first store format (images/refs.json,
 * flattened images) is set aside as refs.v1.json with a warning: its images must be loaded again.
 */
export async function readRefs(dir: string, warn: (m: string) => void): Promise<RefsFile> {
  const file = join(dir, 'index.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    const old = join(dir, 'refs.json');
    const moved = await rename(old, join(dir, 'refs.v1.json')).then(
      () => true,
      () => false,
    );
    if (moved) warn(`${old}: images stored by an earlier version of Flotilla are not used by this one; load or pull them again (the old folders in ${dir} can be removed once no container uses them)`);
    return emptyRefs();
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new EngineError('engine', `${file} is not valid JSON (${(e as Error).message}); move it away to start with an empty image index`);
  }
  const d = data as Partial<RefsFile>;
  if (d.version !== 2 || typeof d.images !== 'object' || d.images === null || !Object.values(d.images).every(isImage) || !isStringMap(d.tags) || !isStringMap(d.digests)) {
    throw new EngineError('engine', `${file} is not an image index this version understands`);
  }
  return { version: 2, images: d.images, tags: d.tags, digests: d.digests };
}

export async function writeRefs(dir: string, refs: RefsFile): Promise<void> {
  const sorted = (m: Record<string, unknown>) => Object.fromEntries(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : 1)));
  await writeJsonAtomic(join(dir, 'index.json'), { version: 2, images: sorted(refs.images), tags: sorted(refs.tags), digests: sorted(refs.digests) });
}
