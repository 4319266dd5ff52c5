/**
 * Where the embedded engine keeps its state. FLOTILLA_ROOT (default /var/lib/flotilla) holds what
 * survives a reboot; FLOTILLA_RUN (default /run/flotilla) what a reboot makes stale (on this
 * machine /run is on disk, so staleness is detected by boot_id, not by the directory vanishing).
 *
 * Host-global names (bridges, veths, iptables chains, cgroups) carry the instance tag, four hex
 * digits of the root path's hash, so a test daemon with its own root never touches the objects of
 * the machine's main daemon, and two daemons never share a chain.
 */
import { join } from 'node:path';
import { DEFAULT_ROOT, daemonLocation } from '../contract/location.js';
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

export function daemonPaths(env: Readonly<Record<string, string | undefined>> = process.env): DaemonPaths {
  const { root, run, socket, pidFile, log } = daemonLocation(env);
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
    socket,
    pidFile,
    bootId: join(run, 'boot_id'),
    log,
    cgroupParent: root === DEFAULT_ROOT ? '/flotilla' : `/flotilla-${instance}`,
  };
}
