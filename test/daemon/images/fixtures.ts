/**
 * What the image store's tests share: a store in a temporary folder next to an "outside" folder
 * holding a secret (what a hostile archive would reach for), snapshots of folder trees, and
 * builders of docker-archive and OCI-layout archives from layer tarballs.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { TestContext } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { daemonPaths, type DaemonPaths } from '../../../src/daemon/paths.js';
import { ImageStore, type ImageStoreOptions } from '../../../src/daemon/images/store.js';
import { EngineError, type EngineErrorKind } from '../../../src/contract/errors.js';
import { tar, type Item } from './tarball.js';

export interface Sandbox {
  base: string;
  paths: DaemonPaths;
  store: ImageStore;
  /** A folder beside the store with a file "secret": hostile archives aim at it. */
  outside: string;
  warnings: string[];
  /** A new store object on the same folder (as after a daemon restart), opened. */
  reopen(): Promise<ImageStore>;
}

export async function sandbox(t: TestContext, options: ImageStoreOptions = {}): Promise<Sandbox> {
  const base = mkdtempSync(join(tmpdir(), 'flotilla-images-'));
  // rm -rf walks by directory descriptors: a tree deeper than PATH_MAX goes too.
  t.after(() => {
    unmountViews();
    spawnSync('rm', ['-rf', base]);
  });
  const outside = join(base, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret'), 'secret\n');
  const paths = daemonPaths({ FLOTILLA_ROOT: join(base, 'root') });
  const warnings: string[] = [];
  const make = async (): Promise<ImageStore> => {
    const s = new ImageStore(paths, { warn: (m) => warnings.push(m), ...options });
    await s.open();
    return s;
  };
  return { base, paths, store: await make(), outside, warnings, reopen: make };
}

/** One line per path under `dir`: type, mode, size or link target. Sorted. */
export function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(p);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) out.push(`${r} -> ${readlinkSync(p)}`);
      else if (st.isDirectory()) {
        out.push(`${r}/ ${mode}`);
        walk(p, r);
      } else out.push(`${r} ${mode} ${st.size}`);
    }
  };
  walk(dir, '');
  return out;
}

/** The outside folder holds exactly its secret, untouched, and the base nothing but store and outside. */
export function assertNothingOutside(sb: Sandbox): void {
  assert.deepEqual(readdirSync(sb.outside), ['secret']);
  assert.equal(readFileSync(join(sb.outside, 'secret'), 'utf8'), 'secret\n');
  assert.deepEqual(readdirSync(sb.base).sort(), ['outside', 'root']);
}

/** The store holds no image, blob, snapshot or temporary. */
export function assertStoreEmpty(sb: Pick<Sandbox, 'paths'>): void {
  const images = sb.paths.images;
  const left = [
    ...readdirSync(images).filter((n) => !['index.json', 'blobs', 'ingest', 'snapshots'].includes(n)),
    ...readdirSync(join(images, 'blobs', 'sha256')).map((n) => `blobs/sha256/${n}`),
    ...readdirSync(join(images, 'ingest')).map((n) => `ingest/${n}`),
    ...readdirSync(join(images, 'snapshots')).filter((n) => n !== 'empty').map((n) => `snapshots/${n}`),
  ];
  assert.deepEqual(left, [], `left in the store: ${left.join(', ')}`);
  if (existsSync(join(images, 'index.json'))) {
    const index = JSON.parse(readFileSync(join(images, 'index.json'), 'utf8')) as { images: Record<string, unknown> };
    assert.deepEqual(Object.keys(index.images), []);
  }
}

const views = new Map<string, string>();
const emptyDirs: string[] = [];

/**
 * What a container of `image` sees: its layers mounted as a read-only overlay (whiteouts hiding
 * what they hide), on a folder outside the sandbox; unmounted when the test file's sandboxes go.
 */
export function rootfsOf(image: { id: string; layers: string[] }): string {
  const key = image.layers.join(':');
  const known = views.get(key);
  if (known) return known;
  const target = mkdtempSync(join(tmpdir(), 'flotilla-view-'));
  const lowers = [...image.layers].reverse();
  if (lowers.length === 1) {
    // overlayfs wants two lower dirs when there is no upper one: an empty one below.
    const empty = mkdtempSync(join(tmpdir(), 'flotilla-view-empty-'));
    emptyDirs.push(empty);
    lowers.push(empty);
  }
  const r = spawnSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lowers.join(':')}`, target]);
  assert.equal(r.status, 0, r.stderr?.toString());
  views.set(key, target);
  return target;
}

/** Unmounts the views rootfsOf made. */
export function unmountViews(): void {
  for (const [key, target] of views) {
    spawnSync('umount', [target]);
    spawnSync('rmdir', [target]);
    views.delete(key);
  }
  for (const d of emptyDirs.splice(0)) spawnSync('rmdir', [d]);
}

export function stream(bytes: Buffer, chunk = 64 * 1024): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunk) parts.push(bytes.subarray(i, i + chunk));
  return Readable.from(parts);
}

export async function rejectsWith(promise: Promise<unknown>, kind: EngineErrorKind, message: RegExp): Promise<EngineError> {
  let caught: unknown;
  try {
    await promise;
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof EngineError, `expected an EngineError, got ${caught instanceof Error ? caught.stack : String(caught)}`);
  assert.equal(caught.kind, kind, caught.message);
  assert.match(caught.message, message);
  assert.ok(!caught.message.includes('\n'), 'one line');
  return caught;
}

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** The uncompressed sha256 of a layer, gzip or not. */
export function diffId(layer: Buffer): string {
  return `sha256:${sha256(layer[0] === 0x1f && layer[1] === 0x8b ? gunzipSync(layer) : layer)}`;
}

export interface TestImage {
  layers: Buffer[];
  tags?: string[];
  /** The image config's "config" object. */
  config?: Record<string, unknown>;
  /** Overrides the computed rootfs.diff_ids. */
  diffIds?: string[];
  created?: string;
}

export function configBytes(image: TestImage): Buffer {
  return Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      created: image.created ?? '2024-01-02T03:04:05Z',
      config: image.config ?? { Env: ['PATH=/bin'], Cmd: ['sh'] },
      rootfs: { type: 'layers', diff_ids: image.diffIds ?? image.layers.map(diffId) },
      history: image.layers.map(() => ({ created_by: 'test' })),
    }),
  );
}

/**
 * A docker-archive (what `docker save` writes): <layer>/layer.tar for each layer, <config hex>.json,
 * then manifest.json. A layer used twice is stored once and linked, as docker save does.
 */
export function dockerArchive(images: TestImage[]): Buffer {
  const items: Item[] = [];
  const written = new Map<string, string>();
  const manifest = images.map((image) => {
    const config = configBytes(image);
    const layers = image.layers.map((layer) => {
      const key = sha256(layer);
      const known = written.get(key);
      if (known) return known;
      const name = `${key}/layer.tar`;
      items.push({ name: `${key}/`, type: '5' }, { name: `${key}/VERSION`, data: '1.0' }, { name, data: layer });
      written.set(key, name);
      return name;
    });
    items.push({ name: `${sha256(config)}.json`, data: config });
    return { Config: `${sha256(config)}.json`, RepoTags: image.tags ?? null, Layers: layers };
  });
  items.push({ name: 'manifest.json', data: JSON.stringify(manifest) });
  return tar(items);
}

/** The same layer stored under two names, the second a symlink: docker save's way of sharing. */
export function linkedLayerArchive(image: TestImage): Buffer {
  const config = configBytes(image);
  const [layer] = image.layers;
  if (!layer || image.layers.length !== 2 || !image.layers[1]?.equals(layer)) throw new Error('needs two identical layers');
  const items: Item[] = [
    { name: 'aaa/', type: '5' },
    { name: 'aaa/layer.tar', data: layer },
    { name: 'bbb/', type: '5' },
    { name: 'bbb/layer.tar', type: '2', linkname: '../aaa/layer.tar' },
    { name: 'cfg.json', data: config },
    { name: 'manifest.json', data: JSON.stringify([{ Config: 'cfg.json', RepoTags: image.tags ?? null, Layers: ['aaa/layer.tar', 'bbb/layer.tar'] }]) },
  ];
  return tar(items);
}

/** An OCI image layout; `nested` puts each manifest behind an image index with two platforms. */
export function ociLayout(images: TestImage[], options: { nested?: boolean; annotation?: 'containerd' | 'ref' } = {}): Buffer {
  const blobs = new Map<string, Buffer>();
  const put = (b: Buffer): string => {
    const d = `sha256:${sha256(b)}`;
    blobs.set(d, b);
    return d;
  };
  const descriptors = images.map((image) => {
    const config = configBytes(image);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: put(config), size: config.length },
        layers: image.layers.map((l) => ({
          mediaType: l[0] === 0x1f ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.oci.image.layer.v1.tar',
          digest: put(l),
          size: l.length,
        })),
      }),
    );
    let top = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: put(manifest), size: manifest.length };
    if (options.nested) {
      const other = put(Buffer.from('{"schemaVersion":2,"config":{"digest":"sha256:0"},"layers":[]}'));
      const index = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.index.v1+json',
          manifests: [
            { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: other, size: 10, platform: { os: 'linux', architecture: 'mips64' } },
            { ...top, platform: { os: 'linux', architecture: 'amd64' } },
          ],
        }),
      );
      top = { mediaType: 'application/vnd.oci.image.index.v1+json', digest: put(index), size: index.length };
    }
    const tag = image.tags?.[0];
    const annotations: Record<string, string> = {};
    if (tag && options.annotation !== 'ref') annotations['io.containerd.image.name'] = tag;
    if (tag && options.annotation === 'ref') annotations['org.opencontainers.image.ref.name'] = tag;
    return { ...top, annotations };
  });
  const items: Item[] = [{ name: 'oci-layout', data: '{"imageLayoutVersion":"1.0.0"}' }, { name: 'blobs/', type: '5' }, { name: 'blobs/sha256/', type: '5' }];
  for (const [d, b] of blobs) items.push({ name: `blobs/sha256/${d.slice(7)}`, data: b });
  items.push({ name: 'index.json', data: JSON.stringify({ schemaVersion: 2, manifests: descriptors }) });
  return tar(items);
}
