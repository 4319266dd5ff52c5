/**
 * Where the embedded engine keeps its state. FLOTILLA_ROOT (default /var/lib/flotilla) holds what
 * survives a reboot; FLOTILLA_RUN (default /run/flotilla) what a reboot makes stale (on this
 * machine /run is on disk, so staleness is detected by boot_id, not by the directory vanishing).
 *
 * Host-global names (bridges, veths, iptables chains, cgroups) carry the instance tag, four hex
 * digits of the root path's hash, so a test daemon with its own root never touches the objects of
 * the machine's main daemon, and two daemons never share a chain.
 */
import { join, resolve } from 'node:path';
import { sha256Hex } from '../util/lazy-crypto.js';

export interface DaemonPaths {
  root: string;
  run: string;
  /** Four hex digits naming this daemon's host-global objects. */
  instance: string;
  images: string;
  volumes: string;
  networks: string;
  containers: string;
  /** runc --root. */
  runcRoot: string;
  /** conmon --exit-dir: one file per exited container, holding its exit code. */
  exits: string;
  /** Per-container runtime files: conmon.pid, pid, persist/ (conmon's exit and oomKilled files). */
  ctr: string;
  /** conmon --socket-dir-path (short symlinks to bundles, for the 108-byte socket path limit). */
  sockets: string;
  /** Network namespaces pinned to files. */
  netns: string;
  socket: string;
  pidFile: string;
  bootId: string;
  log: string;
  /** Absolute cgroup parent of every container: /flotilla (default root) or /flotilla-<instance>. */
  cgroupParent: string;
}

export const DEFAULT_ROOT = '/var/lib/flotilla';
export const DEFAULT_RUN = '/run/flotilla';

export function daemonPaths(env: Readonly<Record<string, string | undefined>> = process.env): DaemonPaths {
  const root = resolve(env['FLOTILLA_ROOT'] || DEFAULT_ROOT);
  const run = resolve(env['FLOTILLA_RUN'] || (root === DEFAULT_ROOT ? DEFAULT_RUN : join(root, 'run')));
  const instance = sha256Hex(root).slice(0, 4);
  return {
    root,
    run,
    instance,
    images: join(root, 'images'),
    volumes: join(root, 'volumes'),
    networks: join(root, 'networks'),
    containers: join(root, 'containers'),
    runcRoot: join(run, 'runc'),
    exits: join(run, 'exits'),
    ctr: join(run, 'ctr'),
    sockets: join(run, 'sock'),
    netns: join(run, 'netns'),
    socket: join(run, 'engine.sock'),
    pidFile: join(run, 'engine.pid'),
    bootId: join(run, 'boot_id'),
    log: join(root, 'daemon.log'),
    cgroupParent: root === DEFAULT_ROOT ? '/flotilla' : `/flotilla-${instance}`,
  };
}

/**
 * Node options `flotilla daemon` is started with: a small young generation and V8's
 * optimize-for-size keep a long-lived, mostly idle daemon's memory low (about 19 MB less with 30
 * containers than Node's defaults, docs/benchmarks.md), and one V8 worker thread instead of four
 * about 4 MB more (fewer threads, fewer malloc arenas; `up` no slower); the CLI's larger young
 * generation is for short bursts of parsing.
 */
export const DAEMON_NODE_OPTIONS: readonly string[] = ['--max-semi-space-size=1', '--optimize-for-size', '--v8-pool-size=1'];
