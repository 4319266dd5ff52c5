/**
 * Helpers for the network manager's tests: a manager on its own temporary root (its own instance
 * tag), purged when the test ends, with a check that nothing of the instance is left; processes
 * run inside sandboxes with nsenter and the host's static busybox; small TCP, UDP and DNS clients.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { TestContext } from 'node:test';
import { run } from '../../../src/daemon/command.js';
import { daemonPaths, type DaemonPaths } from '../../../src/daemon/paths.js';
import { NetworkManager } from '../../../src/daemon/network/manager.js';
import type { NetworkManagerOptions } from '../../../src/daemon/network/types.js';
import type { NetworkSpec } from '../../../src/contract/engine.js';
import { addressResponse, buildQuery, emptyResponse, parseAnswer, parseQuery, RCODE_NXDOMAIN, TYPE_A, type ParsedAnswer } from '../../../src/daemon/network/dns/codec.js';
import { createHash, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

export const NET_TOOLS = ['ip', 'iptables', 'iptables-save', 'iptables-restore', 'nsenter', 'unshare'];
export const BUSYBOX = '/bin/busybox';

export interface Harness {
  paths: DaemonPaths;
  manager: NetworkManager;
  logs: string[];
  /** A temporary directory for the test's own files. */
  dir: string;
  /** Runs `fn` when the test ends, before the purge and the check (latest first). */
  defer(fn: () => unknown): void;
}

export interface Scratch {
  paths: DaemonPaths;
  dir: string;
  defer(fn: () => unknown): void;
}

/**
 * Where test roots live: /tmp/flotilla-net-test/<checkout>/<name>, fixed per checkout (6 hex of
 * this file's path), so a rerun finds what a killed run left, while runs from two clones never
 * share a root (nor, with it, an instance tag).
 */
export const TEST_BASE = join(tmpdir(), 'flotilla-net-test', createHash('sha256').update(fileURLToPath(import.meta.url)).digest('hex').slice(0, 6));

/**
 * The root named `name` (unique per test: the file's name plus a number, hence its own instance
 * tag), cleaned first of anything a killed earlier run left there. When the test ends, even
 * failing or timed out: the deferred functions (latest first), the processes still inside its
 * sandboxes killed, the instance purged, the base removed; then the check that nothing of the
 * instance is left. Every step runs whatever the earlier ones did; the first failure is reported.
 */
export async function scratch(t: TestContext, name: string): Promise<Scratch> {
  const base = join(TEST_BASE, name);
  const paths = daemonPaths({ FLOTILLA_ROOT: join(base, 'root') });
  const dir = join(base, 'files');
  await wipe(paths, base);
  mkdirSync(dir, { recursive: true });
  const deferred: (() => unknown)[] = [];
  t.after(async () => {
    const failures: unknown[] = [];
    for (const fn of deferred.reverse()) {
      try {
        await fn();
      } catch (e) {
        failures.push(e);
      }
    }
    try {
      await wipe(paths, base);
      await assertNothingLeft(paths);
    } catch (e) {
      failures.push(e);
    }
    if (failures.length > 0) throw failures[0];
  });
  return { paths, dir, defer: (fn) => deferred.push(fn) };
}

/** Kills what runs in the instance's sandboxes, purges the instance, removes `base`. */
async function wipe(paths: DaemonPaths, base: string): Promise<void> {
  let failure: unknown = null;
  try {
    await killInside(paths.netns);
  } catch (e) {
    failure = e;
  }
  try {
    await new NetworkManager(paths, () => undefined).purge();
  } catch (e) {
    failure ??= e;
  }
  // Links a test made itself (flx<inst>...), e.g. a fake upstream's address.
  const links = JSON.parse((await run(['ip', '-j', 'link', 'show'])).stdout) as { ifname: string }[];
  for (const l of links) if (l.ifname.startsWith(`flx${paths.instance}`)) await run(['ip', 'link', 'del', 'dev', l.ifname], { allowFailure: true });
  if (failure === null) {
    rmSync(base, { recursive: true, force: true });
    // The per-checkout folder and its parent go too once no test of any run is using them.
    for (const dir of [TEST_BASE, dirname(TEST_BASE)]) {
      try {
        rmdirSync(dir);
      } catch {
        break; // not empty (another test's root is in it) or already gone
      }
    }
  }
  if (failure !== null) throw failure;
}

/** SIGKILLs every process whose network namespace is one of the netns files under `dir`. */
export async function killInside(dir: string): Promise<void> {
  const inodes = new Set<number>();
  for (const file of await readdir(dir).catch(() => [] as string[])) {
    try {
      inodes.add(statSync(join(dir, file)).ino);
    } catch {
      // gone meanwhile
    }
  }
  if (inodes.size === 0) return;
  const victims: number[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    try {
      if (inodes.has(statSync(`/proc/${pid}/ns/net`).ino)) victims.push(Number(pid));
    } catch {
      // exited meanwhile
    }
  }
  for (const pid of victims) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // exited meanwhile
    }
  }
  for (let i = 0; i < 50 && victims.some((pid) => existsSync(`/proc/${pid}`)); i++) await sleep(20);
}

/**
 * A NetworkManager on the scratch root `name`, initialised; purged when the test ends (see
 * scratch()), and the test fails if anything of the instance is left.
 */
export async function harness(t: TestContext, name: string, options: NetworkManagerOptions = {}, root?: Scratch): Promise<Harness> {
  const s = root ?? (await scratch(t, name));
  const logs: string[] = [];
  const manager = new NetworkManager(s.paths, (line) => logs.push(line), options);
  // Sockets (DNS listeners, port reservations) closed before the purge, even if init throws.
  s.defer(() => manager.close());
  await manager.init();
  return { paths: s.paths, manager, logs, dir: s.dir, defer: s.defer };
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

/** Starts `argv` inside the netns file; killed when the test ends (before the purge). */
export function spawnIn(h: Pick<Harness, 'defer'>, netns: string, argv: string[]): ChildProcess {
  const child = spawn('nsenter', [`--net=${netns}`, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  h.defer(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  });
  return child;
}

/** Runs `argv` inside the netns file to the end. */
export async function runIn(netns: string, argv: string[], input?: string, timeout = 15_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return runTool(['nsenter', `--net=${netns}`, ...argv], input, timeout);
}

/**
 * Runs argv to the end, its failure being a result; unlike run() of src/daemon/command.ts, input
 * the process never reads (nc exiting on a refused connection) is no EPIPE crash.
 */
export function runTool(argv: string[], input?: string, timeout = 15_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], timeout, killSignal: 'SIGKILL' });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.stdin?.on('error', () => undefined);
    child.on('error', (e) => resolve({ code: -1, stdout, stderr: e.message }));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin?.end(input);
  });
}

/** Resolves once something listens on `port` inside the netns (read from its /proc/net/{tcp,udp}{,6}). */
export async function waitListening(netns: string, port: number, protocol: 'tcp' | 'udp' = 'tcp'): Promise<void> {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  for (let i = 0; i < 100; i++) {
    // busybox listens on :: (tcp6) when the netns has IPv6, on 0.0.0.0 otherwise.
    const r = await runIn(netns, ['cat', `/proc/net/${protocol}`, `/proc/net/${protocol}6`]);
    const lines = r.stdout.split('\n').filter((l) => !l.trim().startsWith('sl'));
    if (lines.some((l) => l.trim().split(/\s+/)[1]?.endsWith(`:${hex}`) && (protocol === 'udp' || l.trim().split(/\s+/)[3] === '0A'))) return;
    await sleep(50);
  }
  throw new Error(`nothing listens on ${protocol} port ${port} in ${netns}`);
}

/** busybox httpd on port 80 inside the sandbox, serving `body` at /. */
export async function httpServer(h: Harness, netns: string, body: string, port = 80): Promise<void> {
  const www = mkdtempSync(join(h.dir, 'www-'));
  writeFileSync(join(www, 'index.html'), body);
  spawnIn(h, netns, [BUSYBOX, 'httpd', '-f', '-p', String(port), '-h', www]);
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

export function containerId(): string {
  return randomBytes(32).toString('hex');
}

/** A sandbox connected to `network` (a fresh container id). */
export async function attach(h: Harness, network: string, containerName: string, aliases: string[] = [], ipv4Address?: string) {
  const id = containerId();
  const netns = await h.manager.createSandbox(id);
  const endpoint = await h.manager.connect(network, id, netns, { containerName, aliases, ...(ipv4Address ? { ipv4Address } : {}) });
  return { id, netns, endpoint };
}

/** A fake upstream resolver on loopback: `names` answered, NXDOMAIN otherwise; or silent. */
export async function fakeUpstream(h: Pick<Harness, 'defer'>, names: Record<string, string>, silent = false, bind = '127.0.0.1', bindPort = 0): Promise<{ address: string; queries: string[] }> {
  const socket = createSocket('udp4');
  const queries: string[] = [];
  socket.on('message', (msg, rinfo) => {
    const q = parseQuery(msg);
    const name = q.question?.name.toLowerCase() ?? '';
    queries.push(name);
    if (silent) return;
    const ip = names[name];
    socket.send(ip ? addressResponse(msg, q, [ip], 30) : emptyResponse(msg, q, RCODE_NXDOMAIN), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(bindPort, bind, () => resolve());
  });
  h.defer(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  return { address: `${bind}:${socket.address().port}`, queries };
}

/**
 * Runs argv in the sandbox as a container would: in a private mount namespace where the given
 * files are bind-mounted over /etc/hosts and /etc/resolv.conf.
 */
export async function runAsContainer(netns: string, files: { hosts: string; resolvConf: string }, argv: string[], input?: string) {
  const quoted = argv.map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' ');
  const script = `mount --bind '${files.hosts}' /etc/hosts && mount --bind '${files.resolvConf}' /etc/resolv.conf && exec nsenter --net='${netns}' ${quoted}`;
  return runTool(['unshare', '--mount', '--propagation', 'private', BUSYBOX, 'sh', '-c', script], input);
}

/**
 * An address of the test's own on the host (a /32 on a bridge flx<inst>u, removed with the
 * scratch root): somewhere a fake "host resolver" can listen that is not loopback.
 */
export async function hostOnlyAddress(s: Scratch): Promise<string> {
  const link = `flx${s.paths.instance}u`;
  const address = `198.18.${parseInt(s.paths.instance.slice(0, 2), 16)}.${(parseInt(s.paths.instance.slice(2), 16) % 250) + 2}`;
  await run(['ip', 'link', 'add', link, 'type', 'bridge']);
  s.defer(() => run(['ip', 'link', 'del', 'dev', link], { allowFailure: true }));
  await run(['ip', 'addr', 'add', `${address}/32`, 'dev', link]);
  await run(['ip', 'link', 'set', 'dev', link, 'up']);
  return address;
}

/** Collects a child's stdout; `wait(text)` resolves true once it contains `text` (false after timeoutMs). */
export function collect(child: ChildProcess): { text(): string; wait(text: string, timeoutMs?: number): Promise<boolean> } {
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString('utf8')));
  return {
    text: () => out,
    wait: async (text, timeoutMs = 3000) => {
      for (let waited = 0; waited < timeoutMs; waited += 50) {
        if (out.includes(text)) return true;
        await sleep(50);
      }
      return out.includes(text);
    },
  };
}

/** One DNS query over TCP (length-prefixed) from the host; null on timeout or a closed connection. */
export function dnsQueryTcp(server: string, name: string, type = TYPE_A, timeoutMs = 4000): Promise<ParsedAnswer | null> {
  return new Promise((resolve) => {
    const id = Math.floor(Math.random() * 65536);
    const query = buildQuery(id, name, type);
    const socket = connect({ host: server, port: 53 });
    let buf = Buffer.alloc(0);
    const done = (answer: ParsedAnswer | null) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    socket.on('connect', () => socket.write(Buffer.concat([Buffer.from([query.length >> 8, query.length & 0xff]), query])));
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) done(parseAnswer(buf.subarray(2, 2 + buf.readUInt16BE(0))));
    });
    socket.on('error', () => done(null));
    socket.on('close', () => done(null));
  });
}

/** Milliseconds a root test may take; when it is cancelled its cleanup still runs (t.after). */
export const ROOT_TEST_TIMEOUT = 90_000;
