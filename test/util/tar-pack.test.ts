/** The tar writer: what it writes reads back the same through the image reader and GNU tar. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { TarReader } from '../../src/daemon/images/tar/reader.js';
import { packTar, type PackItem } from '../../src/util/tar-pack.js';

async function collect(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

test('packTar: every type, mode 0, long and non-ASCII names, streamed bodies; read back the same', async () => {
  const long = `${'d'.repeat(120)}/${'é'.repeat(80)}/file`;
  async function* body(): AsyncGenerator<Buffer> {
    yield Buffer.from('hello ');
    yield Buffer.from('world');
  }
  const items: PackItem[] = [
    { entry: { name: 'dir', type: 'directory', mode: 0o1777, mtime: 1_600_000_000, uid: 5, gid: 6 } },
    { entry: { name: 'dir/zero', type: 'file', mode: 0, mtime: 1_600_000_001, size: 11 }, body: body() },
    { entry: { name: long, type: 'file', mode: 0o4755, mtime: 1_600_000_002, size: 3 }, body: Buffer.from('abc') },
    { entry: { name: 'link', type: 'symlink', mode: 0o777, mtime: 1_600_000_003, linkName: `../${'t'.repeat(150)}` } },
    { entry: { name: 'hard', type: 'hardlink', mode: 0o644, mtime: 1_600_000_004, linkName: 'dir/zero' } },
    { entry: { name: 'dev/null', type: 'character-device', mode: 0o666, mtime: 0, devMajor: 1, devMinor: 3 } },
    { entry: { name: 'fifo', type: 'fifo', mode: 0o600, mtime: 0 } },
  ];
  const archive = await collect(packTar(items));
  assert.equal(archive.length % 512, 0);
  const reader = new TarReader(Readable.from([archive]));
  const got: string[][] = [];
  for (let e = await reader.next(); e; e = await reader.next()) {
    const parts: Buffer[] = [];
    for await (const c of reader.body()) parts.push(c);
    const data = Buffer.concat(parts).toString();
    got.push([e.path, e.type, e.mode.toString(8), String(e.mtime), e.linkPath, String(e.uid), data, `${e.devMajor},${e.devMinor}`]);
  }
  assert.deepEqual(got, [
    ['dir/', 'directory', '1777', '1600000000', '', '5', '', '0,0'],
    ['dir/zero', 'file', '0', '1600000001', '', '0', 'hello world', '0,0'],
    [long, 'file', '4755', '1600000002', '', '0', 'abc', '0,0'],
    ['link', 'symlink', '777', '1600000003', `../${'t'.repeat(150)}`, '0', '', '0,0'],
    ['hard', 'hardlink', '644', '1600000004', 'dir/zero', '0', '', '0,0'],
    ['dev/null', 'character-device', '666', '0', '', '0', '', '1,3'],
    ['fifo', 'fifo', '600', '0', '', '0', '', '0,0'],
  ]);
  const listed = spawnSync('tar', ['-t'], { input: archive, encoding: 'utf8' });
  assert.equal(listed.status, 0, listed.stderr);
  assert.deepEqual(listed.stdout.trim().split('\n'), ['dir/', 'dir/zero', long, 'link', 'hard', 'dev/null', 'fifo']);
});

test('packTar: a body that fails in the middle ends the stream with its error, and nothing is left unhandled', async () => {
  const unhandled: unknown[] = [];
  const note = (e: unknown): void => void unhandled.push(e);
  process.on('unhandledRejection', note);
  try {
    async function* failing(): AsyncGenerator<Buffer> {
      yield Buffer.alloc(100_000, 1);
      throw new Error('the disk said no');
    }
    const stream = packTar([{ entry: { name: 'f', type: 'file', mode: 0o644, mtime: 0, size: 300_000 }, body: failing() }]);
    await assert.rejects(collect(stream), /the disk said no/);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(unhandled, []);
  } finally {
    process.off('unhandledRejection', note);
  }
});

test('packTar: a body shorter than its size fails the stream, it does not write a corrupt archive', async () => {
  const stream = packTar([{ entry: { name: 'f', type: 'file', mode: 0o644, mtime: 0, size: 10 }, body: Buffer.from('short') }]);
  await assert.rejects(collect(stream), /Size mismatch/);
});

test('packTar: binary extended attributes, owner ids past ustar and PAX names read back byte for byte, by our reader and by GNU tar', async (t) => {
  const capability = Buffer.from('0100000200040000000000000000000000000000', 'hex');
  const binary = Buffer.from([0x00, 0xff, 0x0a, 0x3d, 0x80, 0x20]);
  const name = `caps/${'é'.repeat(70)}`;
  const items: PackItem[] = [
    { entry: { name: 'caps', type: 'directory', mode: 0o755, mtime: 1_600_000_000, xattrs: new Map([['user.dir', Buffer.from('d')]]) } },
    { entry: { name, type: 'file', mode: 0o755, mtime: 1_600_000_001, size: 2, uid: 300_000, gid: 1_000_000, xattrs: new Map([['user.bin', binary], ['security.capability', capability]]) }, body: Buffer.from('ok') },
    { entry: { name: 'plain', type: 'file', mode: 0o644, mtime: 1_600_000_002, size: 1, pax: { comment: 'ünïcode' } }, body: Buffer.from('p') },
  ];
  const archive = await collect(packTar(items));
  const reader = new TarReader(Readable.from([archive]));
  const got: unknown[] = [];
  for (let e = await reader.next(); e; e = await reader.next()) {
    const parts: Buffer[] = [];
    for await (const c of reader.body()) parts.push(c);
    got.push({ path: e.path, uid: e.uid, gid: e.gid, data: Buffer.concat(parts).toString(), xattrs: Object.fromEntries([...e.xattrs].map(([k, v]) => [k, v.toString('hex')])) });
  }
  assert.deepEqual(got, [
    { path: 'caps/', uid: 0, gid: 0, data: '', xattrs: { 'user.dir': '64' } },
    { path: name, uid: 300_000, gid: 1_000_000, data: 'ok', xattrs: { 'security.capability': capability.toString('hex'), 'user.bin': binary.toString('hex') } },
    { path: 'plain', uid: 0, gid: 0, data: 'p', xattrs: {} },
  ]);
  const listed = spawnSync('tar', ['--numeric-owner', '-tv'], { input: archive, encoding: 'utf8' });
  assert.equal(listed.status, 0, listed.stderr);
  assert.match(listed.stdout, new RegExp(`300000/1000000 +2 .* ${name}\\n`));
  // GNU tar sets what it read: the values on disk are the bytes written (root sets security.*).
  if (process.getuid?.() !== 0) {
    if (process.env['FLOTILLA_CI'] === '1') assert.fail('root is needed to extract security.capability');
    t.diagnostic('not root: the extraction by GNU tar is not checked');
    return;
  }
  const out = mkdtempSync(join(tmpdir(), 'flt-tar-pack-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  const extracted = spawnSync('tar', ['--xattrs', '--xattrs-include=*', '-x', '-C', out], { input: archive, encoding: 'utf8' });
  assert.equal(extracted.status, 0, extracted.stderr);
  const attrs = spawnSync('getfattr', ['-d', '-m', '-', '-e', 'hex', name], { cwd: out, encoding: 'utf8' });
  assert.equal(attrs.status, 0, attrs.stderr);
  assert.match(attrs.stdout, new RegExp(`security\\.capability=0x${capability.toString('hex')}\\n`));
  assert.match(attrs.stdout, new RegExp(`user\\.bin=0x${binary.toString('hex')}\\n`));
  assert.equal(statSync(join(out, name)).uid, 300_000);
});
