/** The tar writer: what it writes reads back the same through the image reader and GNU tar. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
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

test('packTar: a body shorter than its size fails the stream, it does not write a corrupt archive', async () => {
  const stream = packTar([{ entry: { name: 'f', type: 'file', mode: 0o644, mtime: 0, size: 10 }, body: Buffer.from('short') }]);
  await assert.rejects(collect(stream), /Size mismatch/);
});
