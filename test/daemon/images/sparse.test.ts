/** Sparse files, as GNU tar writes them in each of its formats: read back byte for byte, holes kept as holes. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync, closeSync, openSync, writeSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { TarReader } from '../../../src/daemon/images/tar/reader.js';
import { sandbox, stream, rootfsOf } from './fixtures.js';

const SIZE = 20 * 1024 * 1024;

/** A 20 MiB file with 30 small pieces of data (more than a GNU header and one extension block hold). */
function sparseFile(dir: string): Buffer {
  const path = join(dir, 'holes');
  const fd = openSync(path, 'w');
  ftruncateSync(fd, SIZE);
  for (let i = 0; i < 30; i++) writeSync(fd, Buffer.from(`piece ${i}`), 0, undefined, i * 600_000 + 4096 * i);
  writeSync(fd, Buffer.from('end'), 0, undefined, SIZE - 3);
  closeSync(fd);
  return readFileSync(path);
}

function gnuTar(dir: string, args: string[]): Buffer {
  const r = spawnSync('tar', ['-C', dir, '--sparse', ...args, '-cf', '-', 'holes'], { maxBuffer: 1 << 26 });
  assert.equal(r.status, 0, r.stderr.toString());
  return r.stdout;
}

const FORMATS: [string, string[]][] = [
  ['GNU (type S, extension blocks)', ['--format=gnu']],
  ['PAX 0.0', ['--format=posix', '--sparse-version=0.0']],
  ['PAX 0.1', ['--format=posix', '--sparse-version=0.1']],
  ['PAX 1.0', ['--format=posix', '--sparse-version=1.0']],
];

test('the reader gives each sparse format its real size and its data at the right places', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-sparse-'));
  const want = sparseFile(dir);
  for (const [name, args] of FORMATS) {
    const archive = gnuTar(dir, args);
    assert.ok(archive.length < 1024 * 1024, `${name}: GNU tar wrote it sparse`);
    const reader = new TarReader(stream(archive, 7000));
    const entry = await reader.next();
    assert.equal(entry?.path, 'holes', name);
    assert.equal(entry?.sparse?.realSize, SIZE, name);
    assert.ok((entry?.sparse?.segments.length ?? 0) > 25, name);
    const got = Buffer.alloc(SIZE);
    for await (const { position, data } of reader.chunks()) data.copy(got, position);
    assert.ok(got.equals(want), `${name}: same bytes`);
    assert.equal(await reader.next(), null);
    await reader.drain();
  }
  spawnSync('rm', ['-rf', dir]);
});

test('an imported sparse file has its content and its holes', async (t) => {
  const sb = await sandbox(t);
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-sparse-'));
  t.after(() => void spawnSync('rm', ['-rf', dir]));
  const want = sparseFile(dir);
  writeFileSync(join(dir, 'unused'), '');
  for (const [i, [name, args]] of FORMATS.entries()) {
    const image = await sb.store.importRootfs(stream(gnuTar(dir, args)), { reference: `sparse:${i}` });
    const path = join(rootfsOf(image), 'holes');
    assert.ok(readFileSync(path).equals(want), `${name}: same bytes`);
    const st = statSync(path);
    assert.equal(st.size, SIZE, name);
    assert.ok(st.blocks * 512 < 1024 * 1024, `${name}: ${st.blocks} blocks allocated, the holes are holes`);
  }
});
