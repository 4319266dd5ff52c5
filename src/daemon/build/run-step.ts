/**
 * A RUN instruction carried out: `runc run` in the foreground over the stage's mounted root
 * filesystem, with Docker's default capabilities, seccomp profile and masked paths, its own
 * namespaces, and the default bridge network (or none/host as `--network` says, or a network of
 * the engine by name, whose DNS then finds its containers), so package managers reach their mirrors. `RUN --mount` adds cache directories (kept between builds),
 * read-only binds of the context or another stage, secrets (read-only, mode 0400) and tmpfs.
 * Mount points runc had to create in the root for the engine's own mounts (e.g. /etc/resolv.conf
 * in an image that has none) are removed afterwards, so they never reach the layer; those of
 * RUN --mount stay, as BuildKit 0.8 leaves them. Output is passed on line by line and
 * kept (the tail) for the error of a failing command.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { arch, release } from 'node:os';
import { run } from '../command.js';
import type { ExtraHostSpec } from '../../contract/engine.js';
import { removeTree } from '../state/remove-tree.js';
import { DEFAULT_NETWORK, type NetworkPort } from '../containers/collaborators.js';
import { DEFAULT_CAPABILITIES } from '../runtime/capabilities.js';
import { MASKED_PATHS, READONLY_PATHS, systemMounts, type OciMount } from '../runtime/mounts.js';
import { resolveUser } from '../runtime/process-config.js';
import { readContainerFile, resolveInRoot } from '../runtime/rootfs.js';
import { runcArgv } from '../runtime/runc.js';
import { defaultSeccompProfile } from '../runtime/seccomp.js';

export interface RunMount {
  target: string;
  type: 'bind' | 'tmpfs';
  source?: string;
  readOnly: boolean;
  /** A secret's file mode. */
  mode?: number;
}

export interface RunRequest {
  argv: string[];
  env: string[];
  user: string;
  workdir: string;
  /** 'default': the engine's default bridge; else 'none', 'host' or the name of a network. */
  network: string;
  mounts: RunMount[];
  extraHosts: ExtraHostSpec[];
  /** Bytes of /dev/shm (0: Docker's 64 MiB). */
  shmSize: number;
}

export interface RunEnvironment {
  runcRoot: string;
  cgroupParent: string;
  network: NetworkPort;
  /** A directory for the step's bundle (removed afterwards). */
  scratch: string;
}

export interface RunResult {
  exitCode: number;
  /** The last lines of output. */
  tail: string[];
}

const TAIL_LINES = 20;

/** The step cannot start as asked (the builder reports it at the RUN's line). */
export class RunStepError extends Error {}

/** Paths runc would create for mount points: each target and ancestor missing before the run. */
async function missingPaths(root: string, targets: string[]): Promise<string[]> {
  const missing = new Set<string>();
  for (const t of targets) {
    for (let path = posix.normalize(t); path !== '/'; path = posix.dirname(path)) {
      try {
        await stat(await resolveInRoot(root, path));
        break;
      } catch {
        missing.add(path);
      }
    }
  }
  return [...missing].sort((a, b) => b.length - a.length);
}

/** Removes what runc made for mount points (deepest first), unless the command put something there. */
async function removeStubs(root: string, missing: string[]): Promise<void> {
  for (const path of missing) {
    try {
      const host = await resolveInRoot(root, path);
      const st = await stat(host);
      if (st.isDirectory()) await rmdir(host);
      else if (st.size === 0) await rm(host);
    } catch {
      // not empty, or gone: the command's to keep
    }
  }
}

export async function runStep(rootfs: string, req: RunRequest, env: RunEnvironment, output: (line: string) => void, signal?: AbortSignal): Promise<RunResult> {
  const id = `build-${randomBytes(8).toString('hex')}`;
  const bundle = posix.join(env.scratch, id);
  await mkdir(bundle, { recursive: true, mode: 0o700 });
  const files = { hosts: posix.join(bundle, 'hosts'), resolvConf: posix.join(bundle, 'resolv.conf'), hostname: posix.join(bundle, 'hostname') };
  const hostname = id.slice(0, 12);
  await writeFile(files.hostname, `${hostname}\n`);
  await writeFile(files.hosts, '');
  await writeFile(files.resolvConf, '');
  let sandbox: string | null = null;
  let connected: string | null = null;
  const settings = { hostname, extraHosts: req.extraHosts, dns: [], dnsSearch: [], dnsOptions: [], hostNetwork: req.network === 'host' };
  try {
    if (req.network !== 'none' && req.network !== 'host') {
      const network = req.network === 'default' ? DEFAULT_NETWORK : req.network;
      if (!env.network.get(network)) throw new RunStepError(`network ${network} not found`);
      sandbox = (await env.network.createConnectedSandbox(id, network, { containerName: id, aliases: [] })).sandbox;
      connected = network;
    } else if (req.network === 'none') {
      sandbox = await env.network.createSandbox(id);
    }
    await env.network.writeNameFiles(id, files, settings);

    const passwd = await readContainerFile(rootfs, '/etc/passwd');
    const group = await readContainerFile(rootfs, '/etc/group');
    const user = resolveUser(req.user, { passwd, group });
    const caps = DEFAULT_CAPABILITIES.map((c) => `CAP_${c}`);
    const mounts: OciMount[] = [
      ...systemMounts({ privileged: false, readOnlyRootfs: false, shmSize: req.shmSize || 64 * 1024 * 1024, shm: 'private', files, init: null }, new Set(req.mounts.map((m) => m.target))),
      ...req.mounts.map((m): OciMount =>
        m.type === 'tmpfs'
          ? { destination: m.target, type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777'] }
          : { destination: m.target, type: 'bind', source: m.source!, options: ['rbind', 'rprivate', m.readOnly ? 'ro' : 'rw'] },
      ),
    ];
    // Only the engine's own mount points: BuildKit 0.8 leaves those of RUN --mount in the layer.
    const missing = await missingPaths(rootfs, mounts.filter((m) => !req.mounts.some((u) => u.target === m.destination)).map((m) => m.destination));
    await mkdir(await resolveInRoot(rootfs, req.workdir), { recursive: true, mode: 0o755 });
    const namespaces: { type: string; path?: string }[] = [{ type: 'mount' }, { type: 'pid' }, { type: 'ipc' }, { type: 'uts' }];
    if (sandbox) namespaces.push({ type: 'network', path: sandbox });
    const spec = {
      ociVersion: '1.0.2-dev',
      process: {
        terminal: false,
        user: { uid: user.uid, gid: user.gid, ...(user.additionalGids.length > 0 ? { additionalGids: user.additionalGids } : {}) },
        args: req.argv,
        env: req.env,
        cwd: req.workdir,
        capabilities: { bounding: caps, effective: caps, permitted: caps },
        noNewPrivileges: false,
      },
      root: { path: rootfs, readonly: false },
      hostname,
      mounts,
      linux: {
        namespaces,
        cgroupsPath: `${env.cgroupParent}/${id}`,
        resources: { devices: [{ allow: false, access: 'rwm' }] },
        seccomp: defaultSeccompProfile(new Set(DEFAULT_CAPABILITIES), arch(), release()),
        maskedPaths: [...MASKED_PATHS],
        readonlyPaths: [...READONLY_PATHS],
      },
    };
    await writeFile(posix.join(bundle, 'config.json'), JSON.stringify(spec));
    const tail: string[] = [];
    const exitCode = await new Promise<number>((resolve, reject) => {
      const [cmd, ...args] = runcArgv(env.runcRoot, ['run', '--bundle', bundle, id]);
      const child = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      const onAbort = () => void run(runcArgv(env.runcRoot, ['kill', id, 'KILL']), { allowFailure: true });
      signal?.addEventListener('abort', onAbort, { once: true });
      for (const stream of [child.stdout, child.stderr]) {
        let partial = '';
        stream.on('data', (d: Buffer) => {
          const lines = (partial + d.toString('utf8')).split('\n');
          partial = lines.pop() ?? '';
          for (const l of lines) {
            output(l);
            tail.push(l);
            if (tail.length > TAIL_LINES) tail.shift();
          }
        });
        stream.on('end', () => {
          if (partial !== '') {
            output(partial);
            tail.push(partial);
          }
        });
      }
      child.on('error', reject);
      child.on('close', (code, sig) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(code ?? (sig ? 128 + 9 : -1));
      });
    });
    await run(runcArgv(env.runcRoot, ['delete', '-f', id]), { allowFailure: true });
    await removeStubs(rootfs, missing);
    return { exitCode, tail };
  } finally {
    if (connected) await env.network.disconnect(connected, id).catch(() => undefined);
    if (sandbox || req.network === 'host') await env.network.removeSandbox(id).catch(() => undefined);
    await removeTree(bundle);
  }
}
