/**
 * Nothing a container or an image holds makes it impossible to remove, and nothing an interrupted
 * removal leaves stops the daemon from starting (issue 15, items 1 and 2): paths thousands of
 * levels deep in a container's changes, in a volume, in an image layer, and as leftovers.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { deepTree } from '../helpers/deep-tree.js';
import { useTestDaemon } from '../helpers/embedded-daemon.js';
import { requireRoot } from '../helpers/root.js';
import { waitFor } from '../helpers/wait.js';
import { containerSpec } from '../engine/contract.js';
import { file, tar } from '../daemon/images/tarball.js';

const testDaemon = useTestDaemon();

/** What `mkdir d && cd d` 2,000 times makes, in `/` and `/vol`: 4,000 bytes inside the container, past PATH_MAX on the host. */
const DIG = `p=$(printf 'd/%.0s' $(seq 2000)) && mkdir -p "/$p" "/vol/$p" && echo dug > "/\${p}f" && echo dug > "/vol/\${p}f"`;

describe('removal at any depth', { concurrency: false }, () => {
  it('removes a container that dug 2,000 levels deep, and a volume it dug into', async (t) => {
    const d = testDaemon();
    if (!requireRoot(t) || !d) return;
    const volume = await d.engine.createVolume({ name: `flt-rm-deep-${process.pid}`, driverOpts: {}, labels: {} });
    const id = await d.engine.createContainer(
      containerSpec(`flt-rm-digger-${process.pid}`, { command: ['sh', '-c', DIG], mounts: [{ type: 'volume', source: volume.name, target: '/vol', readOnly: false }] }),
    );
    await d.engine.startContainer(id);
    assert.equal(await d.engine.waitContainer(id), 0);
    // What `down` does: before the fix, ENAMETOOLONG on every retry and a half-removed container.
    await d.engine.removeContainer(id, { force: true, volumes: true });
    assert.equal(await d.engine.inspectContainer(id), null);
    await d.engine.removeVolume(volume.name);
    assert.equal((await d.engine.listVolumes({})).some((v) => v.name === volume.name), false);
    assert.deepEqual(readdirSync(d.paths.containers), []);
    assert.deepEqual(readdirSync(d.paths.volumes), []);
  });

  it('removes an image holding a 2,000-level path', async (t) => {
    const d = testDaemon();
    if (!requireRoot(t) || !d) return;
    const name = `${'d/'.repeat(2000)}f`;
    const layer = tar([file('top', 'x'), file(name.slice(-90), 'deep', { pax: { path: name } })]);
    const ref = `flt-rm-deep-image:${process.pid}`;
    const imported = await d.engine.importImage(Readable.from([layer]), ref);
    await d.engine.removeImage(ref);
    assert.equal(await d.engine.inspectImage(imported.id), null);
    assert.deepEqual(readdirSync(d.paths.images).filter((n) => n.startsWith('.') || n === imported.id.slice(7)), []);
  });

  it('starts over deep leftovers of interrupted removals, and removes them', async (t) => {
    const d = testDaemon();
    if (!requireRoot(t) || !d) return;
    await d.kill();
    // As a daemon killed during removals leaves them (before the fix, every later command failed
    // with "the Flotilla daemon did not start").
    const planted = [join(d.paths.images, '.tmp-rm-0123'), join(d.paths.containers, 'a'.repeat(64)), join(d.paths.containers, `.rm-${'b'.repeat(64)}-01234567`), join(d.paths.volumes, '.rm-vol-89abcdef')];
    for (const p of planted) {
      mkdirSync(p, { recursive: true });
      deepTree(p, 2100);
    }
    await d.start();
    assert.equal((await d.engine.version()).engine, 'embedded');
    // Out of the stores' sight at once (renamed), removed in the background.
    await waitFor('the leftovers to go', () => readdirSync(d.paths.containers).length === 0 && readdirSync(d.paths.volumes).length === 0 && !readdirSync(d.paths.images).some((n) => n.startsWith('.')), 120_000);
    assert.ok(planted.every((p) => !existsSync(p)));
  });
});
