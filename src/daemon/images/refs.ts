/**
 * images/refs.json: the store's index and its single commit point. It lists every committed image
 * id and maps tags and digest references to ids. An image directory the index does not list is
 * the leftover of an interrupted load or removal, and open() deletes it. The file is replaced
 * atomically (temporary file, fsync, rename).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EngineError } from '../../engine/errors.js';
import { writeJsonAtomic } from '../state/json-file.js';

export const TEMP_PREFIX = '.tmp-';

export interface RefsFile {
  version: 1;
  /** Committed image ids ("sha256:<hex>"). */
  images: string[];
  /** Normalised tag ("busybox:latest") → image id. */
  tags: Record<string, string>;
  /** Normalised digest reference ("busybox@sha256:…") → image id. */
  digests: Record<string, string>;
}

export function emptyRefs(): RefsFile {
  return { version: 1, images: [], tags: {}, digests: {} };
}

function isStringMap(v: unknown): v is Record<string, string> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');
}

export async function readRefs(dir: string): Promise<RefsFile> {
  const file = join(dir, 'refs.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return emptyRefs();
    throw e;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new EngineError('engine', `${file} is not valid JSON (${(e as Error).message}); move it away to start with an empty image index`);
  }
  const d = data as Partial<RefsFile>;
  if (d.version !== 1 || !Array.isArray(d.images) || !d.images.every((x) => typeof x === 'string') || !isStringMap(d.tags) || !isStringMap(d.digests)) {
    throw new EngineError('engine', `${file} is not an image index this version understands`);
  }
  return { version: 1, images: d.images, tags: d.tags, digests: d.digests };
}

export async function writeRefs(dir: string, refs: RefsFile): Promise<void> {
  const sorted: RefsFile = {
    version: 1,
    images: [...refs.images].sort(),
    tags: Object.fromEntries(Object.entries(refs.tags).sort(([a], [b]) => (a < b ? -1 : 1))),
    digests: Object.fromEntries(Object.entries(refs.digests).sort(([a], [b]) => (a < b ? -1 : 1))),
  };
  await writeJsonAtomic(join(dir, 'refs.json'), sorted);
}
