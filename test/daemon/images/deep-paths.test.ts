/**
 * An image whose layer holds a path thousands of levels deep is removed like any other, and what
 * an interrupted removal or unpack leaves never stops the store from opening (issue 15, item 1).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { deepTree } from '../../helpers/deep-tree.js';
import { requireRoot } from '../../helpers/root.js';
import { sandbox, stream } from './fixtures.js';
import { file, tar } from './tarball.js';

const notUsed = (): boolean => false;

/** A layer with `d/d/…/f`, `levels` deep, named by a PAX path record (10 KB of tar). */
function deepLayer(levels: number): Buffer {
  const name = `${'d/'.repeat(levels)}f`;
  return tar([file('top', 'x'), file(name.slice(-90), 'deep', { pax: { path: name } })]);
}

test('an image holding a 2,000-level path is imported and removed, nothing left', async (t) => {
  const sb = await sandbox(t);
  const image = await sb.store.importRootfs(stream(deepLayer(2000)), { reference: 'deep:1' });
  const [layer] = image.layers;
  assert.ok(layer !== undefined && join(layer, 'd/'.repeat(2000)).length > 4096, 'deeper than PATH_MAX in place');
  assert.deepEqual(await sb.store.remove('deep:1', { force: false, inUse: notUsed }), { untagged: ['deep:1'], deleted: [image.id] });
  assert.equal(existsSync(layer), false);
  assert.deepEqual(readdirSync(join(sb.paths.images, 'snapshots')), []);
  assert.deepEqual(sb.warnings, []);
  assert.deepEqual(await (await sb.reopen()).list(), []);
});

test('deep leftovers of interrupted work do not stop the store from opening, and go', async (t) => {
  const sb = await sandbox(t);
  const kept = await sb.store.importRootfs(stream(tar([file('a', 'a')])), { reference: 'kept:1' });
  // As a daemon killed mid-way leaves them: a removal's and a load's temporaries, a snapshot being unpacked or removed.
  const leftovers = [join(sb.paths.images, '.tmp-load-0123'), join(sb.paths.images, 'snapshots', '.tmp-0123456789abcdef'), join(sb.paths.images, 'snapshots', '.tmp-rm-01234567')];
  for (const dir of leftovers) {
    mkdirSync(join(dir, 'fs'), { recursive: true });
    deepTree(join(dir, 'fs'), 2100);
  }
  const reopened = await sb.reopen();
  await reopened.whenLeftoversRemoved();
  for (const dir of leftovers) assert.equal(existsSync(dir), false, dir);
  assert.deepEqual((await reopened.list()).map((i) => i.repoTags), [['kept:1']]);
  assert.ok(existsSync(join(kept.layers[0] as string, 'a')));
  assert.deepEqual(sb.warnings, []);
});

test('a leftover that cannot be removed is reported, and the store opens all the same', async (t) => {
  if (!requireRoot(t, ['mount', 'umount'])) return;
  const sb = await sandbox(t);
  const leftover = join(sb.paths.images, '.tmp-stuck');
  const mnt = join(leftover, 'mnt');
  mkdirSync(mnt, { recursive: true });
  assert.equal(spawnSync('mount', ['-t', 'tmpfs', 'tmpfs', mnt]).status, 0);
  t.after(() => void spawnSync('umount', ['-l', mnt]));
  writeFileSync(join(mnt, 'kept'), 'x');
  const reopened = await sb.reopen();
  await reopened.whenLeftoversRemoved();
  assert.equal(sb.warnings.length, 1);
  assert.match(sb.warnings[0] ?? '', /another filesystem is mounted there; unmount it first; left in place and retried at the next start$/);
  assert.ok(existsSync(join(mnt, 'kept')), 'nothing removed through the mount');
  assert.equal(spawnSync('umount', [mnt]).status, 0);
  await (await sb.reopen()).whenLeftoversRemoved();
  assert.equal(existsSync(leftover), false);
});
