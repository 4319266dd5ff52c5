/**
 * The image store's limits set in the daemon's daemon.json (issue 15, item 9): a lowered size cap
 * and path length refuse, through the CLI, an image past them with one clear line, and leave no
 * blob, snapshot or image behind; an image within them imports.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { assertCleanError } from '../helpers/cli.js';
import { embeddedCli, succeeded } from '../helpers/embedded-cli.js';
import { useTestDaemon } from '../helpers/embedded-daemon.js';
import { requireRoot } from '../helpers/root.js';
import { assertStoreEmpty } from '../daemon/images/fixtures.js';
import { file, tar } from '../daemon/images/tarball.js';

const testDaemon = useTestDaemon({ importBusybox: false, daemonJson: { 'image-limits': { 'max-image-size': '2m', 'max-path-length': 200 } } });
const cli = embeddedCli(testDaemon);
const dir = mkdtempSync(join(tmpdir(), 'flt-image-limits-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function tarball(name: string, items: Parameters<typeof tar>[0]): string {
  const path = join(dir, name);
  writeFileSync(path, tar(items));
  return path;
}

describe('image limits from daemon.json', { concurrency: false }, () => {
  it('refuses an image over the lowered size cap, leaving nothing in the store', (t) => {
    const d = testDaemon();
    if (!requireRoot(t) || !d) return;
    // 2.5 MiB in two files: the second passes the cap of 2 MiB.
    const big = tarball('big.tar', [file('a', Buffer.alloc(1536 * 1024, 1)), file('b', Buffer.alloc(1024 * 1024, 2))]);
    const ref = `flt-limit-big:${process.pid}`;
    assertCleanError(cli(dir, ['image', 'import', big, ref]), /^ERROR: layer 1 of flt-limit-big:\d+: entry "b" \(1048576 bytes\) would make the image larger than the limit of 2 MiB\n$/);
    assertStoreEmpty(d);
    assert.doesNotMatch(succeeded(cli(dir, ['image', 'ls']), 'image ls'), /flt-limit-big/);
  });

  it('refuses a path longer than the lowered path length', (t) => {
    const d = testDaemon();
    if (!requireRoot(t) || !d) return;
    const deep = `${'d/'.repeat(100)}f`;
    const path = tarball('deep.tar', [file('top', 'x'), file('long', 'deep', { pax: { path: deep } })]);
    assertCleanError(cli(dir, ['image', 'import', path, `flt-limit-deep:${process.pid}`]), /entry name "d\/d\/.*"\.\.\. is longer than 200 bytes\n$/);
    assertStoreEmpty(d);
  });

  it('imports an image within the limits', (t) => {
    const d = testDaemon();
    if (!requireRoot(t) || !d) return;
    const ref = `flt-limit-small:${process.pid}`;
    const small = tarball('small.tar', [file('a', Buffer.alloc(1024 * 1024, 1)), file('short', 'x', { pax: { path: `${'d/'.repeat(90)}f` } })]);
    succeeded(cli(dir, ['image', 'import', small, ref]), 'image import');
    assert.match(succeeded(cli(dir, ['image', 'ls']), 'image ls'), /flt-limit-small/);
  });
});
