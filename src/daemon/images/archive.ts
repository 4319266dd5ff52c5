/**
 * `docker save` archives and OCI image layouts, as read by load(). The archive is spooled to disk
 * first (a docker-archive writes manifest.json last), each member under a neutral name in a
 * temporary folder of the store, with its sha256; nothing of the archive's own paths, links or
 * modes reaches the file system. Then:
 *  - docker-archive: manifest.json lists each image's config file, layer files and RepoTags;
 *    links between members (docker save links repeated layers) are followed inside the archive;
 *  - OCI layout: index.json → manifests (or nested indexes, of which the linux/<this arch> entry
 *    is taken) → config and layer blobs under blobs/<alg>/<hex>, each checked against its digest;
 *    the name comes from the io.containerd.image.name annotation, or
 *    org.opencontainers.image.ref.name when that is a full reference.
 * When both files exist (docker 25 and later write both), manifest.json is used.
 */
import { createHash } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EngineError } from '../../contract/errors.js';
import { goArch } from './config.js';
import { describeBytes } from './unpack.js';
import { normaliseEntryName, parentOf } from './paths.js';
import { normaliseReference } from '../../contract/image-reference.js';
import { DiskGuard } from './disk.js';
import { decompressed } from './tar/decompress.js';
import { TarFormatError } from './tar/header.js';
import { TarReader } from './tar/reader.js';
import type { ImageLimits } from './types.js';

export interface ArchiveImage {
  config: Buffer;
  /** Spooled layer files, bottom first (plain or compressed tars), with their sha256 (hex). */
  layers: { file: string; sha256: string }[];
  tags: string[];
}

type Member = { file: string; size: number; sha256: string } | { link: string };

const MAX_LINK_HOPS = 16;
const INDEX_TYPES = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);

function invalid(why: string): EngineError {
  return new EngineError('invalid', `image archive: ${why}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class Spool {
  private readonly members = new Map<string, Member>();
  private count = 0;
  private used = 0;

  constructor(
    private readonly dir: string,
    private readonly limits: ImageLimits,
  ) {}

  async read(input: AsyncIterable<unknown>): Promise<void> {
    const disk = new DiskGuard(this.dir, this.limits.minFreeBytes);
    await disk.check();
    const bomb = { maxRatio: this.limits.maxCompressionRatio, bombFloor: this.limits.bombFloorBytes };
    const tar = new TarReader(this.counted(decompressed(input, bomb)), { maxPathBytes: this.limits.maxPathBytes, maxPaxBytes: this.limits.maxPaxBytes });
    try {
      for (let entry = await tar.next(); entry; entry = await tar.next()) {
        const name = normaliseEntryName(entry.path);
        if (name === null || name === '') continue; // never used as a path; such a member simply cannot be referred to
        if (entry.type === 'file') {
          if (entry.sparse) throw invalid(`member ${JSON.stringify(entry.path)} is a sparse file (image archives hold none)`);
          const file = join(this.dir, `m${this.count++}`);
          const hash = createHash('sha256');
          const fh = await open(file, 'wx', 0o600);
          try {
            for await (const chunk of tar.body()) {
              hash.update(chunk);
              let done = 0;
              while (done < chunk.length) done += (await fh.write(chunk, done, chunk.length - done)).bytesWritten;
              await disk.wrote(chunk.length);
            }
          } finally {
            await fh.close();
          }
          this.members.set(name, { file, size: entry.size, sha256: hash.digest('hex') });
        } else if (entry.type === 'symlink' || entry.type === 'hardlink') {
          const base = entry.type === 'symlink' && !entry.linkPath.startsWith('/') ? `${parentOf(name)}/` : '';
          const target = normaliseEntryName(base + entry.linkPath);
          if (target !== null) this.members.set(name, { link: target });
        }
      }
      await tar.drain();
    } catch (e) {
      if (e instanceof TarFormatError) throw invalid(e.message);
      throw e;
    }
  }

  private async *counted(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of source) {
      this.used += chunk.length;
      if (this.used > this.limits.maxImageBytes) throw new TarFormatError(`larger than the limit of ${describeBytes(this.limits.maxImageBytes)} uncompressed`);
      yield chunk;
    }
  }

  has(name: string): boolean {
    return this.members.has(name);
  }

  /** The member a name refers to, links followed. */
  file(name: string, what: string): { file: string; size: number; sha256: string } {
    let at = normaliseEntryName(name);
    for (let hop = 0; at !== null && hop <= MAX_LINK_HOPS; hop++) {
      const m = this.members.get(at);
      if (m === undefined) break;
      if ('file' in m) return m;
      at = m.link;
    }
    throw invalid(`${what} ${JSON.stringify(name)} is not in the archive`);
  }

  async json(name: string, what: string): Promise<unknown> {
    const bytes = await this.bytes(name, what);
    try {
      return JSON.parse(bytes.toString('utf8'));
    } catch (e) {
      throw invalid(`${what} ${JSON.stringify(name)} is not valid JSON (${(e as Error).message})`);
    }
  }

  async bytes(name: string, what: string): Promise<Buffer> {
    const m = this.file(name, what);
    if (m.size > this.limits.maxJsonBytes) throw invalid(`${what} ${JSON.stringify(name)} is larger than ${describeBytes(this.limits.maxJsonBytes)}`);
    return readFile(m.file);
  }
}

/** Reads an archive into `spoolDir` (an empty folder the caller removes) and lists its images. */
export async function readImageArchive(input: AsyncIterable<unknown>, spoolDir: string, limits: ImageLimits): Promise<ArchiveImage[]> {
  const spool = new Spool(spoolDir, limits);
  await spool.read(input);
  if (spool.has('manifest.json')) return dockerArchive(spool);
  if (spool.has('index.json')) return ociLayout(spool);
  throw invalid('neither manifest.json nor index.json found: not a docker save archive or an OCI image layout');
}

function tagsOf(list: unknown, where: string): string[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list) || !list.every((t) => typeof t === 'string')) throw invalid(`${where} is not a list of names`);
  return list.map((t) => normaliseReference(t));
}

async function dockerArchive(spool: Spool): Promise<ArchiveImage[]> {
  const manifest = await spool.json('manifest.json', 'manifest');
  if (!Array.isArray(manifest)) throw invalid('manifest.json is not a list');
  const out: ArchiveImage[] = [];
  for (const [i, m] of manifest.entries()) {
    if (!isObject(m) || typeof m['Config'] !== 'string' || !Array.isArray(m['Layers']) || !m['Layers'].every((l) => typeof l === 'string')) {
      throw invalid(`manifest.json entry ${i + 1} lacks Config or Layers`);
    }
    out.push({
      config: await spool.bytes(m['Config'], 'image config'),
      layers: (m['Layers'] as string[]).map((l) => spool.file(l, 'layer')),
      tags: tagsOf(m['RepoTags'], `RepoTags of manifest.json entry ${i + 1}`),
    });
  }
  return out;
}

interface Descriptor {
  mediaType: string;
  digest: string;
  annotations: Record<string, unknown>;
  platform: Record<string, unknown> | null;
}

function descriptor(v: unknown, where: string): Descriptor {
  if (!isObject(v) || typeof v['digest'] !== 'string') throw invalid(`${where} is not a descriptor with a digest`);
  return {
    mediaType: typeof v['mediaType'] === 'string' ? v['mediaType'] : '',
    digest: v['digest'],
    annotations: isObject(v['annotations']) ? v['annotations'] : {},
    platform: isObject(v['platform']) ? v['platform'] : null,
  };
}

/** The blob a descriptor names, checked against its digest. */
function blob(spool: Spool, d: Descriptor): string {
  const m = /^sha256:([0-9a-f]{64})$/.exec(d.digest);
  if (!m) throw invalid(`unsupported digest ${JSON.stringify(d.digest)} (only sha256)`);
  const name = `blobs/sha256/${m[1]}`;
  const member = spool.file(name, 'blob');
  if (member.sha256 !== m[1]) throw invalid(`blob ${name} does not match its digest`);
  return name;
}

function ociName(annotations: Record<string, unknown>): string[] {
  const full = annotations['io.containerd.image.name'];
  if (typeof full === 'string') return [normaliseReference(full)];
  const ref = annotations['org.opencontainers.image.ref.name'];
  // A bare tag ("latest") names no repository: such an image is loaded untagged.
  if (typeof ref === 'string' && /[/:]/.test(ref)) return [normaliseReference(ref)];
  return [];
}

async function ociLayout(spool: Spool): Promise<ArchiveImage[]> {
  const index = await spool.json('index.json', 'index');
  if (!isObject(index) || !Array.isArray(index['manifests'])) throw invalid('index.json has no manifests list');
  const out: ArchiveImage[] = [];
  for (const [i, raw] of index['manifests'].entries()) {
    const d = descriptor(raw, `index.json manifest ${i + 1}`);
    out.push(await ociImage(spool, d, ociName(d.annotations), 0));
  }
  return out;
}

async function ociImage(spool: Spool, d: Descriptor, tags: string[], depth: number): Promise<ArchiveImage> {
  if (depth > 4) throw invalid('image indexes nest too deeply');
  const name = blob(spool, d);
  const doc = await spool.json(name, 'manifest');
  if (!isObject(doc)) throw invalid(`${name} is not a JSON object`);
  if (INDEX_TYPES.has(d.mediaType) || Array.isArray(doc['manifests'])) {
    const entries = Array.isArray(doc['manifests']) ? doc['manifests'].map((m, i) => descriptor(m, `${name} manifest ${i + 1}`)) : [];
    const arch = goArch();
    const mine = entries.find((e) => e.platform === null || (e.platform['os'] === 'linux' && e.platform['architecture'] === arch));
    if (!mine) throw invalid(`${tags[0] ?? name} has no linux/${arch} image`);
    return ociImage(spool, mine, tags, depth + 1);
  }
  if (!isObject(doc['config']) || !Array.isArray(doc['layers'])) throw invalid(`${name} is not an image manifest`);
  const layers = doc['layers'].map((l, i) => descriptor(l, `${name} layer ${i + 1}`));
  return {
    config: await spool.bytes(blob(spool, descriptor(doc['config'], `${name} config`)), 'image config'),
    layers: layers.map((l) => spool.file(blob(spool, l), 'layer')),
    tags,
  };
}
