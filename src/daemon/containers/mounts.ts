/**
 * Turns a spec's mounts, tmpfs, volumes_from and the image's VOLUMEs into host mounts,
 * creating named volumes on first use and anonymous ones for what nothing else covers, as Docker
 * does. A new, empty volume is filled with what the image has at the mount point (copy-up).
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { chmod, chown, mkdir, writeFile } from 'node:fs/promises';
import { isAbsolute, join, posix } from 'node:path';
import type { ContainerSpec } from '../../contract/engine.js';
import { EngineError } from '../../contract/errors.js';
import { run } from '../command.js';
import { unmountSoon } from '../unmount.js';
import type { VolumeStore } from '../volumes/store.js';
import type { HostMount, ImageView } from './collaborators.js';
import type { ContainerRecord, ResolvedMount } from './record.js';

export interface MountContext {
  volumes: VolumeStore;
  image: ImageView;
  /** Another container by id or name (volumes_from). */
  container(ref: string): ContainerRecord | null;
}

export async function resolveMounts(spec: ContainerSpec, ctx: MountContext): Promise<ResolvedMount[]> {
  const out: ResolvedMount[] = [];
  const byTarget = new Set<string>();
  const add = (m: ResolvedMount): void => {
    const target = posix.normalize(m.target);
    if (byTarget.has(target)) throw new EngineError('invalid', `Duplicate mount point: ${target}`);
    byTarget.add(target);
    out.push({ ...m, target });
  };

  for (const m of spec.mounts) {
    if (!isAbsolute(m.target)) throw new EngineError('invalid', `invalid mount config for type "${m.type}": invalid mount path: '${m.target}' mount path must be absolute`);
    if (m.type === 'tmpfs') {
      add({ type: 'tmpfs', source: '', target: m.target, readOnly: m.readOnly, tmpfsOptions: tmpfsSizeOption(m.tmpfsSize) });
    } else if (m.type === 'bind') {
      const source = m.source ?? '';
      if (!isAbsolute(source)) throw new EngineError('invalid', `invalid mount config for type "bind": invalid mount path: '${source}' mount path must be absolute`);
      // A `-v` bind makes its missing host directory, as Docker does; a `--mount` bind requires it.
      if (!existsSync(source)) {
        if (!m.createHostPath) throw new EngineError('invalid', `invalid mount config for type "bind": bind source path does not exist: ${source}`);
        mkdirSync(source, { recursive: true, mode: 0o755 });
      }
      add({ type: 'bind', source, target: m.target, readOnly: m.readOnly, ...(m.bindPropagation ? { propagation: m.bindPropagation } : {}) });
    } else {
      add(await volumeMount(m.source ?? '', m.target, m.readOnly, m.volumeNoCopy === true, ctx));
    }
  }
  for (const t of spec.tmpfs) add({ type: 'tmpfs', source: '', target: t.target, readOnly: false, tmpfsOptions: t.options });
  for (const from of spec.volumesFrom) {
    const other = ctx.container(from.container);
    if (!other) throw new EngineError('not-found', `No such container: ${from.container}`);
    for (const m of other.mounts) {
      if (m.type === 'tmpfs' || byTarget.has(posix.normalize(m.target))) continue;
      const { anonymous: _inherited, ...shared } = m;
      add({ ...shared, readOnly: from.mode === 'ro' ? true : from.mode === 'rw' ? false : m.readOnly });
    }
  }
  for (const target of Object.keys(ctx.image.config.Volumes ?? {})) {
    if (!byTarget.has(posix.normalize(target))) add(await volumeMount('', target, false, false, ctx));
  }
  return out;
}

async function volumeMount(name: string, target: string, readOnly: boolean, noCopy: boolean, ctx: MountContext): Promise<ResolvedMount> {
  const anonymous = name === '';
  const info = await ctx.volumes.create({ name, driverOpts: {}, labels: {} }, anonymous);
  return { type: 'volume', name: info.name, source: info.mountpoint, target, readOnly, ...(anonymous ? { anonymous } : {}), ...(noCopy ? { noCopy } : {}) };
}

function tmpfsSizeOption(size: number | undefined): string[] {
  return size ? [`size=${Math.floor(size / 1024)}k`] : [];
}

/**
 * The spec's files (Compose secrets and configs from `content` or `environment`), written under
 * the container's own folder (removed with it) and bound at their targets: what Docker's copy into
 * the container's layer gives, a file of that mode and owner the container may change. Files
 * `inMemory` (swarm secrets and configs) go to a tmpfs mounted there instead, bound read-only as
 * swarm binds them; unmountSecrets unmounts it.
 */
export async function specFileMounts(spec: ContainerSpec, containerDir: string, taken: readonly ResolvedMount[]): Promise<ResolvedMount[]> {
  const files = spec.files ?? [];
  if (files.length === 0) return [];
  const dir = join(containerDir, 'files');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const memory = secretsDir(containerDir);
  if (files.some((f) => f.inMemory)) {
    await mkdir(memory, { recursive: true, mode: 0o700 });
    await run(['mount', '-t', 'tmpfs', '-o', 'mode=0700,nodev,nosuid,noexec', 'tmpfs', memory]);
  }
  const targets = new Set(taken.map((m) => m.target));
  const out: ResolvedMount[] = [];
  for (const [i, f] of files.entries()) {
    const target = posix.normalize(f.target);
    if (!isAbsolute(target)) throw new EngineError('invalid', `invalid file target: '${f.target}' must be absolute`);
    if (targets.has(target)) throw new EngineError('invalid', `Duplicate mount point: ${target}`);
    targets.add(target);
    const source = join(f.inMemory ? memory : dir, String(i));
    await writeFile(source, Buffer.from(f.contentBase64, 'base64'), { mode: f.mode & 0o7777 });
    await chown(source, f.uid ?? 0, f.gid ?? 0);
    await chmod(source, f.mode & 0o7777);
    out.push({ type: 'bind', source, target, readOnly: f.inMemory === true });
  }
  return out;
}

function secretsDir(containerDir: string): string {
  return join(containerDir, 'secrets');
}

/** The spec without the content of its in-memory files: what is saved to disk. */
export function withoutSecrets(spec: ContainerSpec): ContainerSpec {
  if (!spec.files?.some((f) => f.inMemory)) return spec;
  return { ...spec, files: spec.files.map((f) => (f.inMemory ? { ...f, contentBase64: '' } : f)) };
}

/** Unmounts the tmpfs of a container's in-memory files, if it has one mounted. */
export async function unmountSecrets(containerDir: string): Promise<void> {
  const memory = secretsDir(containerDir);
  try {
    if (statSync(memory).dev === statSync(containerDir).dev) return;
  } catch {
    return;
  }
  await unmountSoon(memory);
}

/** The mounts as the runtime takes them. */
export function hostMounts(mounts: ResolvedMount[]): HostMount[] {
  return mounts.map((m) =>
    m.type === 'tmpfs'
      ? { type: 'tmpfs', target: m.target, options: m.readOnly ? ['ro', ...(m.tmpfsOptions ?? [])] : (m.tmpfsOptions ?? []) }
      : { type: 'bind', source: m.source, target: m.target, readOnly: m.readOnly, ...(m.propagation ? { propagation: m.propagation } : {}) },
  );
}

/** Copies what the image has at each empty volume's mount point into the volume (Docker's copy-up). */
export async function copyUpVolumes(mounts: ResolvedMount[], imageRootfs: string): Promise<void> {
  for (const m of mounts) {
    if (m.type !== 'volume' || m.noCopy || readdirSync(m.source).length > 0) continue;
    const from = resolveInRoot(imageRootfs, m.target);
    if (from === null || !lstatSync(from).isDirectory() || readdirSync(from).length === 0) continue;
    await run(['cp', '-a', '--', `${from}/.`, m.source]);
  }
}

/**
 * `path` inside the root filesystem `root`, following symlinks the way the container would see
 * them (an absolute link restarts at `root`, `..` stops at `root`), so nothing outside the root
 * is ever read. Null when the path does not exist.
 */
export function resolveInRoot(root: string, path: string): string | null {
  const pending = path.split('/').filter((p) => p !== '' && p !== '.');
  const done: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === '..') {
      done.pop();
      continue;
    }
    const host = join(root, ...done, part);
    let stat;
    try {
      stat = lstatSync(host);
    } catch {
      return null;
    }
    if (stat.isSymbolicLink()) {
      if (++links > 40) return null;
      const target = readlinkSync(host);
      if (target.startsWith('/')) done.length = 0;
      pending.unshift(...target.split('/').filter((p) => p !== '' && p !== '.'));
      continue;
    }
    done.push(part);
  }
  return join(root, ...done);
}
