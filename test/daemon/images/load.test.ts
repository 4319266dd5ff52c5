/** load(): docker-archive and OCI layouts, layers flattened with their whiteouts, and real `docker save`. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { lstatSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { requireDocker } from '../../helpers/docker.js';
import { BUSYBOX, ensureBusybox } from '../../helpers/images.js';
import { assertNothingOutside, assertStoreEmpty, configBytes, dockerArchive, linkedLayerArchive, ociLayout, rejectsWith, sandbox, sha256, snapshot, stream, rootfsOf } from './fixtures.js';
import { dir, file, hardlink, opaque, symlink, tar, whiteout } from './tarball.js';

const T1 = 1_600_000_000;
const T2 = 1_650_000_000;

/** Four layers exercising whiteouts, opaque directories (before and after their contents) and replacements. */
function layeredImage(): Buffer[] {
  return [
    tar([
      dir('etc', { mtime: T1 }),
      file('etc/a', 'a1'),
      file('etc/b', 'b1'),
      file('etc/keep', 'k1'),
      dir('app'),
      dir('app/x'),
      file('app/x/old', 'old'),
      file('app/y', 'y'),
      dir('lib'),
      file('lib/old', 'old'),
      dir('bin'),
      symlink('bin/sh', '/bin/busybox'),
      file('bin/busybox', 'BB', { mode: 0o755 }),
      dir('data', { mode: 0o700, mtime: T1 }),
      file('data/f', 'f'),
      symlink('sym', 'etc'),
      dir('gone'),
      file('gone/deep', 'd'),
    ]),
    gzipSync(
      tar([
        dir('etc', { mtime: T1 }),
        whiteout('etc', 'a'),
        file('etc/b', 'b2'),
        whiteout('etc', 'never-existed'),
        dir('app'),
        opaque('app'),
        file('app/new', 'new'),
        dir('app/x'),
        file('app/x/fresh', 'fresh'),
        whiteout('', 'sym'),
        whiteout('', 'gone'),
      ]),
    ),
    tar([
      dir('etc', { mtime: T1 }), // a layer lists the directories whose contents it changes, as Docker's do
      file('etc/c', 'c3'),
      dir('data', { mode: 0o750, mtime: T2 }),
      file('bin/sh', 'real shell', { mode: 0o755 }),
      dir('etc/keep'),
      file('etc/keep/inside', 'i'),
      file('bin/busybox', 'BB', { mode: 0o755 }),
      hardlink('bin/ash', 'bin/busybox'),
    ]),
    tar([dir('lib'), file('lib/mine', 'm'), opaque('lib')]),
  ];
}

const LAYERED_TREE = [
  'app/ 755',
  'app/new 644 3',
  'app/x/ 755',
  'app/x/fresh 644 5',
  'bin/ 755',
  'bin/ash 755 2',
  'bin/busybox 755 2',
  'bin/sh 755 10',
  'data/ 750',
  'data/f 644 1',
  'etc/ 755',
  'etc/b 644 2',
  'etc/c 644 2',
  'etc/keep/ 755',
  'etc/keep/inside 644 1',
  'lib/ 755',
  'lib/mine 644 1',
];

test('load: a docker-archive of four layers, whiteouts, opaque directories and replacements applied in order', async (t) => {
  const sb = await sandbox(t);
  const layers = layeredImage();
  const config = { Env: ['PATH=/bin', 'A=1'], Cmd: ['sh', '-c', 'x'], Entrypoint: null, WorkingDir: '/app', User: '1000:1000', ExposedPorts: { '80/tcp': {} }, Volumes: { '/data': {} }, StopSignal: 'SIGQUIT', Labels: { a: 'b' }, Healthcheck: { Test: ['CMD', 'true'], Interval: 1e9, Retries: 3 }, Hostname: 'ignored', OnBuild: null };
  const images = await sb.store.load(stream(dockerArchive([{ layers, tags: ['docker.io/library/layered:1', 'team/layered:latest'], config }])));
  assert.equal(images.length, 1);
  const [image] = images;
  assert.ok(image);
  assert.equal(image.id, `sha256:${sha256(configBytes({ layers, config }))}`);
  assert.deepEqual(image.repoTags, ['layered:1', 'team/layered:latest']);
  assert.equal(image.created, '2024-01-02T03:04:05Z');
  assert.deepEqual([image.architecture, image.os], ['amd64', 'linux']);
  const { Hostname: _h, OnBuild: _o, ...honoured } = config;
  assert.deepEqual(image.config, honoured);
  assert.deepEqual(snapshot(rootfsOf(image)), LAYERED_TREE);
  assert.equal(readFileSync(join(rootfsOf(image), 'etc/b'), 'utf8'), 'b2');
  assert.equal(lstatSync(join(rootfsOf(image), 'bin/ash')).ino, lstatSync(join(rootfsOf(image), 'bin/busybox')).ino);
  assert.equal(statSync(join(rootfsOf(image), 'data')).mtimeMs, T2 * 1000);
  assert.equal(statSync(join(rootfsOf(image), 'etc')).mtimeMs, T1 * 1000);
  // As Docker counts it: every layer's regular files (a hard-linked one once) and symlink targets.
  assert.equal(image.size, layers.reduce((n, l) => n + layerBytes(l), 0));
  assertNothingOutside(sb);
});

test('load: the same image twice shares its folder and gathers tags; several images and untagged ones', async (t) => {
  const sb = await sandbox(t);
  const layers = [tar([file('one', '1')])];
  const [first] = await sb.store.load(stream(dockerArchive([{ layers, tags: ['same:1'] }])));
  assert.ok(first);
  const before = statSync(first.layers[0] ?? '').ino;
  const loaded = await sb.store.load(
    stream(
      gzipSync(
        dockerArchive([
          { layers, tags: ['same:2'] },
          { layers: [tar([file('two', '2')])], tags: null as unknown as string[] },
          { layers, tags: ['same:3'] },
        ]),
      ),
    ),
  );
  assert.deepEqual(loaded.map((i) => i.repoTags), [['same:1', 'same:2', 'same:3'], []]);
  assert.deepEqual(loaded[0]?.layers, first.layers);
  assert.equal(statSync(first.layers[0] ?? '').ino, before, 'not extracted again');
  assert.equal((await sb.store.list()).length, 2);
});

test('load: a layer stored once and linked, as docker save does', async (t) => {
  const sb = await sandbox(t);
  const layer = tar([file('f', 'x')]);
  const [image] = await sb.store.load(stream(linkedLayerArchive({ layers: [layer, layer], tags: ['linked:1'] })));
  assert.deepEqual(snapshot(rootfsOf(image!) ?? ''), ['f 644 1']);
});

test('load: OCI layouts, plain and behind an index; names from annotations', async (t) => {
  const sb = await sandbox(t);
  const layers = [gzipSync(tar([file('etc/os-release', 'ID=test\n')])), tar([file('etc/more', 'more')])];
  const config = { Env: ['PATH=/usr/bin', 'X=1'], Cmd: null, Entrypoint: ['/app'], WorkingDir: '/srv', User: 'nobody', ExposedPorts: { '53/udp': {} }, Volumes: { '/v': {} }, StopSignal: 'SIGINT', Labels: { 'org.opencontainers.image.title': 'oci' }, Healthcheck: { Test: ['NONE'] } };
  const [plain] = await sb.store.load(stream(ociLayout([{ layers, tags: ['docker.io/library/oci:1'], config }])));
  assert.deepEqual(plain?.repoTags, ['oci:1']);
  assert.deepEqual(plain?.config, config);
  assert.deepEqual(snapshot(rootfsOf(plain!) ?? ''), ['etc/ 755', 'etc/more 644 4', 'etc/os-release 644 8']);
  const nested = await sb.store.load(stream(ociLayout([{ layers: [tar([file('n', 'n')])], tags: ['nested:1'] }], { nested: true })));
  assert.deepEqual(nested.map((i) => i.repoTags), [['nested:1']]);
  // org.opencontainers.image.ref.name: a full reference names the image, a bare tag cannot.
  const [full] = await sb.store.load(stream(ociLayout([{ layers: [tar([file('r', 'r')])], tags: ['localhost:5000/ref:2'] }], { annotation: 'ref' })));
  assert.deepEqual(full?.repoTags, ['localhost:5000/ref:2']);
  const [bare] = await sb.store.load(stream(ociLayout([{ layers: [tar([file('b', 'b')])], tags: ['latest'] }], { annotation: 'ref' })));
  assert.deepEqual(bare?.repoTags, []);
});

test('load refuses archives that do not add up, and leaves the store as it was', async (t) => {
  const sb = await sandbox(t);
  const good = tar([file('a', 'a')]);
  const other = tar([file('b', 'b')]);
  await rejectsWith(sb.store.load(stream(dockerArchive([{ layers: [good, other], diffIds: [`sha256:${sha256(good)}`, `sha256:${sha256(good)}`], tags: ['bad:1'] }]))), 'invalid', new RegExp(`^layer 2 of bad:1: its content is sha256:${sha256(other)}, but the image config says sha256:${sha256(good)}$`));
  await rejectsWith(sb.store.load(stream(dockerArchive([{ layers: [good], diffIds: [], tags: ['bad:2'] }]))), 'invalid', /^bad:2: the image config lists 0 layers, but 1 were given$/);
  await rejectsWith(sb.store.load(stream(tar([file('manifest.json', JSON.stringify([{ Config: 'c.json', RepoTags: ['x:1'], Layers: [] }]))]))), 'invalid', /^image archive: image config "c\.json" is not in the archive$/);
  const cfg = configBytes({ layers: [good] });
  await rejectsWith(sb.store.load(stream(tar([file('c.json', cfg), file('manifest.json', JSON.stringify([{ Config: 'c.json', RepoTags: ['x:1'], Layers: ['nope/layer.tar'] }]))]))), 'invalid', /^image archive: layer "nope\/layer\.tar" is not in the archive$/);
  await rejectsWith(sb.store.load(stream(tar([file('c.json', cfg), file('l.tar', good), file('manifest.json', JSON.stringify([{ Config: 'c.json', RepoTags: ['Upper:1'], Layers: ['l.tar'] }]))]))), 'invalid', /^invalid reference format: "Upper:1"/);
  await rejectsWith(sb.store.load(stream(tar([file('c.json', '{not json'), file('manifest.json', JSON.stringify([{ Config: 'c.json', RepoTags: [], Layers: [] }]))]))), 'invalid', /^image [0-9a-f]{12}: the image config is not valid JSON/);
  await rejectsWith(sb.store.load(stream(tar([file('manifest.json', '{}')]))), 'invalid', /^image archive: manifest\.json is not a list$/);
  await rejectsWith(sb.store.load(stream(tar([file('hello', 'x')]))), 'invalid', /^image archive: neither manifest\.json nor index\.json found/);
  await rejectsWith(sb.store.load(stream(Buffer.from('garbage'.repeat(100)))), 'invalid', /^image archive: not a tar archive/);
  // An OCI blob whose bytes do not match its digest.
  const oci = ociLayout([{ layers: [good], tags: ['oci:bad'] }]);
  const tampered = Buffer.from(oci.toString('latin1').replace('a\0\0\0', 'z\0\0\0'), 'latin1');
  assert.notDeepEqual(tampered, oci);
  const fixed = fixChecksums(tampered);
  await rejectsWith(sb.store.load(stream(fixed)), 'invalid', /^image archive: blob blobs\/sha256\/[0-9a-f]{64} does not match its digest$/);
  assertStoreEmpty(sb);
  assertNothingOutside(sb);
});

/** Recomputes every header checksum of a tar whose data was edited in place. */
function fixChecksums(bytes: Buffer): Buffer {
  const out = Buffer.from(bytes);
  let at = 0;
  while (at + 512 <= out.length && out.subarray(at, at + 512).some((b) => b !== 0)) {
    const h = out.subarray(at, at + 512);
    const size = parseInt(h.toString('latin1', 124, 136).replace(/\0.*$/, ''), 8);
    h.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

test('load: real `docker save` output, plain and gzip, gives the id Docker has', async (t) => {
  if (!requireDocker(t)) return;
  ensureBusybox();
  const sb = await sandbox(t);
  const dockerId = spawnSync('docker', ['image', 'inspect', '--format', '{{.Id}}', BUSYBOX], { encoding: 'utf8' }).stdout.trim();
  const saved = await new Promise<Buffer>((resolve, reject) => {
    const child = spawn('docker', ['save', BUSYBOX], { stdio: ['ignore', 'pipe', 'inherit'] });
    const parts: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => parts.push(d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(Buffer.concat(parts)) : reject(new Error(`docker save: exit ${code}`))));
  });
  const [image] = await sb.store.load(stream(saved));
  assert.ok(image);
  assert.equal(image.id, dockerId);
  assert.deepEqual(image.repoTags, ['busybox:latest']);
  assert.ok(lstatSync(join(rootfsOf(image), 'bin/busybox')).isFile());
  const dockerSize = Number(spawnSync('docker', ['image', 'inspect', '--format', '{{.Size}}', BUSYBOX], { encoding: 'utf8' }).stdout.trim());
  assert.ok(Math.abs(image.size - dockerSize) <= dockerSize * 0.01, `${image.size} vs docker's ${dockerSize}`);
  // Every name in Docker's layer is in the flattened root.
  const layerNames = spawnSync('sh', ['-c', `docker save ${BUSYBOX} | tar -xO --wildcards '*/layer.tar' | tar -t`], { encoding: 'utf8', maxBuffer: 1 << 26 }).stdout.split('\n').filter(Boolean);
  assert.ok(layerNames.length > 3);
  for (const name of layerNames) assert.ok(lstatSync(join(rootfsOf(image), name)), name);
  // gzip'd: the same image, not extracted again.
  const again = await sb.store.load(stream(gzipSync(saved)));
  assert.deepEqual(again.map((i) => i.id), [dockerId]);
  assert.equal((await sb.store.list()).length, 1);
});

/** Bytes of a layer's regular files (hard links not again) and symlink targets, as GNU tar lists them. */
function layerBytes(layer: Buffer): number {
  const r = spawnSync('tar', ['-tvz'.slice(0, layer[0] === 0x1f ? 4 : 3), '--numeric-owner'], { input: layer, encoding: 'utf8' });
  let n = 0;
  for (const line of r.stdout.split('\n')) {
    const f = line.split(/\s+/);
    if (line.startsWith('-')) n += Number(f[2]);
    else if (line.startsWith('l')) n += Buffer.byteLength(line.slice(line.indexOf(' -> ') + 4));
  }
  return n;
}
