/**
 * The host side of the manager's records at daemon start and at purge: bridges, veths, netns
 * files and chains made to match the records (init), or removed altogether (purge). Kernel
 * objects outlive the daemon, so a start finds some of them still there (a daemon restart), none
 * (a reboot), or some the records no longer describe (a crash half-way); each case ends with
 * exactly what the records say, nothing doubled.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { DaemonPaths } from '../paths.js';
import { ensureJump, purgeChains, rebuildChains } from './iptables.js';
import { macFor, parseIpv4 } from './ipv4.js';
import { attachPort, deleteLink, ensureBridge, linkExists, listLinks, setSysctl } from './links.js';
import type { HostNames } from './names.js';
import { bridgeOptions } from './options.js';
import type { PortTarget, RuleBook } from './rules.js';
import { nsfsMounts, removeNetns } from './sandbox.js';
import type { NetworkStore } from './store.js';
import type { NetworkRecord, SandboxRecord } from './types.js';

/** The manager's records and how to name and save them. */
export interface HostState {
  paths: DaemonPaths;
  names: HostNames;
  rules: RuleBook;
  store: NetworkStore;
  networks: Map<string, NetworkRecord>;
  sandboxes: Map<string, SandboxRecord>;
  log: (line: string) => void;
}

/** "10.213.4.1/24": the bridge's address. */
export function gatewayCidr(n: NetworkRecord): string {
  return `${n.gateway}/${n.subnet.split('/')[1]}`;
}

/** Creates (or completes) a network's bridge. */
export function bridgeUp(n: NetworkRecord, exists: boolean): Promise<void> {
  return ensureBridge(n.bridge, gatewayCidr(n), macFor(parseIpv4(n.gateway) ?? 0), !n.internal, exists, bridgeOptions(n.name, n.options).mtu);
}

export async function ensureIpForward(log: (line: string) => void): Promise<void> {
  const value = (await readFile('/proc/sys/net/ipv4/ip_forward', 'utf8').catch(() => '1')).trim();
  if (value === '0') {
    await setSysctl('net/ipv4/ip_forward', '1');
    log('host change: set net.ipv4.ip_forward=1 (containers need it to reach beyond their bridge)');
  }
}

/**
 * Sandboxes whose namespace is no longer mounted (a reboot, or removed behind our back) are
 * forgotten, and namespace files no record names (a crash between mount and save) are removed;
 * their veths die with them and restoreLinks() releases the endpoints.
 */
export async function dropStaleSandboxes(s: HostState): Promise<void> {
  const mounted = new Set(await nsfsMounts(s.paths.netns));
  for (const sandbox of [...s.sandboxes.values()]) {
    if (sandbox.path === null || mounted.has(sandbox.path)) continue;
    s.log(`container ${sandbox.containerId.slice(0, 12)}: its network namespace ${sandbox.path} is gone; forgetting it`);
    await removeNetns(sandbox.path);
    s.sandboxes.delete(sandbox.containerId);
    await s.store.removeSandbox(sandbox.containerId);
  }
  const known = new Set([...s.sandboxes.values()].map((x) => x.path));
  for (const file of await readdir(s.paths.netns).catch(() => [] as string[])) {
    const path = join(s.paths.netns, file);
    if (known.has(path)) continue;
    s.log(`removing ${path}: no sandbox record owns it`);
    await removeNetns(path);
  }
}

/** Makes the veth a port of the bridge again; false when the veth no longer exists. */
async function reattach(hostVeth: string, bridge: string): Promise<boolean> {
  try {
    await attachPort(hostVeth, bridge);
    return true;
  } catch (e) {
    if (await linkExists(hostVeth)) throw e;
    return false;
  }
}

/** Bridges back (or completed), endpoint veths re-attached, stale endpoints and orphan links dropped. */
export async function restoreLinks(s: HostState): Promise<void> {
  const present = new Set((await listLinks()).map((l) => l.ifname));
  const wanted = new Set<string>();
  for (const n of s.networks.values()) {
    wanted.add(n.bridge);
    await bridgeUp(n, present.has(n.bridge));
    let changed = false;
    for (const e of Object.values(n.endpoints)) {
      // A namespace unmounted just before is torn down by the kernel a moment later, its veth
      // with it: a veth listed above may be gone by the time it is attached.
      if (!present.has(e.hostVeth) || !(await reattach(e.hostVeth, n.bridge))) {
        s.log(`network ${n.name}: endpoint of container ${e.containerName} is gone (its namespace no longer exists); released ${e.ip}`);
        delete n.endpoints[e.containerId];
        changed = true;
        continue;
      }
      wanted.add(e.hostVeth);
    }
    if (changed) await s.store.saveNetwork(n);
  }
  for (const name of present) {
    if (s.names.owns(name) && !wanted.has(name)) {
      s.log(`removing ${name}: no network record owns it`);
      await deleteLink(name);
    }
  }
}

/** Every published port of the networks, as rule targets. */
export function allPortTargets(networks: readonly NetworkRecord[]): PortTarget[] {
  return networks.flatMap((n) =>
    Object.values(n.endpoints).flatMap((e) => (e.published ?? []).map((port) => ({ port, containerIp: e.ip, bridge: n.bridge }))),
  );
}

/** Our chains set to exactly what the records say (atomically), then the jumps to them. */
export async function restoreRules(s: HostState): Promise<void> {
  const networks = [...s.networks.values()].sort((a, b) => a.created.localeCompare(b.created));
  await rebuildChains(s.rules.allChains(networks, allPortTargets(networks)));
  for (const jump of s.rules.jumps()) await ensureJump(jump);
}

/**
 * Removes every kernel object of the instance, found by name (so also what no record describes):
 * veths, then bridges, then netns mounts and files, then chains and the jumps to them. Each
 * removal goes through `step`, which records a failure and lets the rest go on.
 */
export async function purgeHost(s: Pick<HostState, 'paths' | 'names'>, step: (what: () => Promise<unknown>) => Promise<void>): Promise<void> {
  await step(async () => {
    const links = (await listLinks()).map((l) => l.ifname).filter((name) => s.names.owns(name));
    // Veths first (their bridges may hold them), then bridges; per-bridge sysctls go with them.
    for (const name of links.filter((l) => l.startsWith(s.names.vethPrefix))) await step(() => deleteLink(name));
    for (const name of links.filter((l) => l.startsWith(s.names.bridgePrefix))) await step(() => deleteLink(name));
  });
  await step(async () => {
    for (const mount of await nsfsMounts(s.paths.netns)) await step(() => removeNetns(mount));
    for (const file of await readdir(s.paths.netns).catch(() => [] as string[])) await step(() => removeNetns(join(s.paths.netns, file)));
  });
  await step(() => purgeChains(`FLT${s.paths.instance}-`));
}
