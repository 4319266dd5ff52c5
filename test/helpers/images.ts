/**
 * Test images and a test registry, for a machine that reaches no registry:
 *  - ensureBusybox() makes `busybox:latest` on dockerd when it is missing or not as the tests need
 *    it (another CMD, an entrypoint...): a root filesystem of
 *    Debian's static /bin/busybox (package busybox-static) with a link per applet, /etc/passwd,
 *    /etc/group and a world-writable /tmp, imported with CMD ["sh"];
 *  - startRegistry(t) runs Debian's docker-registry on 127.0.0.1 (dockerd trusts loopback
 *    registries without TLS), storage in a temporary folder, stopped when the test ends.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

export const BUSYBOX = 'busybox:latest';
const BUSYBOX_BINARY = '/bin/busybox';

function run(command: string, args: string[], input?: Buffer): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(command, args, { input, encoding: 'utf8', timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error ? String(r.error) : '') };
}

function isStatic(binary: string): boolean {
  const r = run('ldd', [binary]);
  return /not a dynamic executable|statically linked/.test(r.stdout + r.stderr);
}

let busyboxReady = false;

/**
 * Whether dockerd's busybox:latest is one the tests can use: the tag is shared with everything
 * else on the machine, and one imported without CMD (or with another entrypoint, user or working
 * directory) made the Engine contract's tests fail with "No command specified".
 */
function hasBusybox(): boolean {
  const r = run('docker', ['image', 'inspect', '--format', '{{json .Config}}', BUSYBOX]);
  if (r.status !== 0) return false;
  try {
    const config = JSON.parse(r.stdout) as { Cmd?: string[] | null; Entrypoint?: string[] | null; User?: string; WorkingDir?: string } | null;
    return (
      JSON.stringify(config?.Cmd) === '["sh"]' &&
      (config?.Entrypoint ?? []).length === 0 &&
      (config?.User ?? '') === '' &&
      (config?.WorkingDir ?? '') === ''
    );
  } catch {
    return false;
  }
}

const LOCK = join(tmpdir(), 'flotilla-busybox-image.lock');

/** Runs `fn` holding a lock shared by the test processes (a directory; stale after 2 minutes). */
function withLock(fn: () => void): void {
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      try {
        if (Date.now() - statSync(LOCK).mtimeMs > 120_000) rmSync(LOCK, { recursive: true, force: true });
      } catch {
        // released meanwhile
      }
      if (Date.now() > deadline) throw new Error(`${LOCK} is held too long`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    }
  }
  try {
    fn();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

/** Makes busybox:latest on dockerd (via the docker CLI) unless a usable one is there already (hasBusybox). */
export function ensureBusybox(): void {
  if (busyboxReady || hasBusybox()) {
    busyboxReady = true;
    return;
  }
  // Another test process may be making it: one import, not two.
  withLock(() => {
    if (!hasBusybox()) importBusybox();
  });
  busyboxReady = true;
}

function importBusybox(): void {
  if (!isStatic(BUSYBOX_BINARY)) throw new Error(`${BUSYBOX_BINARY} is missing or not static: install busybox-static (scripts/install-deps)`);
  const root = mkdtempSync(join(tmpdir(), 'flotilla-busybox-'));
  try {
    for (const dir of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'root', 'proc', 'sys', 'dev', 'var/run', 'tmp']) mkdirSync(join(root, dir), { recursive: true });
    copyFileSync(BUSYBOX_BINARY, join(root, 'bin/busybox'));
    chmodSync(join(root, 'bin/busybox'), 0o755);
    const applets = run(BUSYBOX_BINARY, ['--list']).stdout.split('\n').filter((a) => a !== '' && a !== 'busybox');
    for (const applet of applets) symlinkSync('busybox', join(root, 'bin', applet));
    writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
    writeFileSync(join(root, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
    chmodSync(join(root, 'tmp'), 0o1777);
    const tar = spawnSync('tar', ['-C', root, '--numeric-owner', '--owner=0', '--group=0', '-c', '.'], { maxBuffer: 64 * 1024 * 1024 });
    if (tar.status !== 0) throw new Error(`tar of the busybox root failed: ${tar.stderr.toString()}`);
    const imported = run('docker', ['import', '-c', 'CMD ["sh"]', '-', BUSYBOX], tar.stdout);
    if (imported.status !== 0) throw new Error(`docker import ${BUSYBOX} failed: ${imported.stderr}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Starts a registry on 127.0.0.1; resolves to its address (host:port), or to null after marking
 * the test skipped when docker-registry is not installed (outside CI, where it must be).
 */
export async function startRegistry(t: TestContext): Promise<string | null> {
  if (spawnSync('docker-registry', ['--version'], { encoding: 'utf8' }).status !== 0) {
    if (process.env['FLOTILLA_CI'] === '1') throw new Error('docker-registry is required in CI (scripts/install-deps installs it)');
    t.skip('needs docker-registry (sudo scripts/install-deps)');
    return null;
  }
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-registry-'));
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dir, 'data')}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '',
    ].join('\n'),
  );
  const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.after(async () => {
    child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  });
  const address = `127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited: ${stderr}`);
    try {
      const res = await fetch(`http://${address}/v2/`);
      if (res.ok) return address;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`docker-registry did not start on ${address}: ${stderr}`);
}
