/**
 * What the end-to-end tests share: a project of their own (a unique name, a folder, and everything
 * it made on dockerd removed when the test ends, even when it fails), the built CLI and
 * docker-compose run against it, the docker CLI to look at the results, background processes
 * (attached `up`, `logs -f`, `events`) whose output can be waited for, and polling.
 *
 * FLOTILLA_E2E_ENGINE=embedded runs the same tests on the embedded engine: a test daemon of the
 * file's own (test/helpers/embedded-daemon.ts), looked at through embedded-query.ts instead of
 * the docker CLI; tests about dockerd itself call dockerOnly(t) and are skipped there.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { FLOTILLA, type CliResult } from '../helpers/cli.js';
import { requireDocker } from '../helpers/docker.js';
import { useTestDaemon } from '../helpers/embedded-daemon.js';
import { requireRoot } from '../helpers/root.js';
import { ensureBusybox } from '../helpers/images.js';
import { projectDir } from '../helpers/tmp.js';

export const LABEL_PROJECT = 'com.docker.compose.project';

/** A service command that runs until stopped and exits 0 on SIGTERM. */
export const SERVE = `["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"]`;

/** A failure as users must see it: exit status 1, the message, no stack trace, no internal error. */
export function assertCleanFailure(r: CliResult, pattern: RegExp): void {
  assert.equal(r.status, 1, `exit status 1 expected\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assert.match(r.stderr, pattern);
  assert.ok(!/\n\s+at /.test(r.stderr), `no stack trace:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /internal error|this is a bug/);
}

/** The engine these tests run on: dockerd (with docker-compose to compare), or the embedded one. */
export const E2E_ENGINE: 'docker' | 'embedded' = process.env['FLOTILLA_E2E_ENGINE'] === 'embedded' ? 'embedded' : 'docker';
const testDaemon = E2E_ENGINE === 'embedded' ? useTestDaemon() : () => undefined;

const QUERY = fileURLToPath(new URL('./embedded-query.js', import.meta.url));

/** Asks the test daemon (see embedded-query.ts). */
function query<T>(op: string, ...args: string[]): T {
  const daemon = testDaemon();
  if (!daemon) throw new Error('no embedded test daemon');
  const r = spawnSync(process.execPath, [QUERY, daemon.paths.socket, op, ...args], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`embedded query ${op} ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** False (the test skipped) on the embedded engine, for tests about dockerd itself. */
export function dockerOnly(t: TestContext, why: string): boolean {
  if (E2E_ENGINE === 'docker') return true;
  t.skip(`dockerd only: ${why}`);
  return false;
}

export interface RunOptions {
  env?: Record<string, string>;
  timeoutMs?: number;
  input?: string;
}

function baseEnv(dir: string, extra: Record<string, string> = {}): Record<string, string> {
  // These tests compare Flotilla with docker-compose on dockerd: Flotilla's default engine is its own.
  const engine: Record<string, string> = { FLOTILLA_ENGINE: E2E_ENGINE };
  const daemon = testDaemon();
  if (daemon) engine['FLOTILLA_ROOT'] = daemon.paths.root;
  return { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: dir, LANG: 'C.UTF-8', ...engine, ...extra };
}

function runSync(command: string, args: string[], cwd: string, options: RunOptions = {}): CliResult {
  const r = spawnSync(command, args, {
    cwd,
    env: baseEnv(cwd, options.env),
    input: options.input ?? '',
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 180_000, // a guard against hangs: at load 50 an `up -d` took over 60 s
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT') {
    throw new Error(`${command} ${args.join(' ')} timed out\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** `docker ARGS...`; throws when it fails (unless `allowFailure`). */
export function docker(args: string[], allowFailure = false): string {
  const r = spawnSync('docker', args, { encoding: 'utf8', timeout: 180_000, maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0 && !allowFailure) throw new Error(`docker ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout ?? '';
}

/** Whether `docker ARGS...` succeeds. */
export function dockerSucceeds(args: string[]): boolean {
  return spawnSync('docker', args, { encoding: 'utf8', timeout: 180_000 }).status === 0;
}

export function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '');
}

/** A running background process whose output is collected. */
export class Background {
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  exitCode: number | null | undefined;

  constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (d: Buffer) => (this.stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? null : code);
        resolve(code);
      });
    });
  }

  get output(): string {
    return this.stdout + this.stderr;
  }

  /** Waits until stdout+stderr matches, failing after `timeoutMs` with what was seen. */
  async waitFor(pattern: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.output.match(pattern);
      if (m) return m;
      if (this.exitCode !== undefined) throw new Error(`process exited (${this.exitCode}) before printing ${pattern}:\n${this.output}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; output so far:\n${this.output}`);
      await sleep(50);
    }
  }

  /** Waits for the exit, failing after `timeoutMs`. */
  async exit(timeoutMs = 30_000): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`process did not exit within ${timeoutMs} ms; output:\n${this.output}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.exitCode === undefined) this.child.kill(signal);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `fn` until it returns a truthy value; fails with `what` after `timeoutMs`. */
export async function poll<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 30_000, intervalMs = 100): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await fn();
    if (last) return last as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last value: ${JSON.stringify(last)})`);
    await sleep(intervalMs);
  }
}

export interface ContainerState {
  Id: string;
  Name: string;
  Created: string;
  State: { Status: string; Running: boolean; Paused: boolean; ExitCode: number; StartedAt: string; FinishedAt: string; Health?: { Status: string } };
  Config: { Env: string[]; Labels: Record<string, string> };
  Mounts: { Type: string; Name?: string; Destination: string }[];
}

/** A project of the test's own on the engine: removed (containers, networks, volumes) when the test ends. */
export class E2EProject {
  readonly name: string;
  readonly dir: string;
  private readonly children: Background[] = [];

  constructor(
    t: TestContext,
    topic: string,
    files: Record<string, string>,
  ) {
    this.name = `flotilla-e2e-${topic}-${randomBytes(4).toString('hex')}`;
    this.dir = projectDir(t, files);
    t.after(() => this.cleanup());
  }

  /** Replaces (or adds) a file in the project folder. */
  write(path: string, content: string): void {
    writeFileSync(join(this.dir, path), content);
  }

  /** `flotilla -p NAME ARGS...` with the built binary. */
  flotilla(args: string[], options: RunOptions = {}): CliResult {
    return runSync(FLOTILLA, ['-p', this.name, ...args], this.dir, options);
  }

  /** Like flotilla(), but fails the test when the exit status is not 0. */
  ok(args: string[], options: RunOptions = {}): CliResult {
    const r = this.flotilla(args, options);
    if (r.status !== 0) throw new Error(`flotilla ${args.join(' ')} exited ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    return r;
  }

  /** `docker-compose -p NAME ARGS...`: the reference implementation. */
  compose(args: string[], options: RunOptions = {}): CliResult {
    return runSync('docker-compose', ['-p', this.name, ...args], this.dir, options);
  }

  /** Starts `flotilla -p NAME ARGS...` in the background (killed when the test ends). */
  spawn(args: string[], options: RunOptions = {}): Background {
    const child = spawn(FLOTILLA, ['-p', this.name, ...args], { cwd: this.dir, env: baseEnv(this.dir, options.env), stdio: ['ignore', 'pipe', 'pipe'] });
    const bg = new Background(child);
    this.children.push(bg);
    return bg;
  }

  /** The project's containers (one-offs too, stopped too) as `docker ps` sees them: name → id. */
  containers(): Map<string, string> {
    if (E2E_ENGINE === 'embedded') return new Map(query<[string, string][]>('containers', this.name));
    const out = docker(['ps', '-a', '--no-trunc', '--filter', `label=${LABEL_PROJECT}=${this.name}`, '--format', '{{.Names}}\t{{.ID}}']);
    return new Map(lines(out).map((l) => l.split('\t') as [string, string]));
  }

  /** Names of the project's running containers, sorted. */
  running(): string[] {
    if (E2E_ENGINE === 'embedded') return query<string[]>('running', this.name).sort();
    const out = docker(['ps', '--filter', `label=${LABEL_PROJECT}=${this.name}`, '--format', '{{.Names}}']);
    return lines(out).sort();
  }

  /** The id of an image on the engine. */
  imageId(reference: string): string {
    if (E2E_ENGINE === 'embedded') return query<string>('image-id', reference);
    return docker(['image', 'inspect', '--format', '{{.Id}}', reference]).trim();
  }

  /** Removes one (stopped) container. */
  removeContainer(container: string): void {
    if (E2E_ENGINE === 'embedded') query('remove-container', container);
    else docker(['rm', container]);
  }

  /** Restarts one container (not its whole service) with no grace period. */
  restartContainer(container: string): void {
    if (E2E_ENGINE === 'embedded') query('restart', container);
    else docker(['restart', '-t', '0', container]);
  }

  /** `<project>_<service>_<n>`. */
  c(service: string, n = 1): string {
    return `${this.name}_${service}_${n}`;
  }

  inspect(container: string): ContainerState {
    if (E2E_ENGINE === 'embedded') return query<ContainerState>('inspect', container);
    return (JSON.parse(docker(['inspect', container])) as ContainerState[])[0] as ContainerState;
  }

  networks(): string[] {
    if (E2E_ENGINE === 'embedded') return query<string[]>('networks', this.name).sort();
    return lines(docker(['network', 'ls', '--filter', `label=${LABEL_PROJECT}=${this.name}`, '--format', '{{.Name}}'])).sort();
  }

  /** Volumes labelled with the project (named volumes). */
  volumes(): string[] {
    if (E2E_ENGINE === 'embedded') return query<string[]>('volumes', this.name).sort();
    return lines(docker(['volume', 'ls', '--filter', `label=${LABEL_PROJECT}=${this.name}`, '--format', '{{.Name}}'])).sort();
  }

  /** Volumes mounted by the project's containers now (anonymous ones included). */
  mountedVolumes(): string[] {
    const ids = [...this.containers().values()];
    if (ids.length === 0) return [];
    if (E2E_ENGINE === 'embedded') return query<string[]>('mounted', ...ids).sort();
    const out = docker(['inspect', '--format', '{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}} {{end}}{{end}}', ...ids]);
    return [...new Set(out.split(/\s+/).filter((v) => v !== ''))].sort();
  }

  /** Volumes that still exist, of those named. */
  existingVolumes(names: readonly string[]): string[] {
    const all = new Set(E2E_ENGINE === 'embedded' ? query<string[]>('all-volumes') : lines(docker(['volume', 'ls', '-q'])));
    return names.filter((n) => all.has(n));
  }

  private seenVolumes = new Set<string>();

  /** Remembers the volumes mounted now, so cleanup removes them even when nothing mounts them later. */
  noteVolumes(): void {
    for (const v of this.mountedVolumes()) this.seenVolumes.add(v);
  }

  async cleanup(): Promise<void> {
    for (const child of this.children) child.kill('SIGKILL');
    await Promise.all(this.children.map((c) => c.exit(5_000).catch(() => null)));
    this.noteVolumes();
    if (E2E_ENGINE === 'embedded') {
      if (testDaemon()) query('remove', this.name, ...this.volumes(), ...this.seenVolumes);
      return;
    }
    const ids = [...this.containers().values()];
    if (ids.length > 0) docker(['rm', '-f', '-v', ...ids], true);
    // By id: two networks of one name (a concurrency bug) cannot be removed by name.
    const networkIds = lines(docker(['network', 'ls', '-q', '--filter', `label=${LABEL_PROJECT}=${this.name}`]));
    if (networkIds.length > 0) docker(['network', 'rm', ...networkIds], true);
    const volumes = [...new Set([...this.volumes(), ...this.seenVolumes])];
    if (volumes.length > 0) docker(['volume', 'rm', '-f', ...volumes], true);
  }
}

/**
 * A project for one test, or null (the test marked skipped) when dockerd or docker-compose is
 * missing outside CI. Makes sure busybox:latest exists.
 */
export function e2eProject(t: TestContext, topic: string, files: Record<string, string>): E2EProject | null {
  if (E2E_ENGINE === 'embedded') {
    if (!requireRoot(t)) return null;
    if (!testDaemon()) throw new Error('the embedded test daemon did not start');
    return new E2EProject(t, topic, files);
  }
  if (!requireDocker(t)) return null;
  ensureBusybox();
  return new E2EProject(t, topic, files);
}

/** Start time of a container in nanoseconds since the epoch, exact (docker gives nanoseconds). */
export function nanos(rfc3339: string): bigint {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(rfc3339);
  if (!m) throw new Error(`not an RFC 3339 UTC time: ${rfc3339}`);
  const seconds = BigInt(Date.parse(`${m[1]}Z`)) / 1000n;
  return seconds * 1_000_000_000n + BigInt((m[2] ?? '0').padEnd(9, '0').slice(0, 9));
}

/** Asserts `text` holds no ANSI escape. */
export function hasAnsi(text: string): boolean {
  return text.includes('\x1b[');
}
