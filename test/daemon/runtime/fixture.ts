/**
 * Test fixtures for the runtime: a busybox image rootfs made from the host's static busybox, a
 * temporary daemon root (its own runc root, exit dir and cgroup parent), bundle requests with
 * Docker's defaults, and a cleanup that leaves nothing: every container killed, deleted and
 * destroyed, the cgroup parent removed, the temporary root unmounted and deleted.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, rmdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { ContainerSpec } from '../../../src/contract/engine.js';
import { bareSpec } from '../../helpers/container-spec.js';
import { daemonPaths, type DaemonPaths } from '../../../src/daemon/paths.js';
import { Runtime } from '../../../src/daemon/runtime/runtime.js';
import type { BundleRequest, ExecSession } from '../../../src/daemon/runtime/types.js';
import { ContainerManager } from '../../../src/daemon/containers/manager.js';
import type { ImagesPort, ImageView, NetworkPort, RuntimePort } from '../../../src/daemon/containers/collaborators.js';
import { EventBus } from '../../../src/daemon/events.js';
import { VolumeStore } from '../../../src/daemon/volumes/store.js';
import { waitFor as pollFor } from '../../helpers/wait.js';

export const RUNTIME_TOOLS = ['runc', 'conmon', 'tini-static', 'script', 'stty', 'ps', 'mount', 'unshare'];

export function containerSpec(overrides: Partial<ContainerSpec> = {}): ContainerSpec {
  return bareSpec('test', { image: 'busybox', networkMode: { kind: 'host' }, ...overrides });
}

/** A busybox root filesystem: the static binary, a link per applet, users root, nobody and app. */
export function makeBusyboxRootfs(dir: string): void {
  for (const d of ['bin', 'sbin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'root', 'var/run', 'home/app']) mkdirSync(join(dir, d), { recursive: true });
  copyFileSync('/bin/busybox', join(dir, 'bin/busybox'));
  spawnSync('chmod', ['755', join(dir, 'bin/busybox')]);
  const applets = spawnSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).stdout.split('\n').filter((a) => a && a !== 'busybox');
  for (const a of applets) symlinkSync('/bin/busybox', join(dir, 'bin', a));
  writeFileSync(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  writeFileSync(join(dir, 'etc/group'), 'root:x:0:\napp:x:1000:\nstaff:x:50:app\nnogroup:x:65534:\n');
  spawnSync('chmod', ['1777', join(dir, 'tmp')]);
}

let sharedImage: string | null = null;

export interface TestEnv {
  dir: string;
  paths: DaemonPaths;
  runtime: Runtime;
  image: string;
  logLines: string[];
  /** Ids created in this environment (cleaned up at the end). */
  ids: string[];
}

export function newId(): string {
  return randomBytes(32).toString('hex');
}

/** A temporary daemon root and a Runtime on it; everything removed when the test ends. */
export function testEnv(t: TestContext): TestEnv {
  const dir = mkdtempSync(join(tmpdir(), 'flt-rt-'));
  const paths = daemonPaths({ FLOTILLA_ROOT: dir });
  const logLines: string[] = [];
  const runtime = new Runtime(paths, (line) => logLines.push(line));
  if (!sharedImage || !existsSync(sharedImage)) {
    sharedImage = join(mkdtempSync(join(tmpdir(), 'flt-rt-image-')), 'rootfs');
    makeBusyboxRootfs(sharedImage);
    process.once('exit', () => rmSync(join(sharedImage as string, '..'), { recursive: true, force: true }));
  }
  const env: TestEnv = { dir, paths, runtime, image: sharedImage, logLines, ids: [] };
  t.after(() => cleanup(env));
  return env;
}

export function request(env: TestEnv, overrides: Partial<ContainerSpec> = {}, extra: Partial<BundleRequest> = {}): BundleRequest {
  const id = newId();
  env.ids.push(id);
  const files = join(env.dir, 'files', id);
  mkdirSync(files, { recursive: true });
  writeFileSync(join(files, 'hosts'), '127.0.0.1\tlocalhost\n');
  writeFileSync(join(files, 'resolv.conf'), 'nameserver 127.0.0.1\n');
  writeFileSync(join(files, 'hostname'), `${id.slice(0, 12)}\n`);
  return {
    id,
    spec: containerSpec(overrides),
    image: { layers: [env.image], config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] } },
    network: 'host',
    mounts: [],
    files: { hosts: join(files, 'hosts'), resolvConf: join(files, 'resolv.conf'), hostname: join(files, 'hostname') },
    cgroupsPath: `${env.paths.cgroupParent}/${id}`,
    log: { path: join(env.paths.containers, id, 'ctr.log') },
    ...extra,
  };
}

/** prepare + start. */
export async function startContainer(env: TestEnv, req: BundleRequest): Promise<number> {
  await env.runtime.prepare(req);
  return (await env.runtime.start(req.id)).pid;
}

/** The shared poll, at the runtime tests' pace (10 s, every 20 ms). */
export function waitFor<T>(what: string, probe: () => T | null | undefined | false | Promise<T | null | undefined | false>, timeoutMs = 10_000): Promise<T> {
  return pollFor(what, probe, timeoutMs, 20);
}

export function logText(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}

/**
 * The content of the log's records, line by line in the order lines were completed (a partial
 * record is joined to the next record of its own stream: the other stream may come in between).
 */
export function logContent(path: string): string {
  const open: Record<string, string> = {};
  let out = '';
  for (const l of logText(path).split('\n').filter(Boolean)) {
    const [, stream = '', tag, ...rest] = l.split(' ');
    open[stream] = (open[stream] ?? '') + rest.join(' ');
    if (tag === 'P') continue;
    out += `${open[stream]}\n`;
    open[stream] = '';
  }
  return out + Object.values(open).join('');
}

export interface Collected {
  stdout: string;
  stderr: string;
  code: number;
}

export async function collect(session: ExecSession): Promise<Collected> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  session.stdout.on('data', (d: Buffer) => out.push(d));
  session.stderr?.on('data', (d: Buffer) => err.push(d));
  const ended = (s: NodeJS.ReadableStream | null) => (s ? new Promise<void>((r) => s.once('end', () => r())) : Promise.resolve());
  const [code] = await Promise.all([session.exit, ended(session.stdout), ended(session.stderr)]);
  return { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), code };
}

/** Mount points under `dir` (none must be left). */
export function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m.startsWith(`${dir}/`) || m === dir);
}

export function cgroupDirsUnder(parent: string): string[] {
  const out: string[] = [];
  for (const h of readdirSync('/sys/fs/cgroup')) {
    const p = join('/sys/fs/cgroup', h, parent);
    if (existsSync(p)) out.push(p);
  }
  return out;
}

/** Processes whose command line mentions `needle` (conmon and runc carry the container id). */
export function processesMentioning(needle: string): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(needle) && Number(pid) !== process.pid) out.push(`${pid}: ${cmd}`);
    } catch {
      // gone
    }
  }
  return out;
}

async function cleanup(env: TestEnv): Promise<void> {
  const problems: string[] = [];
  for (const id of env.ids) {
    await env.runtime.resume(id).catch(() => undefined);
    await env.runtime.kill(id, 'KILL').catch(() => undefined);
    try {
      await waitFor(`${id} to stop`, async () => {
        const entries = await env.runtime.list().catch(() => []);
        const e = entries.find((x) => x.id === id);
        return !e || e.status === 'stopped' || e.status === 'created';
      }, 5000);
    } catch {
      // destroy forces it
    }
    try {
      await env.runtime.destroy(id);
    } catch (e) {
      problems.push(`${id}: ${(e as Error).message}`);
    }
  }
  for (const dir of mountsUnder(env.dir)) spawnSync('umount', ['-l', dir]);
  for (const dir of cgroupDirsUnder(env.paths.cgroupParent)) {
    for (const child of readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory())) {
      try {
        rmdirSync(join(dir, child.name));
      } catch {
        // still in use: the tests that check it report it
      }
    }
    try {
      rmdirSync(dir);
    } catch {
      // likewise
    }
  }
  rmSync(env.dir, { recursive: true, force: true });
  assert.deepEqual(problems, [], 'cleanup failed');
}

function images(rootfs: string): ImagesPort {
  const image: ImageView = {
    id: 'sha256:' + 'b'.repeat(64),
    repoTags: ['busybox:latest'],
    repoDigests: [],
    created: new Date(0).toISOString(),
    size: 0,
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] },
    layers: [rootfs],
  };
  return { resolve: async (ref) => (ref === 'busybox' || ref === image.id ? image : null) };
}

/**
 * Host networking needs no network manager: there are no networks (adoption lists them to release
 * stale endpoints), and any other call is a mistake.
 */
const noNetwork = new Proxy({}, {
  get: (_target, name) =>
    name === 'list'
      ? () => []
      : () => {
          throw new Error(`network.${String(name)} called with host networking`);
        },
}) as NetworkPort;

/** A container manager on the environment's runtime (or `runtime`, a wrapper of it), host networking only. */
export function newManager(env: TestEnv, runtime: RuntimePort = env.runtime): ContainerManager {
  return new ContainerManager({
    paths: env.paths,
    images: images(env.image),
    network: noNetwork,
    runtime,
    volumes: new VolumeStore(env.paths),
    events: new EventBus(),
    log: (line) => env.logLines.push(line),
  });
}
