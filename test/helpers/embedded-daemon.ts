/**
 * A real `flotilla daemon` for a test file: its own state root under /tmp (so its own bridges,
 * iptables chains and cgroup parent, named by the root's instance tag), busybox:latest loaded,
 * and everything removed when the file's tests end: containers, networks, volumes, the daemon,
 * then whatever it left on the host (which a test asserts is nothing).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDaemonProcess } from '../../src/daemon/lock.js';
import { DAEMON_NODE_OPTIONS } from '../../src/contract/location.js';
import { daemonPaths, type DaemonPaths } from '../../src/daemon/paths.js';
import { EmbeddedEngine } from '../../src/engine/embedded/client.js';
import { probeSocket } from '../../src/contract/probe.js';
import { FLOTILLA } from './cli.js';
import { removeAnyDepth } from './deep-tree.js';
import { busyboxImageTar } from './embedded-images.js';

export interface TestDaemon {
  env: Record<string, string>;
  paths: DaemonPaths;
  engine: EmbeddedEngine;
  /** The daemon process (null after kill()). */
  process: ChildProcess | null;
  /** Starts the daemon (again) and waits for its socket. */
  start(): Promise<void>;
  /** SIGKILLs the daemon, as a crash would. */
  kill(): Promise<void>;
  /** Removes everything and stops the daemon; returns what was left on the host. */
  destroy(): Promise<string[]>;
}

/**
 * A test daemon for the file that calls this (at its top level): started before the file's tests
 * when running as root (in CI, FLOTILLA_CI=1, always: without root the file fails rather than
 * skips), destroyed after them, and the file fails if the daemon left anything on the host.
 * Returns the daemon, or undefined when none was started.
 */
export function useTestDaemon(options: TestDaemonOptions = {}): () => TestDaemon | undefined {
  let daemon: TestDaemon | undefined;
  if (process.getuid?.() === 0 || process.env['FLOTILLA_CI'] === '1') {
    before(async () => {
      daemon = await startTestDaemon(options);
    });
    after(async () => {
      const left = await daemon?.destroy();
      if (left && left.length > 0) throw new Error(`the embedded engine left on the host: ${left.join('; ')}`);
    });
  }
  return () => daemon;
}

export interface TestDaemonOptions {
  importBusybox?: boolean;
  /** Written as <root>/daemon.json before the daemon starts. */
  daemonJson?: Record<string, unknown>;
}

export async function startTestDaemon(options: TestDaemonOptions = {}): Promise<TestDaemon> {
  const root = mkdtempSync(join(tmpdir(), 'flt-daemon-'));
  if (options.daemonJson) writeFileSync(join(root, 'daemon.json'), JSON.stringify(options.daemonJson));
  const env: Record<string, string> = { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin', FLOTILLA_ROOT: root, HOME: root };
  const paths = daemonPaths(env);
  let engine = new EmbeddedEngine(paths.socket);
  let destroyed = false;
  const daemon: TestDaemon = {
    env,
    paths,
    get engine() {
      return engine;
    },
    process: null,
    async start() {
      const child = spawn(process.execPath, [...DAEMON_NODE_OPTIONS, FLOTILLA, 'daemon'], { env, stdio: 'ignore', cwd: '/' });
      daemon.process = child;
      let exited: string | null = null;
      child.once('exit', (code, signal) => (exited = `${code ?? signal}`));
      const deadline = Date.now() + 90_000;
      while ((await probeSocket(paths.socket, 500)) !== null) {
        if (exited !== null) throw new Error(`flotilla daemon exited (${exited}): ${tail(paths.log)}`);
        if (Date.now() > deadline) throw new Error(`flotilla daemon did not answer in 90 s: ${tail(paths.log)}`);
        await sleep(50);
      }
      engine.close();
      engine = new EmbeddedEngine(paths.socket);
    },
    async kill() {
      const child = daemon.process;
      daemon.process = null;
      if (!child || child.exitCode !== null) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await gone;
    },
    async destroy() {
      destroyed = true;
      let defaultBridge: string | null = null;
      const quietly = (p: Promise<unknown>) => p.catch(() => undefined);
      const orNone = <T>(p: Promise<T[]>) => p.catch((): T[] => []);
      // The daemon may be this harness's child or one a CLI call started: reach it by its socket.
      if ((await probeSocket(paths.socket, 1000)) === null) {
        const all = await orNone(engine.listContainers({ labels: {}, all: true }));
        await Promise.all(all.map((c) => quietly(engine.removeContainer(c.id, { force: true, volumes: true }))));
        for (const n of await orNone(engine.listNetworks({}))) {
          if (n.name === 'bridge') defaultBridge = `flt${paths.instance}${n.id.slice(0, 6)}`;
          else await quietly(engine.removeNetwork(n.id));
        }
        for (const v of await orNone(engine.listVolumes({}))) await quietly(engine.removeVolume(v.name, true));
        const pid = await engine.status().then((st) => st.pid, () => 0);
        await quietly(engine.shutdown());
        const deadline = Date.now() + 15_000;
        while (pid > 0 && isDaemonProcess(pid) && Date.now() < deadline) await sleep(50);
        if (pid > 0 && isDaemonProcess(pid)) process.kill(pid, 'SIGKILL');
      }
      if (daemon.process && daemon.process.exitCode === null) daemon.process.kill('SIGKILL');
      engine.close();
      const left = leftovers(paths, defaultBridge);
      purgeHost(paths);
      const stuck = leftovers(paths, null);
      if (stuck.length > 0) left.push(`not even removable: ${stuck.join('; ')}`);
      removeAnyDepth(root);
      return left;
    },
  };
  // If the test process ends without its `after` hooks (a crash, a promise never settled), the
  // daemon and what it made must not outlive it.
  process.once('exit', () => {
    if (destroyed) return;
    let pid = 0;
    try {
      pid = Number(readFileSync(paths.pidFile, 'utf8').trim());
    } catch {
      // no pid file: no daemon is running
    }
    if (pid > 0 && isDaemonProcess(pid)) process.kill(pid, 'SIGKILL');
    purgeHost(paths);
    removeAnyDepth(root);
  });
  // A daemon that answers too late (a loaded CI machine) must not stay behind as this process's child:
  // the caller gets no handle to destroy it, and its child process kept a CI run's test file alive.
  try {
    await daemon.start();
    if (options.importBusybox !== false) {
      await engine.loadImages(createReadStream(await busyboxImageTar()));
    }
  } catch (e) {
    await daemon.destroy().catch(() => undefined);
    throw e;
  }
  return daemon;
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-3).join(' | ');
  } catch {
    return '(no log)';
  }
}

function sh(command: string): string {
  return spawnSync('sh', ['-c', command], { encoding: 'utf8' }).stdout ?? '';
}

/**
 * What the daemon's instance left on the host after everything was removed and it stopped (with
 * its default bridge named), or anything of it at all (null).
 */
export function leftovers(paths: DaemonPaths, defaultBridge: string | null): string[] {
  const out: string[] = [];
  const tag = paths.instance;
  // The default network's bridge and rules stay while the daemon is stopped; nothing else may.
  const links = sh(`ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | grep -E -- '^fl[tv]${tag}' || true`)
    .trim()
    .split('\n')
    .filter((l) => l !== '' && l !== defaultBridge);
  if (links.length > 0) out.push(`links: ${links.join(' ')}`);
  if (defaultBridge === null) {
    const rules = Number(sh(`iptables-save 2>/dev/null | grep -c 'FLT${tag}' || true`).trim());
    if (rules > 0) out.push(`iptables lines: ${rules}`);
  }
  const mounts = sh(`grep -F '${paths.root}' /proc/self/mountinfo | grep -v '/run/netns' || true`).trim();
  if (mounts) out.push(`mounts: ${mounts.split('\n').length}`);
  const procs = sh(`ps -eo pid,args | grep -F '${paths.root}' | grep -v -e grep -e 'flotilla.js daemon' || true`).trim();
  if (procs) out.push(`processes: ${procs.split('\n').join(' / ')}`);
  const running = sh(`runc --root '${paths.runcRoot}' list -q 2>/dev/null || true`).trim();
  if (running) out.push(`runc containers: ${running.split('\n').join(' ')}`);
  // The stopped daemon removes its cgroup parent (v2: one hierarchy; v1: one per controller).
  const cgroups = sh(`ls -d /sys/fs/cgroup${paths.cgroupParent} /sys/fs/cgroup/*${paths.cgroupParent} 2>/dev/null || true`).trim();
  if (cgroups) out.push(`cgroups: ${cgroups.split('\n').join(' ')}`);
  return out;
}

/** Removes whatever of the instance is still on the host (the default network's bridge and rules). */
export function purgeHost(paths: DaemonPaths): void {
  const tag = paths.instance;
  sh(`for r in $(runc --root '${paths.runcRoot}' list -q 2>/dev/null); do runc --root '${paths.runcRoot}' delete -f $r; done`);
  sh(`pkill -KILL -f 'conmon.*${paths.root}' || true`);
  sh(`grep -F '${paths.root}' /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l`);
  sh(`for l in $(ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | grep -- '${tag}'); do ip link del $l; done`);
  for (const table of ['filter', 'nat', 'mangle', 'raw']) {
    sh(`iptables -t ${table} -S 2>/dev/null | grep -E '^-A .*FLT${tag}' | sed 's/^-A/-D/' | while read r; do eval iptables -t ${table} $r; done`);
    sh(`for c in $(iptables -t ${table} -S 2>/dev/null | awk '/^-N FLT${tag}/ {print $2}'); do iptables -t ${table} -F $c; done`);
    sh(`for c in $(iptables -t ${table} -S 2>/dev/null | awk '/^-N FLT${tag}/ {print $2}'); do iptables -t ${table} -X $c; done`);
  }
  // cgroup v2 has one hierarchy, v1 one per controller: the parent is in each.
  sh(`for d in /sys/fs/cgroup${paths.cgroupParent} /sys/fs/cgroup/*${paths.cgroupParent}; do [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \\; ; done 2>/dev/null || true`);
}
