/**
 * resolveInRoot (the builder's COPY destinations, WORKDIR, files read from an image): whatever
 * links an image holds, the host path it gives is inside the root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { mkdirInRoot, resolveInRoot } from '../../../src/daemon/runtime/rootfs.js';

test('links through missing directories and .. never leave the root; existing links are still followed', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'flotilla-resolve-'));
  t.after(() => rmSync(base, { recursive: true, force: true }));
  const root = join(base, 'rootfs');
  mkdirSync(join(root, 'usr', 'lib'), { recursive: true });
  symlinkSync('missing/../../../../../escaped', join(root, 'app'));
  symlinkSync('/nothere/../../../escaped-abs', join(root, 'abs'));
  symlinkSync('gone/../usr', join(root, 'back'));
  symlinkSync('../../..', join(root, 'usr', 'up'));
  const inside = (p: string) => !relative(root, p).startsWith('..');
  for (const path of ['/app', '/app/x/y', '/abs/z', '/gone/../../../../etc', '/usr/up/up/x']) {
    const host = await resolveInRoot(root, path);
    assert.ok(inside(host), `${path} resolved to ${host}, outside ${root}`);
  }
  assert.equal(await resolveInRoot(root, '/app/x'), join(root, 'escaped', 'x'));
  assert.equal(await resolveInRoot(root, '/back/lib'), join(root, 'usr', 'lib'), 'a link through a missing folder back into the tree');
  await mkdirInRoot(root, '/app/work');
  assert.deepEqual((await import('node:fs')).readdirSync(base), ['rootfs'], 'nothing made beside the root');
});
