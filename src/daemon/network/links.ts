/**
 * The kernel side of networks, through iproute2 (argv, never a shell): bridges, veth pairs into
 * network namespaces, per-bridge sysctls, and what the host already routes. Failures are
 * EngineErrors carrying the tool's stderr.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { CommandError, run } from '../command.js';
import { EngineError } from '../../contract/errors.js';
import { IpSession } from './ip-session.js';
import { parseCidr, type Cidr } from './ipv4.js';

interface IpLink {
  ifname: string;
  master?: string;
  operstate?: string;
}

interface IpAddr {
  ifname: string;
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

interface IpRoute {
  dst: string;
  dev?: string;
}

export async function ip(args: string[]): Promise<string> {
  try {
    return (await run(['ip', ...args])).stdout;
  } catch (e) {
    throw hostError(e);
  }
}

/** Runs `ip -batch -` (optionally inside a netns file): one process for several commands. */
export async function ipBatch(lines: string[], netns?: string): Promise<void> {
  if (lines.length === 0) return;
  const argv = netns ? ['nsenter', `--net=${netns}`, 'ip', '-batch', '-'] : ['ip', '-batch', '-'];
  try {
    await run(argv, { input: lines.join('\n') + '\n' });
  } catch (e) {
    throw hostError(e);
  }
}

export async function listLinks(): Promise<IpLink[]> {
  return JSON.parse((await ip(['-j', 'link', 'show'])) || '[]') as IpLink[];
}

export async function linkExists(name: string): Promise<boolean> {
  const r = await run(['ip', 'link', 'show', 'dev', name], { allowFailure: true });
  return r.code === 0;
}

/** Deletes a link; a missing one is fine. */
export async function deleteLink(name: string): Promise<void> {
  // A process of its own, not hostIp: deleting a veth waits for the kernel to let go of it, and
  // one ip doing them in turn made `down` of 30 containers slower by a sixth.
  const r = await run(['ip', 'link', 'del', 'dev', name], { allowFailure: true });
  if (r.code !== 0 && (await linkExists(name))) throw hostError(new CommandError(['ip', 'link', 'del', 'dev', name], r.code, r.stderr));
}

/**
 * Resolves once the link is gone, waiting up to `ms` for the kernel to drop it (a veth goes with
 * the network namespace its other end is in, a moment after the namespace's last user); then
 * deletes it. Looking costs a stat of /sys/class/net, not a process.
 */
export async function linkGone(name: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (let pause = 2; ; pause = Math.min(pause * 2, 50)) {
    if (!existsSync(`/sys/class/net/${name}`)) return;
    if (Date.now() >= deadline) return deleteLink(name);
    await sleep(pause);
  }
}

/**
 * Every IPv4 subnet the host routes or has an address in, except on the links `ignore` accepts
 * (our own bridges, which the records describe). Default routes are left out.
 */
export async function hostSubnets(ignore: (dev: string) => boolean): Promise<{ cidr: Cidr; owner: string }[]> {
  const [routesText, addrsText] = await Promise.all([ip(['-j', '-4', 'route', 'show', 'table', 'main']), ip(['-j', '-4', 'addr', 'show'])]);
  const out: { cidr: Cidr; owner: string }[] = [];
  for (const r of JSON.parse(routesText || '[]') as IpRoute[]) {
    if (r.dst === 'default' || (r.dev && ignore(r.dev))) continue;
    const cidr = parseCidr(r.dst.includes('/') ? r.dst : `${r.dst}/32`, false);
    if (cidr) out.push({ cidr: { base: cidr.base, prefix: cidr.prefix }, owner: `route ${r.dst}${r.dev ? ` on ${r.dev}` : ''}` });
  }
  for (const link of JSON.parse(addrsText || '[]') as IpAddr[]) {
    if (ignore(link.ifname)) continue;
    for (const a of link.addr_info ?? []) {
      if (a.family !== 'inet') continue;
      const cidr = parseCidr(`${a.local}/${a.prefixlen}`, false);
      if (cidr) out.push({ cidr, owner: `address ${a.local}/${a.prefixlen} on ${link.ifname}` });
    }
  }
  return out;
}

/**
 * Creates (or completes, after a daemon restart) a bridge with its gateway address, a fixed MAC
 * (so the bridge's address does not change as ports come and go) and the per-bridge sysctl
 * route_localnet (for DNAT from 127.0.0.1; the raw-table rule keeps containers off the host's
 * loopback). Idempotent.
 */
export async function ensureBridge(name: string, gatewayCidr: string, mac: string, routeLocalnet: boolean, exists: boolean, mtu: number | null = null): Promise<void> {
  const lines = exists ? [] : [`link add name ${name} address ${mac} type bridge`];
  if (mtu !== null) lines.push(`link set dev ${name} mtu ${mtu}`);
  lines.push(`addr replace ${gatewayCidr} dev ${name}`, `link set dev ${name} up`);
  await ipBatch(lines);
  await setSysctl(`net/ipv4/conf/${name}/route_localnet`, routeLocalnet ? '1' : '0');
}

export async function setSysctl(key: string, value: string): Promise<void> {
  try {
    await writeFile(`/proc/sys/${key}`, value);
  } catch (e) {
    throw new EngineError('engine', `cannot set ${key.replaceAll('/', '.')}=${value}: ${(e as Error).message}`);
  }
}

export interface VethPlan {
  netns: string;
  iface: string;
  mac: string;
  hostVeth: string;
  bridge: string;
  /** "10.213.4.2/24" */
  address: string;
  /** Gateway for the sandbox's default route, when this endpoint provides it. */
  defaultVia: string | null;
  /** MTU of both ends (the network's com.docker.network.driver.mtu); null: the kernel's default. */
  mtu?: number | null;
}

/**
 * A veth pair: `iface` inside the sandbox (address, up, maybe the default route), its peer
 * `hostVeth` in the daemon's netns as a port of the bridge, with hairpin on (a container can
 * reach its own published port through the host). `inside` runs the sandbox's half (an `ip
 * -batch` in the netns; sandbox.ts's createNetns makes the netns and runs them at once).
 */
export async function addVeth(plan: VethPlan, inside: (lines: string[]) => Promise<void> = (lines) => ipBatch(lines, plan.netns)): Promise<void> {
  try {
    await inside(vethInside(plan));
    await attachPort(plan.hostVeth, plan.bridge);
  } catch (e) {
    // Deleting the host end removes the pair, wherever the batch stopped.
    await deleteLink(plan.hostVeth).catch(() => undefined);
    throw e;
  }
}

/** The sandbox's half of a veth pair, made from inside: the peer goes to the daemon's netns. */
function vethInside(plan: VethPlan): string[] {
  const mtu = plan.mtu ? ` mtu ${plan.mtu}` : '';
  const lines = [
    `link add ${plan.iface} address ${plan.mac}${mtu} type veth peer name ${plan.hostVeth}${mtu} netns ${process.pid}`,
    `addr add ${plan.address} dev ${plan.iface}`,
    `link set dev ${plan.iface} up`,
  ];
  if (plan.defaultVia) lines.push(`route replace default via ${plan.defaultVia} dev ${plan.iface}`);
  return lines;
}

/** The daemon's own `ip -batch` for the host's side of container starts. */
const hostIp = new IpSession();

/** Makes a host veth a port of the bridge, up, hairpin on. Idempotent. */
export async function attachPort(hostVeth: string, bridge: string): Promise<void> {
  await hostIp.run([`link set dev ${hostVeth} master ${bridge} up`, `link set dev ${hostVeth} type bridge_slave hairpin on`]);
}

/** Sets (or replaces) the default route of a sandbox. */
export async function setDefaultRoute(netns: string, gateway: string, iface: string): Promise<void> {
  await ipBatch([`route replace default via ${gateway} dev ${iface}`], netns);
}

export function hostError(e: unknown): EngineError {
  if (e instanceof EngineError) return e;
  if (e instanceof CommandError) {
    // `ip -batch` ends with "Command failed -:N"; the line before it says why.
    const lines = e.stderr.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('Command failed'));
    return new EngineError('engine', `${e.argv.slice(0, 3).join(' ')}: ${lines.join('; ') || e.message}`);
  }
  return new EngineError('engine', (e as Error).message);
}
