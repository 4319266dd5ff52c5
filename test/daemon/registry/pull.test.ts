/**
 * Pulls from a real docker-registry on 127.0.0.1: tags and digests, Docker and OCI manifests, an
 * index resolved by platform, htpasswd auth, TLS with a certs.d CA; and, through a proxy in front
 * of the same registry that breaks or corrupts answers, resumed downloads, retries, a digest
 * mismatch that keeps nothing, and an interrupted pull that leaves no image and is resumed.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { ProgressEvent } from '../../../src/contract/engine.js';
import { RegistryClient } from '../../../src/daemon/registry/client.js';
import { pullImage } from '../../../src/daemon/registry/pull.js';
import { RegistryTransport } from '../../../src/daemon/registry/transport.js';
import { haveRegistry, seedImage, seedManifest, startRegistry, digestOf, type TestRegistry } from '../../helpers/registry.js';
import { rejectsWith, rootfsOf, sandbox, sha256 } from '../images/fixtures.js';
import { dir, file, tar, whiteout } from '../images/tarball.js';

function skip(t: TestContext): boolean {
  if (haveRegistry() && process.getuid?.() === 0) return false;
  if (process.env['FLOTILLA_CI'] === '1') assert.fail('docker-registry, curl and root are needed (scripts/install-deps)');
  t.skip('needs docker-registry, curl and root');
  return true;
}

function layer(items: Parameters<typeof tar>[0]): { blob: Buffer; diffId: string } {
  const plain = tar(items);
  return { blob: gzipSync(plain), diffId: `sha256:${sha256(plain)}` };
}

const LAYERS = () => [layer([dir('etc'), file('etc/base', 'base'), file('etc/gone', 'x')]), layer([file('etc/two', 'two'), whiteout('etc', 'gone')]), layer([dir('app'), file('app/run', 'run', { mode: 0o755 })])];

function client(reg: TestRegistry, port?: number, creds: { username: string; password: string } | null = null): RegistryClient {
  const host = port ? `127.0.0.1:${port}` : reg.host;
  return new RegistryClient(new RegistryTransport(reg.certsDir ? { certsDir: reg.certsDir } : {}), host, creds ?? (reg.user ? { username: reg.user, password: reg.password ?? '' } : null));
}

test('pull by tag and by digest: layers unpacked, whiteouts applied, names and digest recorded; again is a no-op', async (t) => {
  if (skip(t)) return;
  const reg = await startRegistry(t);
  const seeded = seedImage(reg, 'team/app', 'v1', LAYERS());
  const sb = await sandbox(t);
  const events: ProgressEvent[] = [];
  const image = await pullImage(sb.store, client(reg), `${reg.host}/team/app:v1`, { progress: (e) => events.push(e) });
  assert.equal(image.id, seeded.configDigest);
  assert.deepEqual(image.repoTags, [`${reg.host}/team/app:v1`]);
  assert.deepEqual(image.repoDigests, [`${reg.host}/team/app@${seeded.manifestDigest}`]);
  const root = rootfsOf(image);
  assert.deepEqual(readdirSync(join(root, 'etc')).sort(), ['base', 'two']);
  assert.equal(readFileSync(join(root, 'app/run'), 'utf8'), 'run');
  assert.ok(events.some((e) => e.status === 'Pull complete'));
  assert.deepEqual(events.at(-1), { status: `Status: Downloaded newer image for ${reg.host}/team/app:v1` });
  // The blobs are kept as the registry has them.
  for (const b of [...seeded.layers, seeded.config, seeded.manifest]) assert.ok(existsSync(join(sb.paths.images, 'blobs', 'sha256', digestOf(b).slice(7))));
  const again: ProgressEvent[] = [];
  await pullImage(sb.store, client(reg), `${reg.host}/team/app:v1`, { progress: (e) => again.push(e) });
  assert.deepEqual(again.at(-1), { status: `Status: Image is up to date for ${reg.host}/team/app:v1` });
  assert.ok(!again.some((e) => e.status === 'Downloading'));
  const byDigest = await pullImage(sb.store, client(reg), `${reg.host}/team/app@${seeded.manifestDigest}`);
  assert.equal(byDigest.id, image.id);
  assert.equal((await sb.store.resolve(`${reg.host}/team/app@${seeded.manifestDigest}`))?.id, image.id);
  await rejectsWith(pullImage(sb.store, client(reg), `${reg.host}/team/app:nope`), 'not-found', /manifest of 127\.0\.0\.1:\d+\/team\/app:nope: not found \(MANIFEST_UNKNOWN/);
});

test('pull: an OCI index resolved to this platform or the one asked for; none matching is an error', async (t) => {
  if (skip(t)) return;
  const reg = await startRegistry(t);
  const amd = seedImage(reg, 'multi', 'amd', [layer([file('arch', 'amd64')])], { oci: true });
  const arm = seedImage(reg, 'multi', 'arm', [layer([file('arch', 'arm64')])], { oci: true, config: { Cmd: ['arm'] } });
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', size: arm.manifest.length, digest: arm.manifestDigest, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', size: amd.manifest.length, digest: amd.manifestDigest, platform: { os: 'linux', architecture: 'amd64' } },
      ],
    }),
  );
  const indexDigest = seedManifest(reg, 'multi', 'latest', index, 'application/vnd.oci.image.index.v1+json');
  const sb = await sandbox(t);
  const mine = await pullImage(sb.store, client(reg), `${reg.host}/multi`);
  assert.equal(readFileSync(join(rootfsOf(mine), 'arch'), 'utf8'), 'amd64');
  // The digest reference is the index's, as Docker records it.
  assert.deepEqual(mine.repoDigests, [`${reg.host}/multi@${indexDigest}`]);
  const other = await pullImage(sb.store, client(reg), `${reg.host}/multi:latest`, { platform: 'linux/arm64' });
  assert.equal(readFileSync(join(rootfsOf(other), 'arch'), 'utf8'), 'arm64');
  await rejectsWith(pullImage(sb.store, client(reg), `${reg.host}/multi`, { platform: 'linux/s390x' }), 'not-found', /no image for linux\/s390x \(the registry has linux\/arm64\/v8, linux\/amd64\)/);
});

test('pull with htpasswd auth: refused without credentials or with wrong ones, works with them', async (t) => {
  if (skip(t)) return;
  const reg = await startRegistry(t, { auth: true });
  seedImage(reg, 'private/app', '1', [layer([file('secret', 's')])]);
  const sb = await sandbox(t);
  const anonymous = new RegistryClient(new RegistryTransport(), reg.host, null);
  await rejectsWith(pullImage(sb.store, anonymous, `${reg.host}/private/app:1`), 'invalid', /unauthorized .*: log in with flotilla login 127\.0\.0\.1:\d+/);
  await rejectsWith(pullImage(sb.store, client(reg, undefined, { username: 'tester', password: 'wrong' }), `${reg.host}/private/app:1`), 'invalid', /unauthorized/);
  const image = await pullImage(sb.store, client(reg), `${reg.host}/private/app:1`);
  assert.equal(readFileSync(join(rootfsOf(image), 'secret'), 'utf8'), 's');
});

test('pull over TLS: the CA from certs.d is trusted; without it the registry is refused', async (t) => {
  if (skip(t)) return;
  const reg = await startRegistry(t, { tls: true, auth: true });
  seedImage(reg, 'tls/app', '1', [layer([file('f', 'over tls')])]);
  const sb = await sandbox(t);
  const image = await pullImage(sb.store, client(reg), `${reg.host}/tls/app:1`);
  assert.equal(readFileSync(join(rootfsOf(image), 'f'), 'utf8'), 'over tls');
  const untrusting = new RegistryClient(new RegistryTransport(), reg.host, { username: reg.user ?? '', password: reg.password ?? '' });
  await rejectsWith(pullImage(sb.store, untrusting, `${reg.host}/tls/app:1`), 'unreachable', /127\.0\.0\.1:\d+: .*certificate.*: trust its CA in \/etc\/docker\/certs\.d\/127\.0\.0\.1:\d+\/ca\.crt/);
});

/** An HTTP proxy in front of the registry; `fault` may answer (or break) a request itself. */
async function proxy(t: TestContext, reg: TestRegistry, fault: (req: { method: string; url: string; headers: Record<string, unknown> }, count: number) => 'pass' | 'cut' | 'corrupt' | 'fail'): Promise<{ port: number; seen: { method: string; url: string; range?: string }[] }> {
  const seen: { method: string; url: string; range?: string }[] = [];
  const counts = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const key = `${req.method} ${req.url}`;
    const n = (counts.get(key) ?? 0) + 1;
    counts.set(key, n);
    seen.push({ method: req.method ?? '', url: req.url ?? '', ...(req.headers.range ? { range: req.headers.range } : {}) });
    const what = fault({ method: req.method ?? '', url: req.url ?? '', headers: req.headers }, n);
    if (what === 'fail') {
      res.writeHead(503).end();
      return;
    }
    const up = request({ host: '127.0.0.1', port: Number(reg.host.split(':')[1]), method: req.method, path: req.url, headers: { ...req.headers, host: reg.host } }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      if (what === 'pass') {
        r.pipe(res);
        return;
      }
      let sent = 0;
      r.on('data', (chunk: Buffer) => {
        if (what === 'cut') {
          // Some of the body reaches the client, then the connection drops.
          const room = 20_000 - sent;
          sent += chunk.length;
          if (room > 0) res.write(chunk.subarray(0, room), () => (sent >= 20_000 ? res.destroy() : undefined));
        } else {
          const c = Buffer.from(chunk);
          if (sent === 0) c[c.length - 1] = (c[c.length - 1] ?? 0) ^ 0xff;
          sent += c.length;
          res.write(c);
        }
      });
      r.on('end', () => res.end());
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.after(() => void server.close());
  const addr = server.address();
  return { port: typeof addr === 'object' && addr ? addr.port : 0, seen };
}

test('pull through a connection that breaks: the download resumes with Range; 503s are retried', async (t) => {
  if (skip(t)) return;
  const reg = await startRegistry(t);
  const big = layer([file('big', randomBytes(300_000))]);
  const seeded = seedImage(reg, 'flaky', '1', [big]);
  const blobPath = `/v2/flaky/blobs/${digestOf(big.blob)}`;
  const p = await proxy(t, reg, (req, n) => (req.url === blobPath && n === 1 ? 'cut' : req.url.includes('/manifests/') && n === 1 ? 'fail' : 'pass'));
  const sb = await sandbox(t);
  const image = await pullImage(sb.store, client(reg, p.port), `127.0.0.1:${p.port}/flaky:1`);
  assert.equal(image.id, seeded.configDigest);
  const gets = p.seen.filter((s) => s.url === blobPath);
  assert.equal(gets.length, 2, JSON.stringify(gets));
  assert.equal(gets[0]?.range, undefined);
  assert.match(gets[1]?.range ?? '', /^bytes=\d+-$/);
  assert.ok(Number(/\d+/.exec(gets[1]?.range ?? '')?.[0]) > 0);
});

test('pull of a blob whose bytes do not match its digest keeps nothing; an interrupted pull shows no image and a re-run fetches only what is missing', async (t) => {
  if (skip(t)) return;
  const reg = await startRegistry(t);
  const layers = LAYERS();
  seedImage(reg, 'bad', '1', layers);
  const corrupted = `/v2/bad/blobs/${digestOf(layers[1]?.blob ?? Buffer.alloc(0))}`;
  let broken = true;
  const p = await proxy(t, reg, (req) => (req.url === corrupted && broken ? 'corrupt' : 'pass'));
  const sb = await sandbox(t);
  const ref = `127.0.0.1:${p.port}/bad:1`;
  await rejectsWith(pullImage(sb.store, client(reg, p.port), ref), 'invalid', /digest mismatch: expected sha256:[0-9a-f]{64}, got sha256:[0-9a-f]{64} \(\d+ bytes\); nothing was kept/);
  assert.equal(await sb.store.resolve(ref), null, 'no image');
  const bad = digestOf(layers[1]?.blob ?? Buffer.alloc(0)).slice(7);
  assert.ok(!readdirSync(join(sb.paths.images, 'ingest')).some((n) => n.startsWith(bad)), 'nothing of the bad blob');
  assert.equal(existsSync(join(sb.paths.images, 'blobs', 'sha256', digestOf(layers[1]?.blob ?? Buffer.alloc(0)).slice(7))), false);
  broken = false;
  const before = p.seen.length;
  const image = await pullImage(sb.store, client(reg, p.port), ref);
  assert.deepEqual(readdirSync(join(rootfsOf(image), 'etc')).sort(), ['base', 'two']);
  const fetched = p.seen.slice(before).filter((s) => s.method === 'GET' && s.url.includes('/blobs/'));
  assert.deepEqual(fetched.map((s) => s.url), [corrupted], 'only the blob that failed is fetched again');
});
