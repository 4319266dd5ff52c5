/** The per-container parents get ext4's 'T' hint where the filesystem has it; elsewhere the daemon says so and goes on. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FS_MAGIC } from '../../../src/daemon/fs-type.js';
import { spreadSubdirectories } from '../../../src/daemon/state/spread-dirs.js';

function attributes(path: string): string {
  const r = spawnSync('lsattr', ['-d', path], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim().split(/\s+/)[0] ?? '';
}

test('makes the directories with their modes, and marks them T on ext4', { timeout: 10_000 }, async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'flt-spread-'));
  t.after(() => rmSync(base, { recursive: true, force: true }));
  const lines: string[] = [];
  const dirs = [
    { path: join(base, 'containers'), mode: 0o700 },
    { path: join(base, 'run', 'runc'), mode: 0o700 },
  ];
  await spreadSubdirectories(dirs, (l) => lines.push(l));
  for (const d of dirs) assert.equal(statSync(d.path).mode & 0o777, d.mode, d.path);
  if (statfsSync(base).type === FS_MAGIC.ext4) {
    for (const d of dirs) assert.match(attributes(d.path), /T/, `${d.path} has the T attribute`);
    assert.deepEqual(lines, []);
  } else {
    assert.equal(lines.length, 1, 'one line says the hint was not taken');
  }
  await spreadSubdirectories(dirs, (l) => lines.push(l)); // again: nothing changes, nothing fails
  for (const d of dirs) assert.equal(statSync(d.path).mode & 0o777, d.mode);
});

test('a filesystem without the attribute (tmpfs) is logged once and left alone', { timeout: 10_000 }, async (t) => {
  if (statfsSync('/dev/shm', { bigint: false }).type === FS_MAGIC.ext4) return t.skip('/dev/shm is not a tmpfs here');
  const base = mkdtempSync('/dev/shm/flt-spread-');
  t.after(() => rmSync(base, { recursive: true, force: true }));
  const lines: string[] = [];
  await spreadSubdirectories([{ path: join(base, 'containers'), mode: 0o700 }], (l) => lines.push(l));
  assert.equal(statSync(join(base, 'containers')).isDirectory(), true);
  assert.equal(lines.length, 1);
  assert.match(lines[0] ?? '', /chattr \+T .*going on without it/);
});
