/**
 * A real registry for tests: Debian's docker-registry (distribution 2.8) on 127.0.0.1, a port of
 * its own, its own config and storage (never the package's config, which listens everywhere), with
 * htpasswd auth, token auth (tokens of a service such as ./token-service.ts, which the registry
 * verifies with that service's certificate) and TLS (a self-signed certificate made here) when
 * asked. Stopped, and its files removed, when the test ends. Images are seeded with curl, independently of the code under test.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

export interface TestRegistry {
  /** "127.0.0.1:PORT" */
  host: string;
  /** A certs.d folder trusting the registry (TLS only); pass as the daemon's certs dir. */
  certsDir?: string;
  user?: string;
  password?: string;
  tls: boolean;
  stop(): void;
}

export function haveRegistry(): boolean {
  return spawnSync('docker-registry', ['--version']).status === 0 && spawnSync('curl', ['--version']).status === 0;
}

/** docker-registry and curl are here; without them the test skips, and in CI (FLOTILLA_CI=1) fails. */
export function requireRegistry(t: TestContext): boolean {
  if (haveRegistry()) return true;
  if (process.env['FLOTILLA_CI'] === '1') assert.fail('docker-registry and curl are needed (scripts/install-deps)');
  t.skip('needs docker-registry and curl');
  return false;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

export interface TokenAuth {
  realm: string;
  service: string;
  issuer: string;
  /** The PEM certificate the tokens are signed under. */
  cert: string;
}

export async function startRegistry(t: TestContext, options: { auth?: boolean; tls?: boolean; token?: TokenAuth } = {}): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-registry-'));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const lines = ['version: 0.1', 'log: {level: error, accesslog: {disabled: true}}', `storage: {filesystem: {rootdirectory: ${join(dir, 'data')}}, delete: {enabled: true}}`, 'http:', `  addr: ${host}`, '  secret: test-only'];
  const reg: TestRegistry = { host, tls: options.tls === true, stop: () => undefined };
  if (options.tls) {
    const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')]);
    if (r.status !== 0) throw new Error(`openssl: ${r.stderr.toString()}`);
    lines.push(`  tls: {certificate: ${join(dir, 'cert.pem')}, key: ${join(dir, 'key.pem')}}`);
    reg.certsDir = join(dir, 'certs.d');
    mkdirSync(join(reg.certsDir, host), { recursive: true });
    writeFileSync(join(reg.certsDir, host, 'ca.crt'), spawnSync('cat', [join(dir, 'cert.pem')]).stdout);
  }
  if (options.auth) {
    reg.user = 'tester';
    reg.password = `pw-${port}`;
    const r = spawnSync('htpasswd', ['-Bbn', reg.user, reg.password]);
    if (r.status !== 0) throw new Error(`htpasswd: ${r.stderr.toString()}`);
    writeFileSync(join(dir, 'htpasswd'), r.stdout);
    lines.push(`auth: {htpasswd: {realm: test, path: ${join(dir, 'htpasswd')}}}`);
  }
  if (options.token) {
    const { realm, service, issuer, cert } = options.token;
    lines.push(`auth: {token: {realm: "${realm}", service: "${service}", issuer: "${issuer}", rootcertbundle: ${cert}}}`);
  }
  writeFileSync(join(dir, 'config.yml'), `${lines.join('\n')}\n`);
  const child: ChildProcess = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  reg.stop = () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  t.after(() => reg.stop());
  for (let i = 0; i < 100; i++) {
    const r = curl(reg, ['-o', '/dev/null', '-w', '%{http_code}', `${url(reg)}/v2/`]);
    if (r.status === 0 && /^(200|401)$/.test(r.stdout.toString())) return reg;
    if (child.exitCode !== null) throw new Error(`docker-registry exited: ${stderr}`);
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`docker-registry did not answer on ${host}: ${stderr}`);
}

export function url(reg: TestRegistry): string {
  return `${reg.tls ? 'https' : 'http'}://${reg.host}`;
}

export function curl(reg: TestRegistry, args: string[], input?: Buffer): ReturnType<typeof spawnSync> {
  const auth = reg.user ? ['-u', `${reg.user}:${reg.password}`] : [];
  const tls = reg.tls && reg.certsDir ? ['--cacert', join(reg.certsDir, reg.host, 'ca.crt')] : [];
  return spawnSync('curl', ['-sS', ...auth, ...tls, ...args], input ? { input, maxBuffer: 1 << 28 } : { maxBuffer: 1 << 28 });
}

export function digestOf(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

/** Uploads a blob (monolithic: POST, then PUT with the digest). */
export function seedBlob(reg: TestRegistry, repo: string, blob: Buffer): string {
  const digest = digestOf(blob);
  const post = curl(reg, ['-D', '-', '-o', '/dev/null', '-X', 'POST', `${url(reg)}/v2/${repo}/blobs/uploads/`]);
  const location = /^location: (.*)$/im.exec(post.stdout.toString())?.[1]?.trim();
  if (!location) throw new Error(`no upload location: ${post.stdout.toString()} ${post.stderr.toString()}`);
  const target = new URL(location, url(reg));
  target.searchParams.set('digest', digest);
  const put = curl(reg, ['-o', '/dev/null', '-w', '%{http_code}', '-X', 'PUT', '-H', 'Content-Type: application/octet-stream', '--data-binary', '@-', target.toString()], blob);
  if (put.stdout.toString() !== '201') throw new Error(`blob upload answered ${put.stdout.toString()}`);
  return digest;
}

export function seedManifest(reg: TestRegistry, repo: string, reference: string, manifest: Buffer, mediaType: string): string {
  const put = curl(reg, ['-o', '/dev/null', '-w', '%{http_code}', '-X', 'PUT', '-H', `Content-Type: ${mediaType}`, '--data-binary', '@-', `${url(reg)}/v2/${repo}/manifests/${reference}`], manifest);
  if (put.stdout.toString() !== '201') throw new Error(`manifest upload answered ${put.stdout.toString()}`);
  return digestOf(manifest);
}

export interface SeededImage {
  config: Buffer;
  configDigest: string;
  manifest: Buffer;
  manifestDigest: string;
  layers: Buffer[];
}

/** An image (config + gzip layers, Docker schema 2 or OCI) pushed under repo:tag. */
export function seedImage(reg: TestRegistry, repo: string, tag: string, layers: { blob: Buffer; diffId: string; mediaType?: string }[], options: { oci?: boolean; config?: Record<string, unknown> } = {}): SeededImage {
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', created: '2025-01-01T00:00:00Z', config: { Env: ['PATH=/bin'], Cmd: ['sh'], ...(options.config ?? {}) }, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) } }),
  );
  const configDigest = seedBlob(reg, repo, config);
  for (const l of layers) seedBlob(reg, repo, l.blob);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: options.oci ? 'application/vnd.oci.image.manifest.v1+json' : 'application/vnd.docker.distribution.manifest.v2+json',
      config: { mediaType: options.oci ? 'application/vnd.oci.image.config.v1+json' : 'application/vnd.docker.container.image.v1+json', size: config.length, digest: configDigest },
      layers: layers.map((l) => ({ mediaType: l.mediaType ?? (options.oci ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.docker.image.rootfs.diff.tar.gzip'), size: l.blob.length, digest: digestOf(l.blob) })),
    }),
  );
  const mediaType = options.oci ? 'application/vnd.oci.image.manifest.v1+json' : 'application/vnd.docker.distribution.manifest.v2+json';
  const manifestDigest = seedManifest(reg, repo, tag, manifest, mediaType);
  return { config, configDigest, manifest, manifestDigest, layers: layers.map((l) => l.blob) };
}
