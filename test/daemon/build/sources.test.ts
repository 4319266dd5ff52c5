/** COPY sources: wildcard matching, refusals, and content checksums that ignore mtimes. */
import assert from 'node:assert/strict';
import { chmodSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { expandSource, matchComponent, sourcesChecksum, SourceError } from '../../../src/daemon/build/sources.js';
import { projectDir } from '../../helpers/tmp.js';

test('components match as Go filepath.Match matches them', () => {
  const yes: [string, string][] = [['*.txt', 'a.txt'], ['a?c', 'abc'], ['[a-c]x', 'bx'], ['[^a]x', 'bx'], ['\\*', '*'], ['*', '.hidden'], ['a+b', 'a+b']];
  const no: [string, string][] = [['*.txt', 'a.md'], ['a?c', 'ac'], ['[a-c]x', 'dx'], ['[^a]x', 'ax'], ['\\*', 'x'], ['a+b', 'aab']];
  for (const [p, n] of yes) assert.equal(matchComponent(p, n), true, `${p} ~ ${n}`);
  for (const [p, n] of no) assert.equal(matchComponent(p, n), false, `${p} !~ ${n}`);
  assert.throws(() => matchComponent('[ab', 'a'), SourceError);
});

test('sources: plain paths, wildcards per component, the root, and refusals', async (t) => {
  const dir = projectDir(t, { 'a.txt': 'a', 'b.txt': 'b', 'c.md': 'c', 'src/x/one.js': '1', 'src/y/two.js': '2', 'src/y/skip.ts': 's' });
  assert.deepEqual(await expandSource(dir, 'a.txt'), ['a.txt']);
  assert.deepEqual(await expandSource(dir, '/a.txt'), ['a.txt']);
  assert.deepEqual(await expandSource(dir, '*.txt'), ['a.txt', 'b.txt']);
  assert.deepEqual(await expandSource(dir, 'src/*/*.js'), ['src/x/one.js', 'src/y/two.js']);
  assert.deepEqual(await expandSource(dir, '.'), ['.']);
  assert.deepEqual(await expandSource(dir, 'src/../a.txt'), ['a.txt']);
  await assert.rejects(expandSource(dir, '../outside'), /forbidden path outside the build context: \.\.\/outside/);
  await assert.rejects(expandSource(dir, 'src/../../x'), /forbidden path outside the build context/);
  await assert.rejects(expandSource(dir, 'missing'), /missing: no such file or directory/);
  await assert.rejects(expandSource(dir, '*.none'), /no source files were specified/);
});

test('checksums follow contents and modes, not mtimes', async (t) => {
  const dir = projectDir(t, { 'a.txt': 'a', 'd/b.txt': 'b' });
  const sum = () => sourcesChecksum(dir, [['a.txt'], ['d']]);
  const first = await sum();
  utimesSync(join(dir, 'a.txt'), 1_000_000, 1_000_000);
  utimesSync(join(dir, 'd', 'b.txt'), 2_000_000, 2_000_000);
  assert.equal(await sum(), first, 'touching files keeps the checksum');
  writeFileSync(join(dir, 'd', 'b.txt'), 'B');
  const edited = await sum();
  assert.notEqual(edited, first, 'an edit inside a copied directory changes it');
  chmodSync(join(dir, 'a.txt'), 0o600);
  assert.notEqual(await sum(), edited, 'a mode change changes it');
  assert.notEqual(await sourcesChecksum(dir, [['a.txt', 'd']]), await sourcesChecksum(dir, [['a.txt'], ['d']]), 'which source matched what counts');
});
