/** importRootfs: the busybox root filesystem, the config `docker import` would write, owners, modes, times. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createReadStream, lstatSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { busyboxRootfsTar } from '../../helpers/embedded-images.js';
import { requireRoot } from '../../helpers/root.js';
import { assertNothingOutside, rejectsWith, sandbox, sha256, stream, rootfsOf } from './fixtures.js';
import { dir, file, symlink, tar } from './tarball.js';

const BUSYBOX = '/bin/busybox';
const applets = (): string[] => spawnSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).stdout.split('\n').filter((a) => a !== '' && a !== 'busybox');

test('scripts/busybox-rootfs: busybox, a link per applet, passwd, group, a sticky /tmp', async () => {
  const listing = spawnSync('tar', ['-tvf', await busyboxRootfsTar(), '--numeric-owner'], { encoding: 'utf8' }).stdout;
  assert.match(listing, /^-rwxr-xr-x 0\/0 +\d+ .* \.\/bin\/busybox$/m);
  assert.match(listing, /^lrwxrwxrwx 0\/0 +0 .* \.\/bin\/sh -> \/bin\/busybox$/m);
  assert.match(listing, /^drwxrwxrwt 0\/0 +0 .* \.\/tmp\/$/m);
  for (const d of ['proc', 'sys', 'dev', 'etc', 'root', 'var/run']) assert.match(listing, new RegExp(`\\./${d}/$`, 'm'), d);
  assert.equal(listing.match(/ -> \/bin\/busybox$/gm)?.length, applets().length);
  assert.equal(await busyboxRootfsTar(), await busyboxRootfsTar(), 'built once per process');
});

test('importRootfs: the busybox root filesystem, applets, links, modes, owners and times', async (t) => {
  const sb = await sandbox(t);
  const tarPath = await busyboxRootfsTar();
  const image = await sb.store.importRootfs(createReadStream(tarPath), { reference: 'busybox:imported', config: { Cmd: ['sh'] } });
  const root = rootfsOf(image);
  assert.deepEqual(image.layers, [join(sb.paths.images, 'snapshots', image.id === '' ? '' : (JSON.parse(readFileSync(join(sb.paths.images, 'blobs', 'sha256', image.id.slice(7)), 'utf8')) as { rootfs: { diff_ids: string[] } }).rootfs.diff_ids[0]!.slice(7), 'fs')]);
  assert.deepEqual(image.repoTags, ['busybox:imported']);
  assert.equal(image.architecture, process.arch === 'x64' ? 'amd64' : process.arch);
  assert.equal(image.os, 'linux');
  assert.deepEqual(image.config, { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] });
  assert.ok(Math.abs(Date.parse(image.created) - Date.now()) < 60_000);

  const bb = statSync(join(root, 'bin/busybox'));
  assert.ok(bb.isFile());
  assert.equal(bb.mode & 0o7777, 0o755);
  assert.equal(sha256(readFileSync(join(root, 'bin/busybox'))), sha256(readFileSync(BUSYBOX)));
  const busyboxMtime = Math.floor(statSync(BUSYBOX).mtimeMs / 1000);
  assert.equal(Math.floor(bb.mtimeMs / 1000), busyboxMtime);
  for (const applet of applets()) {
    const p = join(root, 'bin', applet);
    assert.ok(lstatSync(p).isSymbolicLink(), applet);
    assert.equal(readlinkSync(p), '/bin/busybox', applet);
  }
  assert.equal(lstatSync(join(root, 'tmp')).mode & 0o7777, 0o1777);
  assert.equal(lstatSync(join(root, 'root')).mode & 0o7777, 0o700);
  assert.equal(lstatSync(root).mode & 0o7777, 0o755);
  // Directory times are set after their contents are written.
  assert.equal(Math.floor(lstatSync(join(root, 'bin')).mtimeMs / 1000), busyboxMtime);
  assert.equal(Math.floor(lstatSync(root).mtimeMs / 1000), busyboxMtime);
  for (const d of ['proc', 'sys', 'dev', 'var/run']) assert.deepEqual(readdirSync(join(root, d)), [], d);
  assert.match(readFileSync(join(root, 'etc/passwd'), 'utf8'), /^root:x:0:0:root:\/root:\/bin\/sh\nnobody:x:65534:/);
  assert.match(readFileSync(join(root, 'etc/group'), 'utf8'), /^root:x:0:\nnogroup:x:65534:/);
  if (process.getuid?.() === 0) assert.ok([bb, lstatSync(join(root, 'bin/sh')), lstatSync(join(root, 'tmp'))].every((s) => s.uid === 0 && s.gid === 0));
  // Regular files plus symlink lengths.
  assert.equal(image.size, bb.size + readFileSync(join(root, 'etc/passwd')).length + readFileSync(join(root, 'etc/group')).length + applets().length * '/bin/busybox'.length);

  // The config is docker import's, and the id is its sha256.
  const configBytes = readFileSync(join(sb.paths.images, 'blobs', 'sha256', image.id.slice(7)));
  assert.equal(image.id, `sha256:${sha256(configBytes)}`);
  const config = JSON.parse(configBytes.toString()) as { rootfs: { type: string; diff_ids: string[] }; history: unknown[] };
  assert.deepEqual(config.rootfs, { type: 'layers', diff_ids: [`sha256:${sha256(readFileSync(tarPath))}`] });
  assert.equal(config.history.length, 1);
  // The layer blob is the tarball as given; the index names it with its media type and diff id.
  const layer = { digest: `sha256:${sha256(readFileSync(tarPath))}`, mediaType: 'application/vnd.docker.image.rootfs.diff.tar', size: readFileSync(tarPath).length, diffId: `sha256:${sha256(readFileSync(tarPath))}` };
  assert.deepEqual(JSON.parse(readFileSync(join(sb.paths.images, 'index.json'), 'utf8')), { version: 2, images: { [image.id]: { manifest: null, layers: [layer] } }, tags: { 'busybox:imported': image.id }, digests: {} });
  assertNothingOutside(sb);
});

test('importRootfs: gzip input gives the same diff id; no reference leaves the image untagged', async (t) => {
  const sb = await sandbox(t);
  const plain = readFileSync(await busyboxRootfsTar());
  const image = await sb.store.importRootfs(stream(gzipSync(plain), 10_000));
  assert.deepEqual(image.repoTags, []);
  const config = JSON.parse(readFileSync(join(sb.paths.images, 'blobs', 'sha256', image.id.slice(7)), 'utf8')) as { rootfs: { diff_ids: string[] } };
  assert.deepEqual(config.rootfs.diff_ids, [`sha256:${sha256(plain)}`]);
  assert.ok(lstatSync(join(rootfsOf(image), 'bin/busybox')).isFile());
  assert.equal((await sb.store.list()).length, 1);
});

test('importRootfs keeps owners (lchown), setuid/setgid/sticky modes, symlink times, FIFOs and devices under dev/', async (t) => {
  if (!requireRoot(t, ['mknod'])) return;
  const sb = await sandbox(t);
  const archive = tar([
    dir('.', { mode: 0o755 }),
    dir('srv', { mode: 0o2775, uid: 1000, gid: 1001, mtime: 1_000_000 }),
    file('srv/su', '#!/bin/sh\n', { mode: 0o4755, uid: 0, gid: 0 }),
    file('srv/owned', 'x', { mode: 0o6711, uid: 1234, gid: 5678, mtime: 1_111_111 }),
    dir('shared', { mode: 0o1777 }),
    symlink('srv/link', '/etc/passwd', { uid: 1002, gid: 1003, mtime: 1_222_222 }),
    { name: 'srv/pipe', type: '6', mode: 0o620, uid: 7, gid: 8, mtime: 1_333_333 },
    dir('dev'),
    { name: 'dev/null', type: '3', devmajor: 1, devminor: 3, mode: 0o666 },
    { name: 'dev/loop9', type: '4', devmajor: 7, devminor: 9, mode: 0o660, gid: 6 },
  ]);
  const image = await sb.store.importRootfs(stream(archive), { reference: 'owners:1' });
  const at = (p: string) => lstatSync(join(rootfsOf(image), p));
  assert.deepEqual([at('srv').uid, at('srv').gid, at('srv').mode & 0o7777, at('srv').mtimeMs], [1000, 1001, 0o2775, 1_000_000_000]);
  assert.deepEqual([at('srv/su').uid, at('srv/su').mode & 0o7777], [0, 0o4755]);
  assert.deepEqual([at('srv/owned').uid, at('srv/owned').gid, at('srv/owned').mode & 0o7777, at('srv/owned').mtimeMs], [1234, 5678, 0o6711, 1_111_111_000]);
  assert.equal(at('shared').mode & 0o7777, 0o1777);
  const link = at('srv/link');
  assert.deepEqual([link.isSymbolicLink(), link.uid, link.gid, link.mtimeMs], [true, 1002, 1003, 1_222_222_000]);
  assert.notEqual(statSync('/etc/passwd').uid, 1002, 'lchown did not follow the link');
  const pipe = at('srv/pipe');
  assert.deepEqual([pipe.isFIFO(), pipe.uid, pipe.gid, pipe.mode & 0o7777, pipe.mtimeMs], [true, 7, 8, 0o620, 1_333_333_000]);
  const nul = at('dev/null');
  assert.deepEqual([nul.isCharacterDevice(), nul.rdev, nul.mode & 0o7777], [true, (1 << 8) | 3, 0o666]);
  const loop = at('dev/loop9');
  assert.deepEqual([loop.isBlockDevice(), loop.rdev, loop.gid], [true, (7 << 8) | 9, 6]);
  assertNothingOutside(sb);
});

test('extended attributes are kept, binary values and file capabilities too; overlay ones are not', async (t) => {
  const sb = await sandbox(t);
  // cap_net_raw+ep as setcap writes it (VFS_CAP_REVISION_2): bytes over 0x7f included.
  const caps = Buffer.from('0100000200200000000000000000000000000000', 'hex');
  const archive = Buffer.concat([
    paxEntry('bin/ping', 'p', { 'SCHILY.xattr.security.capability': caps }),
    tar([file('bin/other', 'o', { pax: { 'SCHILY.xattr.user.note': 'é n' } }), dir('d', { pax: { 'SCHILY.xattr.trusted.overlay.opaque': 'y' } })]),
  ]);
  const image = await sb.store.importRootfs(stream(archive), { reference: 'xattrs:1' });
  const root = rootfsOf(image);
  const getcap = spawnSync('getfattr', ['-h', '-e', 'hex', '-n', 'security.capability', join(root, 'bin/ping')], { encoding: 'utf8' });
  assert.match(getcap.stdout, new RegExp(`security.capability=0x${caps.toString('hex')}`));
  const note = spawnSync('getfattr', ['-h', '-n', 'user.note', '--only-values', join(root, 'bin/other')]);
  assert.equal(note.stdout.toString(), 'é n');
  const opaque = spawnSync('getfattr', ['-h', '-d', '-m', '-', image.layers[0] + '/d'], { encoding: 'utf8' });
  assert.doesNotMatch(opaque.stdout, /overlay/);
  assert.deepEqual(sb.warnings, ['layer 1 of xattrs:1: overlay attributes in the layer were not kept: trusted.overlay.opaque']);
});

/** One tar entry whose PAX records may hold any bytes (the test writer's values are text). */
function paxEntry(name: string, data: string, records: Record<string, Buffer>): Buffer {
  const body = Buffer.concat(
    Object.entries(records).map(([k, v]) => {
      const rest = Buffer.concat([Buffer.from(` ${k}=`), v, Buffer.from('\n')]);
      let len = rest.length + 1;
      while (String(len).length + rest.length !== len) len = rest.length + String(len).length;
      return Buffer.concat([Buffer.from(String(len)), rest]);
    }),
  );
  const whole = tar([{ name: 'PaxHeaders/x', type: 'x', data: body }, file(name, data)], { end: false });
  return whole;
}

test('importRootfs refuses a bad reference before reading anything', async (t) => {
  const sb = await sandbox(t);
  await rejectsWith(sb.store.importRootfs(stream(tar([file('a', 'b')])), { reference: 'Bad:Ref' }), 'invalid', /^invalid reference format: "Bad:Ref"/);
  await rejectsWith(sb.store.importRootfs(stream(tar([file('a', 'b')])), { reference: `x@sha256:${'a'.repeat(64)}` }), 'invalid', /is a digest reference; a tag is needed here/);
  assert.deepEqual(readdirSync(join(sb.paths.images, 'blobs', 'sha256')), []);
  assert.deepEqual(readdirSync(join(sb.paths.images, 'snapshots')), []);
});
