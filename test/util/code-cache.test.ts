/** src/util/code-cache.ts: CommonJS files loaded through V8's code cache, in fresh Node processes. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const loader = fileURLToPath(new URL('../../src/util/code-cache.js', import.meta.url));

function workspace(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-code-cache-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // A module that uses what the CommonJS wrapper gives it, and a dependency through require().
  writeFileSync(join(dir, 'dep.cjs'), 'module.exports = (x) => x * 2;\n');
  writeFileSync(
    join(dir, 'mod.cjs'),
    [
      "'use strict';",
      "const double = require('./dep.cjs');",
      'exports.answer = (n) => double(n) + 0.5;',
      "exports.where = () => [require('node:path').basename(__filename), require('node:path').basename(__dirname)];",
      'exports.fail = () => {',
      "  throw new Error('from line 6');",
      '};',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'run.mjs'),
    [
      `import { loadCommonJs } from ${JSON.stringify(loader)};`,
      `const { exports: m, cache } = loadCommonJs(${JSON.stringify(join(dir, 'mod.cjs'))});`,
      'let line;',
      'try { m.fail(); } catch (e) { line = /mod\\.cjs:(\\d+)/.exec(e.stack)[1]; }',
      'console.log(JSON.stringify({ cache, answer: m.answer(20), where: m.where(), line: Number(line) }));',
    ].join('\n'),
  );
  return dir;
}

function run(dir: string): { cache: string; answer: number; where: string[]; line: number } {
  const r = spawnSync(process.execPath, [join(dir, 'run.mjs')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

const caches = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.v8cache'));

test('the first run writes the cache at exit, the next uses it, and the module behaves the same', (t) => {
  const dir = workspace(t);
  const first = run(dir);
  assert.deepEqual(first, { cache: 'absent', answer: 40.5, where: ['mod.cjs', dir.split('/').pop()], line: 6 });
  assert.equal(caches(dir).length, 1);
  const [file] = caches(dir) as [string];
  assert.ok(statSync(join(dir, file)).size > 0);
  const written = statSync(join(dir, file)).mtimeMs;
  const second = run(dir);
  assert.deepEqual(second, { ...first, cache: 'used' });
  assert.equal(statSync(join(dir, file)).mtimeMs, written, 'a used cache is not rewritten');
});

test('a damaged cache is rejected, the module still runs, and a good cache replaces it', (t) => {
  const dir = workspace(t);
  run(dir);
  const [file] = caches(dir) as [string];
  const cachePath = join(dir, file);
  const bytes = readFileSync(cachePath);
  for (let i = 0; i < bytes.length; i += 7) bytes[i] = (bytes[i] ?? 0) ^ 0xff;
  writeFileSync(cachePath, bytes);
  assert.equal(run(dir).cache, 'rejected');
  assert.equal(run(dir).cache, 'used');
  assert.deepEqual(caches(dir), [file], 'no temporary files are left');
});

test('an edited source never runs from the old cache, even at the same length', (t) => {
  const dir = workspace(t);
  run(dir);
  const source = readFileSync(join(dir, 'mod.cjs'), 'utf8');
  // V8 itself compares only the length: this edit keeps it, and must still be seen.
  const edited = source.replace('+ 0.5', '+ 1.5');
  assert.equal(edited.length, source.length);
  writeFileSync(join(dir, 'mod.cjs'), edited);
  const after = run(dir);
  assert.notEqual(after.cache, 'used');
  assert.equal(after.answer, 41.5);
  assert.equal(run(dir).cache, 'used');
  // Another length: likewise a cache of its own, not the old one.
  writeFileSync(join(dir, 'mod.cjs'), `${edited}// longer\n`);
  assert.notEqual(run(dir).cache, 'used');
  assert.equal(run(dir).answer, 41.5);
});

test('where the cache cannot be written, the module runs without one', (t) => {
  const dir = workspace(t);
  run(dir);
  const [file] = caches(dir) as [string];
  // A directory where the cache would go: it can be neither read nor replaced (even by root).
  rmSync(join(dir, file));
  mkdirSync(join(dir, file));
  assert.deepEqual(run(dir), { cache: 'absent', answer: 40.5, where: ['mod.cjs', dir.split('/').pop()], line: 6 });
  assert.equal(run(dir).cache, 'absent');
  assert.deepEqual(readdirSync(join(dir, file)), []);
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp')), [], 'no temporary files are left');
});
