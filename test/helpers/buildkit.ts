/**
 * The reference for the embedded builder: dockerd 20.10's BuildKit, driven by Debian's docker CLI
 * (/usr/bin/docker; `DOCKER_BUILDKIT=1 docker build`). Every image it makes is tagged with a
 * name of the test's own and removed when the test ends. A busybox base (scripts/busybox-image)
 * is loaded under such a name too.
 *
 *  - buildkitBuild(t, dir, options): the image's config (`docker image inspect`), or the error text
 *  - buildkitFiles(t, id): the image's flattened filesystem (a created container, exported)
 *  - walkTree(dir): the same record for a directory on disk, to compare with Flotilla's result
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { requireDocker } from './docker.js';
import { fileURLToPath } from 'node:url';

export const DOCKER = '/usr/bin/docker';

// From dist/test/helpers/ (or test/helpers/) up to the repository.
const scriptPath = (name: string) => fileURLToPath(new URL(`../../../scripts/${name}`, import.meta.url));

function docker(args: string[], options: { input?: Buffer; env?: Record<string, string>; cwd?: string } = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(DOCKER, args, {
    input: options.input,
    encoding: 'utf8',
    timeout: 300_000,
    maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, ...options.env },
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error ? String(r.error) : '') };
}

/** False (the test skipped) outside CI when dockerd or Debian's docker CLI is missing. */
export function requireBuildkit(t: TestContext): boolean {
  if (!requireDocker(t)) return false;
  if (!existsSync(DOCKER)) {
    if (process.env['FLOTILLA_CI'] === '1') throw new Error(`${DOCKER} (Debian's docker.io) is required in CI`);
    t.skip(`needs ${DOCKER} (Debian's docker.io, whose CLI builds with BuildKit)`);
    return false;
  }
  return true;
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** Loads busybox (scripts/busybox-image) into dockerd under a tag of the test's own; removed when the test ends. */
export function buildkitBusybox(t: TestContext): string {
  const tag = `${uniqueName('flotilla-bk-busybox')}:latest`;
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-bk-busybox-'));
  try {
    const made = spawnSync('bash', [scriptPath('busybox-image'), join(dir, 'image.tar')], { encoding: 'utf8', env: { ...process.env, TAG: tag } });
    if (made.status !== 0) throw new Error(`scripts/busybox-image: ${made.stderr}`);
    const loaded = docker(['load', '-i', join(dir, 'image.tar')]);
    if (loaded.status !== 0) throw new Error(`docker load: ${loaded.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  t.after(() => {
    docker(['image', 'rm', tag]);
  });
  return tag;
}

export interface BuildkitOptions {
  file?: string;
  args?: Record<string, string>;
  target?: string;
  labels?: Record<string, string>;
}

export type BuildkitResult = { ok: true; id: string; tag: string; inspect: InspectedImage; output: string } | { ok: false; error: string };

export interface InspectedImage {
  Id: string;
  Config: Record<string, unknown>;
  Author?: string;
  Architecture: string;
  Os: string;
  RootFS: { Type: string; Layers?: string[] };
}

export function buildkitBuild(t: TestContext, dir: string, options: BuildkitOptions = {}): BuildkitResult {
  const tag = `${uniqueName('flotilla-bk-build')}:latest`;
  const args = ['build', '--progress=plain', '-t', tag];
  if (options.file) args.push('-f', options.file);
  for (const [k, v] of Object.entries(options.args ?? {})) args.push('--build-arg', `${k}=${v}`);
  for (const [k, v] of Object.entries(options.labels ?? {})) args.push('--label', `${k}=${v}`);
  if (options.target) args.push('--target', options.target);
  args.push(dir);
  const r = docker(args, { env: { DOCKER_BUILDKIT: '1' } });
  if (r.status !== 0) {
    const lines = r.stderr.trim().split('\n');
    return { ok: false, error: lines.filter((l) => /error|failed/i.test(l)).pop() ?? lines.pop() ?? '' };
  }
  t.after(() => {
    docker(['image', 'rm', tag]);
  });
  const inspected = docker(['image', 'inspect', tag]);
  if (inspected.status !== 0) throw new Error(`docker image inspect: ${inspected.stderr}`);
  const [image] = JSON.parse(inspected.stdout) as InspectedImage[];
  return { ok: true, id: image!.Id, tag, inspect: image!, output: r.stderr };
}

export interface FileRecord {
  type: 'file' | 'dir' | 'symlink' | 'other';
  mode: number;
  uid: number;
  gid: number;
  /** sha256 of a file's contents, or a symlink's target. */
  content?: string;
}

/** Path ("/"-separated, relative) → record, for everything under `dir`. */
export function walkTree(dir: string, skip: (path: string) => boolean = () => false): Map<string, FileRecord> {
  const out = new Map<string, FileRecord>();
  const visit = (rel: string) => {
    for (const name of readdirSync(rel === '' ? dir : join(dir, rel)).sort()) {
      const path = rel === '' ? name : `${rel}/${name}`;
      if (skip(path)) continue;
      const full = join(dir, path);
      const st = lstatSync(full);
      const base = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
      if (st.isDirectory()) {
        out.set(path, { type: 'dir', ...base });
        visit(path);
      } else if (st.isSymbolicLink()) {
        out.set(path, { type: 'symlink', ...base, mode: 0o777, content: readlinkSync(full) });
      } else if (st.isFile()) {
        out.set(path, { type: 'file', ...base, content: createHash('sha256').update(readFileSync(full)).digest('hex') });
      } else {
        out.set(path, { type: 'other', ...base });
      }
    }
  };
  visit('');
  return out;
}

/** What a created container adds to an exported filesystem, not part of the image. */
export const CONTAINER_ARTEFACTS = new Set(['.dockerenv', 'etc/hostname', 'etc/hosts', 'etc/resolv.conf', 'etc/mtab', 'dev/console', 'dev/pts', 'dev/shm']);

/** The image's flattened filesystem, as records (container artefacts left out). Needs root to keep owners. */
export function buildkitFiles(id: string): Map<string, FileRecord> {
  const name = uniqueName('flotilla-bk-export');
  const created = docker(['create', '--name', name, id, 'true']);
  if (created.status !== 0) throw new Error(`docker create: ${created.stderr}`);
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-bk-export-'));
  try {
    const exported = spawnSync('sh', ['-c', `"${DOCKER}" export "${name}" | tar -x --numeric-owner --same-owner -p -C "${dir}"`], { encoding: 'utf8' });
    if (exported.status !== 0) throw new Error(`docker export: ${exported.stderr}`);
    return walkTree(dir, (p) => CONTAINER_ARTEFACTS.has(p));
  } finally {
    docker(['rm', '-f', name]);
    rmSync(dir, { recursive: true, force: true });
  }
}
