/**
 * resolveInView (`cp` on the embedded engine): symlinks are followed as the container sees them,
 * through mounts, and the result is a container path.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveInView, type FilesystemView } from '../../../src/daemon/containers/archive.js';

test('links are followed after a missing folder and .., absolute links restart at the root, .. stops there', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'flotilla-view-'));
  t.after(() => rmSync(base, { recursive: true, force: true }));
  const rootfs = join(base, 'rootfs');
  mkdirSync(join(rootfs, 'srv', 'data'), { recursive: true });
  symlinkSync('/srv/data', join(rootfs, 'data'));
  symlinkSync('../../../../etc', join(rootfs, 'srv', 'up'));
  const view: FilesystemView = { rootfs, mounts: [], unreachable: [] };
  assert.equal(await resolveInView(view, '/missing/../data/f', true), '/srv/data/f', 'the link after .. is followed');
  assert.equal(await resolveInView(view, '/data', false), '/data', 'the last link kept when not followed');
  assert.equal(await resolveInView(view, '/data', true), '/srv/data');
  assert.equal(await resolveInView(view, '/srv/up/passwd', true), '/etc/passwd', '.. stops at the root');
  assert.equal(await resolveInView(view, '/nope/a/../b', true), '/nope/b');
});
