/** The streaming tar reader: every header kind, real GNU tar output, chunking, and what it refuses. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, linkSync, chmodSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { decompressed } from '../../../src/daemon/images/tar/decompress.js';
import { TarFormatError } from '../../../src/daemon/images/tar/header.js';
import { TarReader, type TarEntry } from '../../../src/daemon/images/tar/reader.js';
import { dir, file, gzip, hardlink, symlink, tar, type Item } from './tarball.js';

async function* chunked(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

interface Read {
  entry: TarEntry;
  body: string;
}

/** Every entry with its body; bodies of entries in `skip` are left unread. */
async function readAll(bytes: Buffer, chunk = 1 << 16, skip: string[] = []): Promise<Read[]> {
  const reader = new TarReader(decompressed(chunked(bytes, chunk)));
  const out: Read[] = [];
  for (let e = await reader.next(); e; e = await reader.next()) {
    const parts: Buffer[] = [];
    if (!skip.includes(e.path)) for await (const c of reader.body()) parts.push(Buffer.from(c));
    out.push({ entry: e, body: Buffer.concat(parts).toString('latin1') });
  }
  await reader.drain();
  return out;
}

async function refused(bytes: Buffer, message: RegExp, limits?: { maxPathBytes?: number; maxPaxBytes?: number }): Promise<void> {
  const reader = new TarReader(decompressed(chunked(bytes, 1000)), limits);
  await assert.rejects(
    (async () => {
      for (let e = await reader.next(); e; e = await reader.next()) for await (const c of reader.body()) void c;
    })(),
    (e: unknown) => e instanceof TarFormatError && message.test(e.message),
  );
}

test('ustar: every entry type with its fields', async () => {
  const bytes = tar([
    dir('d', { mode: 0o2755, uid: 1000, gid: 100, mtime: 1_600_000_000 }),
    file('d/f', 'hello', { mode: 0o4755, uid: 1, gid: 2, mtime: 1_600_000_001 }),
    { name: 'd/c', type: '7', data: 'contiguous' },
    { name: 'old-dir/', type: '\0', format: 'v7' },
    { name: 'old-file', type: '\0', format: 'v7', data: 'v7' },
    symlink('d/s', '/bin/busybox'),
    hardlink('d/h', 'd/f'),
    { name: 'dev/null', type: '3', devmajor: 1, devminor: 3, mode: 0o666 },
    { name: 'dev/sda', type: '4', devmajor: 8, devminor: 0, mode: 0o660 },
    { name: 'run/fifo', type: '6', mode: 0o600 },
  ]);
  const got = await readAll(bytes);
  assert.deepEqual(
    got.map(({ entry: e, body }) => [e.path, e.type, e.linkPath, e.size, e.mode.toString(8), e.uid, e.gid, e.mtime, e.devMajor, e.devMinor, body]),
    [
      ['d/', 'directory', '', 0, '2755', 1000, 100, 1_600_000_000, 0, 0, ''],
      ['d/f', 'file', '', 5, '4755', 1, 2, 1_600_000_001, 0, 0, 'hello'],
      ['d/c', 'file', '', 10, '644', 0, 0, 1_700_000_000, 0, 0, 'contiguous'],
      ['old-dir/', 'directory', '', 0, '644', 0, 0, 1_700_000_000, 0, 0, ''],
      ['old-file', 'file', '', 2, '644', 0, 0, 1_700_000_000, 0, 0, 'v7'],
      ['d/s', 'symlink', '/bin/busybox', 0, '777', 0, 0, 1_700_000_000, 0, 0, ''],
      ['d/h', 'hardlink', 'd/f', 0, '644', 0, 0, 1_700_000_000, 0, 0, ''],
      ['dev/null', 'character-device', '', 0, '666', 0, 0, 1_700_000_000, 1, 3, ''],
      ['dev/sda', 'block-device', '', 0, '660', 0, 0, 1_700_000_000, 8, 0, ''],
      ['run/fifo', 'fifo', '', 0, '600', 0, 0, 1_700_000_000, 0, 0, ''],
    ],
  );
});

test('ustar prefix; GNU headers whose prefix area holds times are not read as a prefix', async () => {
  const long = `${'p'.repeat(120)}/${'n'.repeat(90)}`;
  const got = await readAll(tar([{ name: 'n'.repeat(90), prefix: 'p'.repeat(120), data: 'x' }, { name: 'gnu-file', format: 'gnu', gnuAtime: 0o1234567, data: 'y' }]));
  assert.deepEqual(got.map((r) => [r.entry.path, r.body]), [[long, 'x'], ['gnu-file', 'y']]);
});

test('GNU long names and long link names (L, K)', async () => {
  const name = `deep/${'a'.repeat(150)}/${'b'.repeat(150)}`;
  const target = `/${'t'.repeat(200)}`;
  const got = await readAll(
    tar([
      { name, format: 'gnu', gnuLongName: true, data: 'long' },
      { name: `${name}-link`, type: '2', linkname: target, format: 'gnu', gnuLongName: true, gnuLongLink: true },
      file('after', 'ok'),
    ]),
  );
  assert.deepEqual(got.map((r) => [r.entry.path, r.entry.type, r.entry.linkPath, r.body]), [
    [name, 'file', '', 'long'],
    [`${name}-link`, 'symlink', target, ''],
    ['after', 'file', '', 'ok'],
  ]);
});

test('PAX: path, linkpath, size, uid, gid, fractional mtime; globals; an empty value cancels; xattrs listed', async () => {
  const big = 'd'.repeat(3000);
  const got = await readAll(
    tar([
      { name: 'g', type: 'g', data: Buffer.from('') },
      { name: 'short', pax: { path: `${big}/é-file`, uid: '3000000', gid: '4000000', mtime: '1700000000.25', size: '3', 'SCHILY.xattr.user.k': 'v', 'security.ignored': 'x' }, data: 'abcdefgh', size: 8 },
      { name: 'ln', type: '2', linkname: 'x', pax: { linkpath: `../${big}` } },
      { name: 'plain', data: 'p', uid: 7 },
    ]),
  );
  // The PAX size (3) wins over the header's (8); the body read is the PAX size.
  assert.equal(got.length, 3);
  const [a, b, c] = got;
  assert.deepEqual([a?.entry.path, a?.entry.uid, a?.entry.gid, a?.entry.mtime, a?.entry.size, a?.body, [...(a?.entry.xattrs ?? new Map<string, Buffer>()).entries()]], [`${big}/é-file`, 3_000_000, 4_000_000, 1_700_000_000.25, 3, 'abc', [['user.k', Buffer.from('v')]]]);
  assert.equal(b?.entry.linkPath, `../${big}`);
  assert.deepEqual([c?.entry.path, c?.entry.uid], ['plain', 7]);
});

test('PAX global header applies to later entries; a local empty value cancels it', async () => {
  const globalRecords = Buffer.from('16 uid=12345678\n');
  const got = await readAll(
    tar([
      { name: 'pax_global_header', type: 'g', data: globalRecords },
      file('one', '1'),
      { name: 'two', data: '2', pax: { uid: '' }, uid: 5 },
    ]),
  );
  assert.deepEqual(got.map((r) => [r.entry.path, r.entry.uid]), [['one', 12_345_678], ['two', 5]]);
});

test('GNU base-256 numbers: sizes over 8 GiB, large ids, negative mtimes', async () => {
  const got = await readAll(
    tar([
      { name: 'ids', data: 'z', uid: 2 ** 33, gid: 2 ** 40, mtime: -86400, base256: ['uid', 'gid', 'mtime'], format: 'gnu' },
      { name: 'sized', data: 'q', base256: ['size'], format: 'gnu' },
    ]),
  );
  assert.deepEqual(got.map((r) => [r.entry.uid, r.entry.gid, r.entry.mtime, r.entry.size, r.body]), [
    [2 ** 33, 2 ** 40, -86400, 1, 'z'],
    [0, 0, 1_700_000_000, 1, 'q'],
  ]);
});

test('any chunking gives the same entries; unread bodies are skipped', async () => {
  const data = Buffer.alloc(5000, 7);
  const bytes = tar([file('a', data), { name: `${'x'.repeat(120)}`, gnuLongName: true, format: 'gnu', data: 'y' }, file('b', 'tail')]);
  const expected = await readAll(bytes);
  for (const size of [1, 7, 511, 512, 513, 4096]) {
    const got = await readAll(bytes, size);
    assert.deepEqual(got.map((r) => [r.entry.path, r.body.length]), expected.map((r) => [r.entry.path, r.body.length]), `chunk ${size}`);
  }
  const skipped = await readAll(bytes, 100, ['a']);
  assert.deepEqual(skipped.map((r) => [r.entry.path, r.body]), [['a', ''], ['x'.repeat(120), 'y'], ['b', 'tail']]);
});

test('gzip is recognised by its magic bytes, in any chunking, several members too', async () => {
  const plain = tar([file('a', 'A'), file('b', 'B')]);
  const gz = gzip(plain);
  for (const size of [1, 2, 3, 100]) assert.deepEqual((await readAll(gz, size)).map((r) => r.body), ['A', 'B']);
  // gzip's concatenated members decompress to the concatenation.
  const half = plain.length - 1024;
  const two = Buffer.concat([gzip(plain.subarray(0, 512)), gzip(plain.subarray(512, half)), gzip(plain.subarray(half))]);
  assert.deepEqual((await readAll(two)).map((r) => r.body), ['A', 'B']);
});

test('an empty stream is an empty archive; one zero block then the end is accepted', async () => {
  assert.deepEqual(await readAll(Buffer.alloc(0)), []);
  const lone = Buffer.concat([tar([file('a', 'A')], { end: false }), Buffer.alloc(512)]);
  assert.deepEqual((await readAll(lone)).map((r) => r.entry.path), ['a']);
  // GNU tar pads to a 10 KiB record after the end blocks; the padding is read and ignored.
  const padded = Buffer.concat([tar([file('a', 'A')]), Buffer.alloc(8192)]);
  assert.deepEqual((await readAll(padded)).map((r) => r.entry.path), ['a']);
});

test('real GNU tar archives in gnu, posix and ustar formats', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'flotilla-tar-'));
  t.after(() => rmSync(base, { recursive: true, force: true }));
  const src = join(base, 'src');
  // Over 100 bytes in all, but each component fits ustar's prefix/name split.
  const longDir = `${'a'.repeat(60)}/${'b'.repeat(60)}`;
  mkdirSync(join(src, longDir, 'sub'), { recursive: true });
  writeFileSync(join(src, longDir, 'sub', 'file.txt'), 'content\n');
  writeFileSync(join(src, 'héllo'), 'unicode\n');
  chmodSync(join(src, 'héllo'), 0o4711);
  symlinkSync(`${longDir}/sub/file.txt`, join(src, 'rel-link'));
  linkSync(join(src, 'héllo'), join(src, 'hard'));
  utimesSync(join(src, 'héllo'), 1_500_000_000, 1_500_000_000);
  for (const format of ['gnu', 'posix', 'ustar']) {
    // ustar cannot hold a link target over 100 bytes: GNU and PAX archives carry it ('K', linkpath).
    const exclude = format === 'ustar' ? ['--exclude=./rel-link'] : [];
    const r = spawnSync('tar', ['-C', src, `--format=${format}`, '--sort=name', '--numeric-owner', '--owner=0', '--group=0', ...exclude, '-c', '.']);
    assert.equal(r.status, 0, r.stderr.toString());
    const got = await readAll(r.stdout);
    const by = new Map(got.map((x) => [x.entry.path, x]));
    assert.equal(by.get(`./${longDir}/sub/file.txt`)?.body, 'content\n', format);
    assert.equal(by.get('./héllo')?.entry.mode, 0o4711, format);
    assert.equal(by.get('./héllo')?.entry.mtime, 1_500_000_000, format);
    if (format !== 'ustar') assert.equal(by.get('./rel-link')?.entry.linkPath, `${longDir}/sub/file.txt`, format);
    // GNU tar archives the second name of a hard-linked file as a link to the first.
    assert.equal(by.get('./hard')?.entry.type, 'file', format);
    assert.equal(by.get('./héllo')?.entry.type, 'hardlink', format);
    assert.equal(by.get('./héllo')?.entry.linkPath, './hard', format);
  }
});

test('refused: unknown and vendor types, bad checksums, non-UTF-8 names, oversized metadata', async () => {
  await refused(tar([{ name: 'weird', type: 'Z' }]), /entry "weird" has unknown type 'Z'/);
  await refused(tar([{ name: 'dump', type: 'D', format: 'gnu' }]), /type 'D' \(GNU dumpdir\)/);
  await refused(tar([file('a', 'A', { badChecksum: true })]), /^not a tar archive: bad header checksum/);
  await refused(tar([file('a', 'A'), file('b', 'B', { badChecksum: true })]), /^corrupt archive: bad header checksum .* at byte 1024/);
  await refused(Buffer.from('this is not a tar archive at all'.repeat(40)), /not a tar archive/);
  const latin1 = tar([{ name: 'x', data: '' }]);
  latin1[0] = 0xe9; // "é" in Latin-1: not UTF-8
  let sum = 0;
  latin1.fill(0x20, 148, 156);
  for (let i = 0; i < 512; i++) sum += latin1[i] ?? 0;
  latin1.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  await refused(latin1, /entry name "é" is not valid UTF-8/);
  await refused(tar([{ name: `${'n'.repeat(5000)}`, format: 'gnu', gnuLongName: true, data: '' }]), /long name of 5001 bytes exceeds the limit of 4097 bytes/);
  await refused(tar([{ name: 'p', pax: { path: 'q'.repeat(5000) } }]), /entry name "q{64}"\.\.\. is longer than 4096 bytes/);
  await refused(tar([{ name: 'p', pax: { comment: 'c'.repeat(2000) } }]), /PAX header of \d+ bytes exceeds the limit of 1024 bytes/, { maxPaxBytes: 1024 });
  await refused(tar([{ name: 'p', type: 'x', data: '5 a=b\n' }]), /malformed PAX extended header/);
  await refused(tar([{ name: 'p', pax: { mtime: 'yesterday' } }]), /PAX mtime="yesterday" is not a valid time/);
  await refused(Buffer.concat([tar([file('a', 'A')], { end: false }), Buffer.alloc(512), tar([file('b', 'B')])]), /a header follows an end-of-archive block/);
  await refused(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0]), /zstd/);
  await refused(Buffer.from('BZh91AY&SY'), /bzip2-compressed/);
});

test('truncated archives: in a body, in a header, before the end blocks, inside gzip; header sizes are not trusted', async () => {
  const whole = tar([file('first', 'ok'), file('big', Buffer.alloc(3000, 1))]);
  await refused(whole.subarray(0, 512 * 3 + 1000), /^truncated archive: entry "big" ends after 1000 of its 3000 bytes$/);
  await refused(whole.subarray(0, 512 * 2 + 100), /^truncated archive: the stream ends inside a header, 1124 bytes in$/);
  await refused(tar([file('first', 'ok')], { end: false }), /^truncated archive: the stream ends after 1 entries without the end-of-archive block$/);
  await refused(tar([{ name: 'liar', data: 'tiny', size: 1_000_000_000 }], { end: false }), /^truncated archive: entry "liar" ends after 512 of its 1000000000 bytes$/);
  await refused(tar([{ name: 'x'.repeat(200), gnuLongName: true, format: 'gnu' }], { end: false }).subarray(0, 512 * 2), /^truncated archive: the stream ends after an extended header$/);
  const gz = gzip(whole);
  await refused(gz.subarray(0, gz.length - 20), /^truncated archive: the gzip stream ends early$/);
  const corrupt = Buffer.from(gz);
  corrupt[20] = (corrupt[20] ?? 0) ^ 0xff;
  await refused(corrupt, /corrupt gzip data|truncated|bad header checksum/);
});

test('a stream error reaches the reader', async () => {
  async function* failing(): AsyncGenerator<Buffer> {
    yield tar([file('a', 'A')], { end: false });
    throw new Error('connection reset');
  }
  const reader = new TarReader(decompressed(failing()));
  assert.equal((await reader.next())?.path, 'a');
  await assert.rejects(reader.next(), /connection reset/);
});

// Sanity check of the writer the other tests rely on: GNU tar lists what it writes.
test('the test tar writer makes archives GNU tar reads', () => {
  const items: Item[] = [dir('d'), file('d/f', 'x'), symlink('d/s', 'f'), { name: 'q'.repeat(150), format: 'gnu', gnuLongName: true, data: '' }, { name: 'p', pax: { path: 'pax-name' } }];
  const r = spawnSync('tar', ['-tv'], { input: tar(items) });
  assert.equal(r.status, 0, r.stderr.toString());
  const names = r.stdout.toString().trim().split('\n').map((l) => l.split(/\s+/).slice(5).join(' '));
  assert.deepEqual(names, ['d/', 'd/f', 'd/s -> f', 'q'.repeat(150), 'pax-name']);
});

test('zstd is recognised by its magic bytes and read in any chunking; a cut stream is truncated', async () => {
  const bytes = tar([dir('d'), file('d/f', 'zstd body'), file('big', Buffer.alloc(300_000, 7))]);
  const z = spawnSync('zstd', ['-q', '-c'], { input: bytes });
  assert.equal(z.status, 0, z.stderr?.toString());
  for (const chunk of [1, 13, 1 << 16]) {
    const got = await readAll(z.stdout, chunk);
    assert.deepEqual(got.map((r) => [r.entry.path, r.body.length]), [['d/', 0], ['d/f', 9], ['big', 300_000]]);
  }
  await refused(z.stdout.subarray(0, z.stdout.length - 30), /^truncated archive: the zstd stream ends early$/);
});
