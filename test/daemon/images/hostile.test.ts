/**
 * Hostile archives. Each is refused with a message naming the image, the layer and the entry, and
 * leaves nothing in the store and nothing outside it: the targets are a folder beside the store
 * holding a "secret" (reached by the right number of "..", or by its absolute path), and /etc.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { assertNothingOutside, assertStoreEmpty, dockerArchive, rejectsWith, sandbox, stream, type Sandbox, rootfsOf } from './fixtures.js';
import { dir, file, hardlink, opaque, symlink, tar, whiteout, type Item } from './tarball.js';

/** From a layer being unpacked (root/images/snapshots/.tmp-x/fs) up to the sandbox's base folder. */
const UP = '../../../../..';

async function refusedImport(sb: Sandbox, items: Item[] | Buffer, message: RegExp, reference = 'evil:1'): Promise<void> {
  const bytes = Buffer.isBuffer(items) ? items : tar(items);
  await rejectsWith(sb.store.importRootfs(stream(bytes), { reference }), 'invalid', message);
  assertStoreEmpty(sb);
  assertNothingOutside(sb);
  assert.equal(await sb.store.resolve(reference), null);
}

async function refusedLoad(sb: Sandbox, layers: Item[][], message: RegExp): Promise<void> {
  await rejectsWith(sb.store.load(stream(dockerArchive([{ layers: layers.map((l) => tar(l)), tags: ['evil:load'] }]))), 'invalid', message);
  assertStoreEmpty(sb);
  assertNothingOutside(sb);
}

test('hostile: ../ traversal, however spelled', async (t) => {
  const sb = await sandbox(t);
  // UP really leads from a rootfs being built to the outside folder's parent.
  assert.equal(relative(join(sb.paths.images, 'snapshots', '.tmp-x', 'fs'), sb.outside), `${UP}/outside`);
  await refusedImport(sb, [file(`${UP}/outside/pwned`, 'x')], /^layer 1 of evil:1: entry "\.\.\/\.\.\/\.\.\/\.\.\/\.\.\/outside\/pwned" escapes the root filesystem$/);
  await refusedImport(sb, [file(`etc/${UP}/${UP}/outside/pwned`, 'x')], /entry "etc\/\.\.\/.*" escapes the root filesystem$/);
  await refusedImport(sb, [file(`./../outside/pwned`, 'x')], /entry "\.\/\.\.\/outside\/pwned" escapes the root filesystem$/);
  await refusedImport(sb, [dir('a'), file('a/../../x', 'x')], /entry "a\/\.\.\/\.\.\/x" escapes the root filesystem$/);
  // A long name carried by PAX and by GNU 'L' is checked the same way.
  await refusedImport(sb, [{ name: 'harmless', pax: { path: `${UP}/outside/pwned` }, data: 'x' }], /entry "\.\.\/.*outside\/pwned" escapes/);
  await refusedImport(sb, [{ name: `${UP}/outside/${'p'.repeat(120)}`, gnuLongName: true, format: 'gnu', data: 'x' }], /escapes the root filesystem$/);
});

test('hostile: absolute names are made relative to the root (as docker load does); /../ above the root is refused', async (t) => {
  const sb = await sandbox(t);
  await refusedImport(sb, [file(`/${UP}/outside/pwned`, 'x')], /entry "\/\.\.\/.*outside\/pwned" escapes the root filesystem$/);
  await refusedImport(sb, [file('/../etc/passwd', 'x')], /entry "\/\.\.\/etc\/passwd" escapes the root filesystem$/);
  // An absolute name pointing at the real outside folder lands inside the image instead.
  const image = await sb.store.importRootfs(stream(tar([file(`${sb.outside}/pwned`, 'inside'), file('/etc/flotilla-test-absolute', 'inside')])), { reference: 'abs:1' });
  assert.equal(readFileSync(join(rootfsOf(image), sb.outside, 'pwned'), 'utf8'), 'inside');
  assert.equal(readFileSync(join(rootfsOf(image), 'etc/flotilla-test-absolute'), 'utf8'), 'inside');
  assert.equal(existsSync('/etc/flotilla-test-absolute'), false);
  assertNothingOutside(sb);
});

test('hostile: a symlink, then a write through it', async (t) => {
  const sb = await sandbox(t);
  await refusedImport(sb, [symlink('evil', '/etc'), file('evil/passwd', 'root::0:0::/:/bin/sh\n')], /^layer 1 of evil:1: entry "evil\/passwd" goes through symlink "evil"$/);
  await refusedImport(sb, [symlink('evil', sb.outside), file('evil/pwned', 'x')], /entry "evil\/pwned" goes through symlink "evil"$/);
  await refusedImport(sb, [dir('a'), symlink('a/b', sb.outside), dir('a/b/c'), file('a/b/c/pwned', 'x')], /entry "a\/b\/c\/" goes through symlink "a\/b"$/);
  // Relative links that stay inside are fine as links, but never as a way through.
  await refusedImport(sb, [dir('real'), symlink('alias', 'real'), file('alias/x', 'x')], /entry "alias\/x" goes through symlink "alias"$/);
  // Across layers each layer has a directory of its own: the upper "evil" is a directory that
  // hides the lower symlink, and the file lands in it.
  const [image] = await sb.store.load(stream(dockerArchive([{ layers: [tar([symlink('evil', sb.outside)]), tar([file('evil/pwned', 'x')])], tags: ['across:1'] }])));
  assert.equal(readFileSync(join(rootfsOf(image!), 'evil', 'pwned'), 'utf8'), 'x');
  assertNothingOutside(sb);
});

test('hostile: a directory replaced by a symlink, then written through', async (t) => {
  const sb = await sandbox(t);
  await refusedImport(sb, [dir('d'), file('d/ok', 'ok'), symlink('d', sb.outside), file('d/pwned', 'x')], /entry "d\/pwned" goes through symlink "d"$/);
  // And through a hard link named by way of it.
  await refusedImport(sb, [symlink('ln', sb.outside), hardlink('grab', 'ln/secret')], /entry "grab" is a hard link to "ln\/secret", which is not an earlier regular file of this layer$/);
  const [image] = await sb.store.load(stream(dockerArchive([{ layers: [tar([dir('d'), file('d/ok', 'ok')]), tar([whiteout('', 'd'), symlink('d', sb.outside)]), tar([file('d/pwned', 'x')])], tags: ['across:1'] }])));
  assert.deepEqual(readdirSync(join(rootfsOf(image!), 'd')), ['pwned']);
  assertNothingOutside(sb);
});

test('hostile: relative symlinks that climb above the root', async (t) => {
  const sb = await sandbox(t);
  await refusedImport(sb, [dir('a/b'), symlink('a/b/up', '../../../etc')], /^layer 1 of evil:1: entry "a\/b\/up" is a symlink to "\.\.\/\.\.\/\.\.\/etc", which escapes the root filesystem$/);
  await refusedImport(sb, [symlink('up', '..')], /entry "up" is a symlink to "\.\.", which escapes/);
  await refusedImport(sb, [symlink('sneaky', 'x/../../outside')], /entry "sneaky" is a symlink to "x\/\.\.\/\.\.\/outside", which escapes/);
  await refusedImport(sb, [symlink('empty', '')], /entry "empty" is a symlink with an empty target$/);
  // Links that stay inside, and absolute ones, are kept as they are.
  const image = await sb.store.importRootfs(stream(tar([dir('a/b'), symlink('a/b/ok', '../../etc/x'), symlink('a/abs', '/etc/shadow'), symlink('a/dots', './././b/..')])), { reference: 'links:1' });
  assert.equal(lstatSync(join(rootfsOf(image), 'a/abs')).isSymbolicLink(), true);
  assertNothingOutside(sb);
});

test('hostile: hard links to /etc/shadow, to ../x, to what is not an earlier regular file', async (t) => {
  const sb = await sandbox(t);
  await refusedImport(sb, [hardlink('shadow', '/etc/shadow')], /^layer 1 of evil:1: entry "shadow" is a hard link to the absolute path "\/etc\/shadow" \(hard link names must be relative to the root\)$/);
  await refusedImport(sb, [hardlink('x', '../x')], /entry "x" is a hard link to "\.\.\/x", which escapes the root filesystem$/);
  await refusedImport(sb, [hardlink('grab', `${UP}/outside/secret`)], /entry "grab" is a hard link to "\.\.\/.*\/outside\/secret", which escapes/);
  await refusedImport(sb, [hardlink('later', 'nothing-yet'), file('nothing-yet', 'x')], /entry "later" is a hard link to "nothing-yet", which is not an earlier regular file of this layer$/);
  await refusedImport(sb, [dir('d'), hardlink('h', 'd')], /entry "h" is a hard link to "d", which is not an earlier regular file of this layer$/);
  await refusedImport(sb, [symlink('s', '/etc/shadow'), hardlink('h', 's')], /entry "h" is a hard link to "s", which is not an earlier regular file of this layer$/);
  await refusedImport(sb, [file('f', 'x'), hardlink('f', 'f')], /entry "f" is a hard link to "f", which is not an earlier regular file of this layer$/);
  // A hard link to a lower layer's file is refused, as Docker's overlay2 refuses it (a layer
  // made from an overlay upper dir has the linked file itself, copied up).
  await refusedLoad(sb, [[file('bin/tool', 'tool')], [hardlink('bin/alias', 'bin/tool')]], /^layer 2 of evil:load: entry "bin\/alias" is a hard link to "bin\/tool", which is not an earlier regular file of this layer$/);
  // A hard link to an earlier file of its layer is fine.
  const [image] = await sb.store.load(stream(dockerArchive([{ layers: [tar([file('bin/tool', 'tool'), hardlink('bin/alias', 'bin/tool'), hardlink('bin/alias2', './bin/alias')])], tags: ['links:2'] }])));
  assert.ok(image);
  assert.equal(lstatSync(join(rootfsOf(image), 'bin/alias')).ino, lstatSync(join(rootfsOf(image), 'bin/tool')).ino);
  assert.equal(lstatSync(join(rootfsOf(image), 'bin/alias2')).nlink, 3);
  assertNothingOutside(sb);
});

test('hostile: device nodes outside dev/', async (t) => {
  const sb = await sandbox(t);
  await refusedImport(sb, [{ name: 'etc/null', type: '3', devmajor: 1, devminor: 3 }], /^layer 1 of evil:1: entry "etc\/null" is a character device outside \/dev$/);
  await refusedImport(sb, [{ name: 'sda', type: '4', devmajor: 8, devminor: 0 }], /entry "sda" is a block device outside \/dev$/);
  await refusedImport(sb, [{ name: 'dev/../mem', type: '3', devmajor: 1, devminor: 1 }], /entry "dev\/\.\.\/mem" is a character device outside \/dev$/);
  await refusedImport(sb, [{ name: 'device', type: '3', devmajor: 1, devminor: 1 }], /entry "device" is a character device outside \/dev$/);
  await refusedImport(sb, [{ name: 'devices/kmem', type: '3', devmajor: 1, devminor: 2 }], /is a character device outside \/dev$/);
});

test('hostile: whiteouts under a lower layer symlink do not delete outside', async (t) => {
  const sb = await sandbox(t);
  await refusedImport(sb, [file('.wh...', '')], /entry "\.wh\.\.\." is a malformed whiteout$/);
  await refusedImport(sb, [symlink('evil', sb.outside), whiteout('evil', 'secret')], /^layer 1 of evil:1: entry "evil\/\.wh\.secret" goes through symlink "evil"$/);
  // Each layer is unpacked into a directory of its own: the upper layer's "evil" is a directory
  // of that layer, which hides the lower symlink, and the whiteout is made in it.
  for (const upper of [[whiteout('evil', 'secret')], [opaque('evil')]]) {
    const [image] = await sb.store.load(stream(dockerArchive([{ layers: [tar([symlink('evil', sb.outside)]), tar(upper)], tags: ['through:1'] }])));
    assert.ok(image && lstatSync(join(rootfsOf(image), 'evil')).isDirectory());
    // What the upper layer's directory holds is at most the whiteout itself (a device 0/0).
    for (const name of readdirSync(join(rootfsOf(image), 'evil'))) {
      const path = join(rootfsOf(image), 'evil', name);
      assert.ok(!existsSync(path) || lstatSync(path).isCharacterDevice(), name);
    }
    assertNothingOutside(sb);
  }
  // A whiteout of the symlink itself removes the link, not what it points to.
  const [image] = await sb.store.load(stream(dockerArchive([{ layers: [tar([symlink('evil', sb.outside)]), tar([whiteout('', 'evil')])], tags: ['wh:1'] }])));
  assert.ok(image && !existsSync(join(rootfsOf(image), 'evil')));
  assertNothingOutside(sb);
});

test('hostile: a regular file over a symlink replaces the link, it does not write through it', async (t) => {
  const sb = await sandbox(t);
  const image = await sb.store.importRootfs(stream(tar([symlink('x', join(sb.outside, 'secret')), file('x', 'mine'), symlink('y', join(sb.outside, 'secret')), dir('y')])), { reference: 'over:1' });
  assert.equal(readFileSync(join(rootfsOf(image), 'x'), 'utf8'), 'mine');
  assert.ok(lstatSync(join(rootfsOf(image), 'y')).isDirectory());
  assertNothingOutside(sb);
});

test('hostile: through a file, over the root, names too long', async (t) => {
  const sb = await sandbox(t);
  await refusedImport(sb, [file('f', 'x'), file('f/x', 'y')], /entry "f\/x" goes through "f", which is not a directory$/);
  await refusedImport(sb, [symlink('./', sb.outside)], /entry "\.\/" would replace the root directory with a symlink$/);
  await refusedImport(sb, [{ name: 'p', pax: { path: 'a/'.repeat(2100) }, data: '' }], /^layer 1 of evil:1: entry name "(a\/){32}"\.\.\. is longer than 4096 bytes$/);
  await refusedImport(sb, [{ name: 'l', type: '2', linkname: 'x', pax: { linkpath: 'b'.repeat(4097) } }], /entry "l": link target longer than 4096 bytes$/);
});

test('hostile: truncated archives', async (t) => {
  const sb = await sandbox(t);
  const whole = tar([file('a', 'x'), file('big', Buffer.alloc(100_000, 1)), file('c', 'y')]);
  await refusedImport(sb, whole.subarray(0, 50_000), /^layer 1 of evil:1: truncated archive: entry "big" ends after 48464 of its 100000 bytes$/);
  await refusedImport(sb, gzipSync(whole).subarray(0, 200), /^layer 1 of evil:1: truncated archive: the gzip stream ends early$/);
  await refusedImport(sb, tar([file('a', 'x')], { end: false }), /^layer 1 of evil:1: truncated archive: the stream ends after 1 entries without the end-of-archive block$/);
});

test('hostile: gzip bombs meet the image size limit', async (t) => {
  const sb = await sandbox(t, { limits: { maxImageBytes: 8 * 1024 * 1024 } });
  // One huge entry: refused from its header, before any of it is written.
  const huge = gzipSync(tar([file('zeros', Buffer.alloc(64 * 1024 * 1024))]));
  assert.ok(huge.length < 128 * 1024, `${huge.length}`);
  await refusedImport(sb, huge, /^layer 1 of evil:1: entry "zeros" \(67108864 bytes\) would make the image larger than the limit of 8 MiB$/);
  // Endless zeros after the end of the archive: counted as they stream, refused at the limit.
  const tail = gzipSync(Buffer.concat([tar([file('a', 'x')]), Buffer.alloc(64 * 1024 * 1024)]));
  await refusedImport(sb, tail, /^layer 1 of evil:1: the image is larger than the limit of 8 MiB uncompressed$/);
  // Across layers (gzip ones, so that the archive itself stays small): the limit is for the whole image.
  const layers = [gzipSync(tar([file('f', Buffer.alloc(5 * 1024 * 1024, 1))])), gzipSync(tar([file('g', Buffer.alloc(5 * 1024 * 1024, 2))]))];
  await rejectsWith(sb.store.load(stream(dockerArchive([{ layers, tags: ['big:1'] }]))), 'invalid', /^layer 2 of big:1: entry "g" \(5242880 bytes\) would make the image larger than the limit of 8 MiB$/);
  assertStoreEmpty(sb);
  assertNothingOutside(sb);
});

test('hostile: not a tar, and header sizes the archive cannot back', async (t) => {
  const sb = await sandbox(t);
  await refusedImport(sb, Buffer.from('<html>not found</html>\n'.repeat(40)), /^layer 1 of evil:1: not a tar archive: /);
  await refusedImport(sb, gzipSync(Buffer.from('plain text, gzip-compressed\n'.repeat(40))), /^layer 1 of evil:1: not a tar archive: /);
  // A size field of 2^52 bytes in base-256, then a few bytes: refused from the header.
  await refusedImport(sb, [{ name: 'vast', data: 'x', size: 2 ** 52, base256: ['size'], format: 'gnu' }], /^layer 1 of evil:1: entry "vast" \(4503599627370496 bytes\) would make the image larger than the limit of 64 GiB$/);
  // A size the limit allows, with the bytes missing.
  await refusedImport(sb, [{ name: 'short', data: 'x', size: 10_000 }], /^layer 1 of evil:1: truncated archive: entry "short" /);
});

test('hostile: decompression bombs are refused by their ratio, gzip and zstd alike', async (t) => {
  const sb = await sandbox(t, { limits: { bombFloorBytes: 4 * 1024 * 1024, maxCompressionRatio: 50 } });
  const zeros = tar([file('zeros', Buffer.alloc(32 * 1024 * 1024))]);
  await refusedImport(sb, gzipSync(zeros), /^layer 1 of evil:1: decompression bomb refused: \d+ bytes of gzip data expanded past 4\.\d MiB \(more than 50 times its size\)$/);
  const zst = spawnSync('zstd', ['-q', '-c', '-19'], { input: zeros, maxBuffer: 1 << 30 });
  assert.equal(zst.status, 0, zst.stderr?.toString());
  await refusedImport(sb, zst.stdout, /^layer 1 of evil:1: decompression bomb refused: \d+ bytes of zstd data expanded past 4\.\d MiB/);
  // A layer that compresses only tenfold passes the same limits.
  const text = Buffer.from(Array.from({ length: 600_000 }, (_, i) => `line ${i * 7919 % 100_003}\n`).join(''));
  const image = await sb.store.importRootfs(stream(gzipSync(tar([file('text', text)]))), { reference: 'fine:1' });
  assert.equal(readFileSync(join(rootfsOf(image), 'text')).equals(text), true);
});

test('hostile: a layer is refused when the disk would be left with less than the reserve', async (t) => {
  const sb = await sandbox(t, { limits: { minFreeBytes: Number.MAX_SAFE_INTEGER } });
  await rejectsWith(sb.store.importRootfs(stream(tar([file('a', 'x')])), { reference: 'full:1' }), 'resource', /^not enough free space to unpack the image: \d+ MiB free on the file system of .*, \d+ MiB needed/);
  assertStoreEmpty(sb);
});

test('hostile: sparse maps that overlap, run past the file, or claim more data than they carry', async (t) => {
  const sb = await sandbox(t, { limits: { maxImageBytes: 64 * 1024 * 1024 } });
  const sparse = (map: string, size: string, data: string): Item => ({ name: 'holes', data, pax: { 'GNU.sparse.map': map, 'GNU.sparse.size': size } });
  await refusedImport(sb, [sparse('0,4,2,4', '100', 'abcdefgh')], /entry "holes": invalid GNU sparse map$/);
  await refusedImport(sb, [sparse('96,8', '100', 'abcdefgh')], /entry "holes": invalid GNU sparse map$/);
  await refusedImport(sb, [sparse('0,4', '100', 'abcdefgh')], /entry "holes": its GNU sparse map holds 4 bytes of data, the archive 8$/);
  await refusedImport(sb, [sparse('0,1', 'many', 'a')], /PAX GNU\.sparse\.size="many" is not a valid number/);
  // Holes cost no disk, but a sparse file still may not be larger than an image may be.
  await refusedImport(sb, [sparse(`${2 ** 40},1`, String(2 ** 40 + 1), 'a')], /entry "holes" is a sparse file of 1099511627777 bytes, over the image limit of 64 MiB$/);
});

test('hostile: a path 2,000 directories deep imports, and stays inside the image', async (t) => {
  const sb = await sandbox(t);
  // Deeper than PATH_MAX is refused by name length, before anything is made.
  await refusedImport(sb, [{ name: 'x', pax: { path: `${'d/'.repeat(2100)}f` }, data: 'deep' }], /entry name "d\/d\/.*"\.\.\. is longer than 4096 bytes$/, 'deeper:1');
  const deep = `${'d/'.repeat(2000)}f`;
  const image = await sb.store.importRootfs(stream(tar([{ name: 'x', pax: { path: deep }, data: 'deep' }])), { reference: 'deep:1' });
  assert.equal(image.repoTags[0], 'deep:1');
  assertNothingOutside(sb);
});
