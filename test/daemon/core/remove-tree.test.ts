/**
 * The daemon's one removal primitive: any depth (past PATH_MAX, where fs.rm fails), any bytes in
 * names, symlinks never followed, never into another filesystem; leftovers never throw.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { moveAside, removeLeftover, removeTree, TreeRemovalError } from '../../../src/daemon/state/remove-tree.js';
import { deepTree, removeAnyDepth } from '../../helpers/deep-tree.js';
import { requireRoot } from '../../helpers/root.js';

function base(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'flt-rmtree-'));
  t.after(() => removeAnyDepth(dir));
  return dir;
}

test('a tree deeper than PATH_MAX is removed, where fs.rm fails', async (t) => {
  const dir = base(t);
  const victim = join(dir, 'victim');
  mkdirSync(victim);
  deepTree(victim, 2100);
  // The class of bug: any removal by whole paths fails here.
  await assert.rejects(rm(victim, { recursive: true, force: true }), { code: 'ENAMETOOLONG' });
  await removeTree(victim);
  assert.deepEqual(readdirSync(dir), []);
});

test('several deep branches, wide folders, names of any bytes', async (t) => {
  const dir = base(t);
  const victim = join(dir, 'victim');
  mkdirSync(join(victim, 'wide'), { recursive: true });
  for (let i = 0; i < 700; i++) writeFileSync(join(victim, 'wide', `f${i}`), 'x');
  for (const b of ['a', 'b']) {
    mkdirSync(join(victim, b));
    deepTree(join(victim, b), 1400, 'dd');
  }
  // Not UTF-8: a name read back as a string would no longer name the file.
  writeFileSync(Buffer.from(`${victim}/bad-\xff\xfe-name`, 'latin1'), 'x');
  mkdirSync(Buffer.from(`${victim}/dir-\xff`, 'latin1'));
  writeFileSync(Buffer.from(`${victim}/dir-\xff/inside`, 'latin1'), 'x');
  await removeTree(victim);
  assert.deepEqual(readdirSync(dir), []);
});

test('symlinks are removed, never followed; a missing path is no error; a file is unlinked', async (t) => {
  const dir = base(t);
  const outside = join(dir, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'keep'), 'keep');
  const victim = join(dir, 'victim');
  mkdirSync(join(victim, 'sub'), { recursive: true });
  symlinkSync(outside, join(victim, 'sub', 'to-dir'));
  symlinkSync(join(outside, 'keep'), join(victim, 'to-file'));
  symlinkSync('/nonexistent', join(victim, 'dangling'));
  await removeTree(victim);
  assert.equal(existsSync(victim), false);
  assert.equal(readFileSync(join(outside, 'keep'), 'utf8'), 'keep');
  await removeTree(join(dir, 'never-was'));
  symlinkSync(outside, join(dir, 'link'));
  await removeTree(join(dir, 'link'));
  assert.equal(readFileSync(join(outside, 'keep'), 'utf8'), 'keep');
  assert.deepEqual(readdirSync(dir), ['outside']);
});

test('a filesystem mounted inside is refused, its files untouched; as a leftover it is logged, not thrown', async (t) => {
  if (!requireRoot(t, ['mount', 'umount'])) return;
  const dir = base(t);
  const victim = join(dir, 'victim');
  const mnt = join(victim, 'a', 'mnt');
  mkdirSync(mnt, { recursive: true });
  assert.equal(spawnSync('mount', ['-t', 'tmpfs', 'tmpfs', mnt]).status, 0);
  t.after(() => void spawnSync('umount', ['-l', mnt]));
  writeFileSync(join(mnt, 'precious'), 'x');
  await assert.rejects(removeTree(victim), (e: unknown) => e instanceof TreeRemovalError && e.code === 'EXDEV' && e.path === mnt);
  assert.equal(readFileSync(join(mnt, 'precious'), 'utf8'), 'x');
  const lines: string[] = [];
  assert.equal(await removeLeftover(victim, (l) => lines.push(l)), false);
  assert.equal(lines.length, 1);
  assert.match(lines[0] ?? '', /another filesystem is mounted there.*retried at the next start$/);
  assert.equal(spawnSync('umount', [mnt]).status, 0);
  assert.equal(await removeLeftover(victim, (l) => lines.push(l)), true);
  assert.deepEqual(readdirSync(dir), []);
});

test('moveAside renames to a fresh sibling each time, and says when there was nothing', async (t) => {
  const dir = base(t);
  mkdirSync(join(dir, 'x'));
  const first = await moveAside(join(dir, 'x'), '.rm-');
  mkdirSync(join(dir, 'x'));
  writeFileSync(join(dir, 'x', 'f'), '');
  const second = await moveAside(join(dir, 'x'), '.rm-');
  assert.ok(first && second && first !== second);
  assert.match(first, /\/\.rm-x-[0-9a-f]{8}$/);
  assert.equal(await moveAside(join(dir, 'x'), '.rm-'), null);
  assert.deepEqual(readdirSync(dir).sort(), [first, second].map((p) => p.slice(dir.length + 1)).sort());
});
