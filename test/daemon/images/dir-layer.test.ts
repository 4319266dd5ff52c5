/**
 * A directory made into a layer (what a build step commits from its overlay upper dir): overlay
 * whiteouts and opaque directories become OCI whiteouts, extended attributes (file capabilities,
 * binary user.* values) and owners, modes, hard links, symlinks and FIFOs survive, overlay's own
 * attributes do not. Checked twice: the tar as GNU tar lists and extracts it, and the snapshot the
 * store unpacks from it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chownSync, chmodSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { dirLayerTar } from '../../../src/daemon/images/dir-layer.js';
import { requireRoot } from '../../helpers/root.js';
import { sandbox } from './fixtures.js';

const CAPABILITY = '0100000200040000000000000000000000000000'; // cap_net_bind_service+ep, VFS revision 2
const BINARY = '00ff0a3d8020';

function sh(cwd: string, command: string): void {
  const r = spawnSync('sh', ['-c', command], { cwd, encoding: 'utf8' });
  assert.equal(r.status, 0, `${command}: ${r.stderr}`);
}

/** An overlay upper dir as a RUN step leaves it. */
function upperDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'flt-upper-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'bin'));
  writeFileSync(join(dir, 'bin/ping'), 'ping');
  chmodSync(join(dir, 'bin/ping'), 0o4755);
  writeFileSync(join(dir, 'bin/server'), 'server');
  sh(dir, `setfattr -n security.capability -v 0x${CAPABILITY} bin/server && setfattr -n user.blob -v 0x${BINARY} bin/server`);
  linkSync(join(dir, 'bin/server'), join(dir, 'bin/server-again'));
  symlinkSync('server', join(dir, 'bin/srv'));
  mkdirSync(join(dir, 'etc'));
  sh(dir, 'mknod etc/gone c 0 0'); // overlay's mark of a deleted file
  mkdirSync(join(dir, 'cache'));
  writeFileSync(join(dir, 'cache/new'), 'n');
  sh(dir, 'setfattr -n trusted.overlay.opaque -v y cache && setfattr -n trusted.overlay.origin -v 0x00fb cache');
  writeFileSync(join(dir, 'etc/owned'), 'o');
  chownSync(join(dir, 'etc/owned'), 70_000, 70_001);
  sh(dir, 'mkfifo etc/pipe');
  writeFileSync(join(dir, `${'ü'.repeat(60)}.txt`), 'long');
  return dir;
}

async function collect(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

test('dirLayerTar: whiteouts and opaque dirs as OCI marks, capabilities and binary xattrs kept, overlay attributes dropped', async (t) => {
  if (!requireRoot(t, ['setfattr', 'getfattr', 'mknod', 'mkfifo', 'tar'])) return;
  const upper = upperDir(t);
  const archive = await collect(await dirLayerTar(upper));
  const listed = spawnSync('tar', ['--numeric-owner', '-tv'], { input: archive, encoding: 'utf8' });
  assert.equal(listed.status, 0, listed.stderr);
  const lines = listed.stdout.trim().split('\n');
  const names = lines.map((l) => l.split(/\s+/).slice(5).join(' '));
  assert.deepEqual(names, [
    'bin/',
    'bin/ping',
    'bin/server',
    'bin/server-again link to bin/server',
    'bin/srv -> server',
    'cache/',
    'cache/.wh..wh..opq',
    'cache/new',
    'etc/',
    'etc/.wh.gone',
    'etc/owned',
    'etc/pipe',
    `${'ü'.repeat(60)}.txt`,
  ]);
  assert.match(lines[1] ?? '', /^-rwsr-xr-x /);
  assert.match(lines[10] ?? '', / 70000\/70001 /);
  assert.match(lines[11] ?? '', /^p/);

  const out = mkdtempSync(join(tmpdir(), 'flt-layer-out-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  const x = spawnSync('tar', ['--xattrs', '--xattrs-include=*', '-x', '-C', out], { input: archive, encoding: 'utf8' });
  assert.equal(x.status, 0, x.stderr);
  const attrs = spawnSync('getfattr', ['-R', '-d', '-m', '-', '-e', 'hex', '.'], { cwd: out, encoding: 'utf8' }).stdout;
  assert.match(attrs, new RegExp(`# file: bin/server\\nsecurity\\.capability=0x${CAPABILITY}\\nuser\\.blob=0x${BINARY}\\n`));
  assert.doesNotMatch(attrs, /trusted\.overlay/, 'overlay bookkeeping is not part of a layer');
  assert.equal(lstatSync(join(out, 'bin/server')).ino, lstatSync(join(out, 'bin/server-again')).ino);

  // The same tree twice gives the same bytes (a build cache relies on the diff id).
  assert.ok(archive.equals(await collect(await dirLayerTar(upper))));
});

test('addLayerFromDir: the snapshot has overlay whiteouts, the opaque mark, capabilities and owners back', async (t) => {
  if (!requireRoot(t, ['setfattr', 'getfattr', 'mknod', 'mkfifo'])) return;
  const upper = upperDir(t);
  const sb = await sandbox(t);
  const layer = await sb.store.addLayerFromDir(upper, { label: 'step 1' });
  assert.match(layer.diffId, /^sha256:[0-9a-f]{64}$/);
  assert.equal(layer.mediaType, 'application/vnd.docker.image.rootfs.diff.tar');
  const fs = sb.store.snapshots.path(layer.diffId);
  const gone = lstatSync(join(fs, 'etc/gone'));
  assert.ok(gone.isCharacterDevice() && gone.rdev === 0, 'a whiteout again');
  const attrs = spawnSync('getfattr', ['-R', '-d', '-m', '-', '-e', 'hex', '.'], { cwd: fs, encoding: 'utf8' }).stdout;
  assert.match(attrs, /# file: cache\ntrusted\.overlay\.opaque=0x79\n/);
  assert.match(attrs, new RegExp(`# file: bin/server\\nsecurity\\.capability=0x${CAPABILITY}\\nuser\\.blob=0x${BINARY}\\n`));
  assert.doesNotMatch(attrs, /trusted\.overlay\.origin/);
  assert.equal(lstatSync(join(fs, 'bin/ping')).mode & 0o7777, 0o4755);
  assert.deepEqual([lstatSync(join(fs, 'etc/owned')).uid, lstatSync(join(fs, 'etc/owned')).gid], [70_000, 70_001]);
  assert.equal(lstatSync(join(fs, 'bin/server')).ino, lstatSync(join(fs, 'bin/server-again')).ino);
  assert.ok(lstatSync(join(fs, 'etc/pipe')).isFIFO());
  assert.equal(readFileSync(join(fs, `${'ü'.repeat(60)}.txt`), 'utf8'), 'long');
});
