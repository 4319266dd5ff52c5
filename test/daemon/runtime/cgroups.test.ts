/**
 * The daemon's parent cgroup, on the host's real cgroup filesystem: it goes when its last
 * container's cgroup does, never while a container is being created in it.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { posix } from 'node:path';
import { test, type TestContext } from 'node:test';
import { CgroupParentGate, cgroupMountPoints, removeCgroups } from '../../../src/daemon/runtime/cgroups.js';
import { requireRoot } from '../../helpers/root.js';

/** A parent cgroup of this test's own, removed (with what is in it) when the test ends. */
function parentFor(t: TestContext): string {
  const parent = `/flotilla-gate-test-${process.pid}-${Math.random().toString(16).slice(2, 8)}`;
  t.after(async () => {
    await removeCgroups(parent);
  });
  return parent;
}

/** runc's own `mkdir -p` of a container's cgroup, in every hierarchy. */
function makeCgroup(path: string): void {
  for (const root of cgroupMountPoints()) mkdirSync(posix.join(root, path), { recursive: true });
}

const inEvery = (path: string) => cgroupMountPoints().every((root) => existsSync(posix.join(root, path)));
const inNone = (path: string) => cgroupMountPoints().every((root) => !existsSync(posix.join(root, path)));

test('the parent stays while a create runs, and goes once the last container cgroup has', async (t) => {
  if (!requireRoot(t, [])) return;
  const parent = parentFor(t);
  const gate = new CgroupParentGate(parent);
  makeCgroup(`${parent}/a`);
  await removeCgroups(`${parent}/a`);
  await gate.whileCreating(async () => {
    await gate.removeIfUnused(); // another container's release, during this create
    assert.ok(inEvery(parent), 'the parent was removed under a running create');
    makeCgroup(`${parent}/b`);
  });
  await gate.removeIfUnused();
  assert.ok(inEvery(`${parent}/b`), 'a parent with a container in it stays');
  await removeCgroups(`${parent}/b`);
  await gate.removeIfUnused();
  assert.ok(inNone(parent), 'the empty parent is removed');
});

test('a create that begins during a removal waits for it to finish', async (t) => {
  if (!requireRoot(t, [])) return;
  const parent = parentFor(t);
  const gate = new CgroupParentGate(parent);
  makeCgroup(parent);
  const removal = gate.removeIfUnused();
  let sawParent: boolean | undefined;
  const create = gate.whileCreating(async () => {
    sawParent = inEvery(parent);
    makeCgroup(`${parent}/c`);
  });
  await Promise.all([removal, create]);
  assert.equal(sawParent, false, 'the create ran before the removal had finished');
  assert.ok(inEvery(`${parent}/c`));
});
