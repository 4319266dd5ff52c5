/** The cheap mount checks (statfs) agree with mountinfo for the daemon's overlays and namespace files. Root only. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isMountPoint, mountOverlay, overlayMounted, unmountAll } from '../../../src/daemon/runtime/rootfs.js';
import { createNetns, isNetnsMounted, nsfsMounts, removeNetns } from '../../../src/daemon/network/sandbox.js';
import { requireRoot } from '../../helpers/root.js';

test('overlayMounted: true exactly while an overlay is mounted there', { timeout: 30_000 }, async (t) => {
  if (!requireRoot(t, ['mount', 'umount'])) return;
  const dir = mkdtempSync(join(tmpdir(), 'flt-mc-'));
  t.after(async () => {
    await unmountAll(join(dir, 'rootfs')).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });
  for (const d of ['lower', 'upper', 'work', 'rootfs']) mkdirSync(join(dir, d));
  writeFileSync(join(dir, 'lower', 'hello'), 'hi\n');
  const rootfs = join(dir, 'rootfs');
  assert.equal(await overlayMounted(rootfs), false, 'a plain directory');
  assert.equal(await overlayMounted(join(dir, 'missing')), false, 'a missing path');
  assert.equal(await mountOverlay([join(dir, 'lower')], join(dir, 'upper'), join(dir, 'work'), rootfs), true);
  assert.equal(await overlayMounted(rootfs), true);
  assert.equal(isMountPoint(rootfs), true, 'mountinfo agrees');
  assert.equal(await mountOverlay([join(dir, 'lower')], join(dir, 'upper'), join(dir, 'work'), rootfs), false, 'not mounted twice');
  await unmountAll(rootfs);
  assert.equal(await overlayMounted(rootfs), false);
  assert.equal(isMountPoint(rootfs), false, 'mountinfo agrees');
});

test('isNetnsMounted: true exactly while a namespace is mounted on the file', { timeout: 30_000 }, async (t) => {
  if (!requireRoot(t, ['unshare', 'ip', 'umount'])) return;
  const dir = mkdtempSync(join(tmpdir(), 'flt-mc-'));
  const path = join(dir, 'ns');
  t.after(async () => {
    await removeNetns(path).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });
  writeFileSync(path, '');
  assert.equal(await isNetnsMounted(path), false, 'a plain file');
  assert.equal(await isNetnsMounted(join(dir, 'missing')), false, 'a missing file');
  await createNetns(path);
  assert.equal(await isNetnsMounted(path), true);
  assert.deepEqual(await nsfsMounts(dir), [path], 'mountinfo agrees');
  await createNetns(path, ['link set dev lo up']); // kept, not mounted twice
  assert.deepEqual(await nsfsMounts(dir), [path]);
  await removeNetns(path);
  assert.equal(await isNetnsMounted(path), false);
  assert.deepEqual(await nsfsMounts(dir), []);
});
