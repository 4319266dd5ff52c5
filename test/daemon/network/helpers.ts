/**
 * Helpers for the network manager's tests: a manager on its own temporary root (its own instance
 * tag), purged when the test ends, with a check that nothing of the instance is left; processes
 * run inside sandboxes with nsenter and the host's static busybox; small TCP, UDP and DNS clients.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { run } from '../../../src/daemon/command.js';
import { daemonPaths, type DaemonPaths } from '../../../src/daemon/paths.js';
import { NetworkManager } from '../../../src/daemon/network/manager.js';
import type { NetworkManagerOptions } from '../../../src/daemon/network/types.js';
import type { NetworkSpec } from '../../../src/engine/engine.js';
import { buildQuery, parseAnswer, TYPE_A, type ParsedAnswer } from '../../../src/daemon/network/dns/codec.js';

export const NET_TOOLS = ['ip', 'iptables', 'iptables-save', 'iptables-restore', 'nsenter', 'unshare'];
export const BUSYBOX = '/bin/busybox';

export interface Harness {
  paths: DaemonPaths;
  manager: NetworkManager;
  logs: string[];
  /** A temporary directory for the test's own files. */
  dir: string;
}

/** A fresh temporary root: its paths and a directory for files, removed at the end. */
export function tempRoot(t: TestContext): { paths: DaemonPaths; dir: string } {
  const base = mkdtempSync(join(tmpdir(), 'flotilla-net-'));
  const paths = daemonPaths({ FLOTILLA_ROOT: join(base, 'root') });
  const dir = join(base, 'files');
  spawnSync('mkdir', ['-p', dir]);
  t.after(() => rmSync(base, { recursive: true, force: true }));
  return { paths, dir };
}

/**
 * A NetworkManager on its own root, initialised. When the test ends (even failing): every process
 * it started is killed, the manager purged, and the test fails if anything of the instance is left.
 */
export async function harness(t: TestContext, options: NetworkManagerOptions = {}, root?: { paths: DaemonPaths; dir: string }): Promise<Harness> {
  const { paths, dir } = root ?? tempRoot(t);
  const logs: string[] = [];
  const manager = new NetworkManager(paths, (line) => logs.push(line), options);
  t.after(async () => {
    await manager.purge();
    await assertNothingLeft(paths);
  });
  await manager.init();
  return { paths, manager, logs, dir };
}

export function spec(name: string, extra: Partial<NetworkSpec> = {}): NetworkSpec {
  return { name, driverOpts: {}, internal: false, enableIpv6: false, attachable: false, labels: {}, ...extra };
}

/** Fails when a link, rule, chain or netns mount of this instance exists. */
export async function assertNothingLeft(paths: DaemonPaths): Promise<void> {
  const links = JSON.parse((await run(['ip', '-j', 'link', 'show'])).stdout) as { ifname: string }[];
  const ours = new RegExp(`^fl[a-z]${paths.instance}`);
  assert.deepEqual(links.map((l) => l.ifname).filter((n) => ours.test(n)), [], 'links of the instance are left');
  for (const table of ['filter', 'nat', 'raw']) {
    const saved = (await run(['iptables-save', '-t', table])).stdout;
    assert.deepEqual(saved.split('\n').filter((l) => l.includes(`FLT${paths.instance}`) || l.includes(`flt${paths.instance}`)), [], `${table} rules of the instance are left`);
  }
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(paths.run) || l.includes(paths.root));
  assert.deepEqual(mounts, [], 'mounts of the instance are left');
}

/** The instance's lines of iptables-save, all tables (for comparing before/after). */
export async function instanceRules(instance: string): Promise<string[]> {
  const out: string[] = [];
  for (const table of ['filter', 'nat', 'raw']) {
    const saved = (await run(['iptables-save', '-t', table])).stdout;
    for (const line of saved.split('\n')) {
      if (line.startsWith('-A ') && (line.includes(`FLT${instance}`) || line.includes(`flt${instance}`))) out.push(`${table} ${line}`);
    }
  }
  return out;
}

/** Starts `argv` inside the netns file; killed when the test ends. */
export function spawnIn(t: TestContext, netns: string, argv: string[]): ChildProcess {
  const child = spawn('nsenter', [`--net=${netns}`, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

/** Runs `argv` inside the netns file to the end. */
export async function runIn(netns: string, argv: string[], input?: string, timeout = 15_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return run(['nsenter', `--net=${netns}`, ...argv], { allowFailure: true, timeout, ...(input === undefined ? {} : { input }) });
}

/** True once something listens on TCP `port` inside the netns (read from its /proc/net/tcp). */
export async function waitListening(netns: string, port: number, protocol: 'tcp' | 'udp' = 'tcp'): Promise<void> {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  for (let i = 0; i < 100; i++) {
    const r = await runIn(netns, ['cat', `/proc/net/${protocol}`]);
    const lines = r.stdout.split('\n').slice(1);
    if (lines.some((l) => l.trim().split(/\s+/)[1]?.endsWith(`:${hex}`) && (protocol === 'udp' || l.trim().split(/\s+/)[3] === '0A'))) return;
    await sleep(50);
  }
  throw new Error(`nothing listens on ${protocol} port ${port} in ${netns}`);
}

/** busybox httpd on port 80 inside the sandbox, serving `body` at /. */
export async function httpServer(t: TestContext, h: Harness, netns: string, body: string, port = 80): Promise<void> {
  const www = mkdtempSync(join(h.dir, 'www-'));
  writeFileSync(join(www, 'index.html'), body);
  spawnIn(t, netns, [BUSYBOX, 'httpd', '-f', '-p', String(port), '-h', www]);
  await waitListening(netns, port);
}

/** GET / through busybox nc from inside a sandbox; the body, or null when it could not connect. */
export async function httpFrom(netns: string, host: string, port: number, waitSeconds = 3): Promise<string | null> {
  const r = await runIn(netns, [BUSYBOX, 'nc', '-w', String(waitSeconds), host, String(port)], 'GET / HTTP/1.0\r\n\r\n', (waitSeconds + 5) * 1000);
  return bodyOf(r.stdout);
}

/** GET / from the host's own network namespace. */
export function httpFromHost(host: string, port: number, timeoutMs = 3000): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(null);
    }, timeoutMs);
    socket.on('connect', () => socket.write('GET / HTTP/1.0\r\n\r\n'));
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', () => {
      clearTimeout(timer);
      resolve(null);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(bodyOf(Buffer.concat(chunks).toString('utf8')));
    });
  });
}

function bodyOf(response: string): string | null {
  if (!response.startsWith('HTTP/')) return null;
  const i = response.indexOf('\r\n\r\n');
  return i < 0 ? '' : response.slice(i + 4);
}

/** One DNS query over UDP from the host; null on timeout. */
export function dnsQuery(server: string, name: string, type = TYPE_A, port = 53, timeoutMs = 4000): Promise<ParsedAnswer | null> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const id = Math.floor(Math.random() * 65536);
    const timer = setTimeout(() => {
      socket.close();
      resolve(null);
    }, timeoutMs);
    socket.on('message', (msg) => {
      const answer = parseAnswer(msg);
      if (answer.id !== id) return;
      clearTimeout(timer);
      socket.close();
      resolve(answer);
    });
    socket.on('error', () => undefined);
    socket.send(buildQuery(id, name, type), port, server);
  });
}

/** The addresses busybox nslookup prints for `name` asked of `server` from inside a sandbox. */
export async function nslookupIn(netns: string, name: string, server: string): Promise<{ addresses: string[]; output: string }> {
  const r = await runIn(netns, [BUSYBOX, 'nslookup', '-type=a', name, server]);
  const output = r.stdout + r.stderr;
  const answers = output.split(/\n\s*\n/).slice(1).join('\n');
  const addresses = [...answers.matchAll(/^Address:\s*([0-9.]+)\s*$/gm)].map((m) => m[1]!);
  return { addresses, output };
}

/** The host's own address on its default-route interface (not one of ours). */
export async function hostAddress(): Promise<string> {
  const routes = JSON.parse((await run(['ip', '-j', '-4', 'route', 'show', 'default'])).stdout) as { dev: string }[];
  const dev = routes[0]?.dev ?? 'lo';
  const addrs = JSON.parse((await run(['ip', '-j', '-4', 'addr', 'show', 'dev', dev])).stdout) as { addr_info: { local: string }[] }[];
  return addrs[0]?.addr_info[0]?.local ?? '127.0.0.1';
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A free TCP (and UDP) port on 0.0.0.0, found by binding port 0. */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '0.0.0.0', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}
