/** .dockerignore reading and matching, the build context walk, and the tar it makes. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync, chmodSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { cleanPath, IgnoreMatcher, readDockerignore } from '../../src/util/dockerignore.js';
import { contextEntries, contextTar, keepBuildFiles } from '../../src/util/build-context.js';
import { readBody } from '../../src/engine/docker/client.js';
import { BuildContextError } from '../../src/util/build-context.js';
import { projectDir } from '../helpers/tmp.js';

test('cleanPath is Go path.Clean', () => {
  const cases: [string, string][] = [
    ['', '.'],
    ['.', '.'],
    ['./a/b/', 'a/b'],
    ['a//b/./c', 'a/b/c'],
    ['a/../../b', '../b'],
    ['/../a', '/a'],
    ['/', '/'],
    ['a/b/..', 'a'],
  ];
  for (const [input, want] of cases) assert.equal(cleanPath(input), want, input);
});

test('readDockerignore: comments, blanks, exceptions, cleaning, leading slash', () => {
  const text = '\uFEFF# comment\n\n  *.log  \n!  keep.log\n/abs/path/\n./rel//x\n #not a comment\r\n!/root.txt\n';
  assert.deepEqual(readDockerignore(text), ['*.log', '!keep.log', 'abs/path', 'rel/x', '#not a comment', '!root.txt']);
});

test('IgnoreMatcher follows the CLI rules', () => {
  const m = new IgnoreMatcher(['*.md', '!README.md', 'build', 'docs/**/*.tmp', '**/cache', 'a?c', 'lit\\*', '[xy].txt', 'node_modules/']);
  const excluded = ['notes.md', 'build', 'build/out/x.o', 'docs/a.tmp', 'docs/x/y/z.tmp', 'cache', 'src/deep/cache', 'src/deep/cache/blob', 'abc', 'lit*', 'x.txt', 'node_modules/pkg/index.js'];
  const kept = ['README.md', 'src/notes.md', 'builder', 'docs/a.txt', 'docs.tmp', 'cached', 'ac', 'a/c', 'litx', 'z.txt', 'Dockerfile'];
  for (const p of excluded) assert.equal(m.excludes(p), true, `${p} excluded`);
  for (const p of kept) assert.equal(m.excludes(p), false, `${p} kept`);
  // The last matching pattern wins; a parent directory's match covers its contents.
  const order = new IgnoreMatcher(['dir', '!dir/keep', 'dir/keep/drop']);
  assert.equal(order.excludes('dir/other'), true);
  assert.equal(order.excludes('dir/keep/file'), false);
  assert.equal(order.excludes('dir/keep/drop'), true);
  assert.equal(order.mayIncludeUnder('dir'), true);
  assert.equal(order.mayIncludeUnder('other'), false);
  // As in Docker, a pattern is a Go regular expression in which only "." and "$" are escaped:
  // "c+d" excludes "ccd", not "c+d" (test/engine/dockerignore-buildkit.test.ts shows dockerd agrees).
  const plain = new IgnoreMatcher(['a.b', 'c+d', '(e)', 'f$']);
  for (const p of ['a.b', 'ccd', 'e', 'f$']) assert.equal(plain.excludes(p), true, p);
  for (const p of ['axb', 'c+d', '(e)']) assert.equal(plain.excludes(p), false, p);
  assert.equal(new IgnoreMatcher(['xy']).excludes('Xy'), false, 'case matters');
  assert.throws(() => new IgnoreMatcher(['!']), BuildContextError);
  assert.throws(() => new IgnoreMatcher(['[ab']), BuildContextError);
});

test('the Dockerfile and .dockerignore are always sent', () => {
  assert.deepEqual(keepBuildFiles(['*'], 'Dockerfile'), ['*', '!.dockerignore', '!Dockerfile']);
  assert.deepEqual(keepBuildFiles(['docker'], 'docker/app.Dockerfile'), ['docker', '!docker/app.Dockerfile']);
  assert.deepEqual(keepBuildFiles(['*.txt'], 'Dockerfile'), ['*.txt']);
});

test('the context tar: what .dockerignore leaves, long names, links, modes, mtimes', async (t) => {
  const long = `${'d'.repeat(60)}/${'e'.repeat(60)}/${'f'.repeat(70)}.txt`;
  const dir = projectDir(t, {
    Dockerfile: 'FROM scratch\n',
    '.dockerignore': 'ignored\n*.secret\nvendor\n!vendor/keep.txt\n',
    'app.txt': 'app',
    'x.secret': 'no',
    'ignored/inside.txt': 'no',
    'vendor/drop.txt': 'no',
    'vendor/keep.txt': 'kept',
    'ünïcode.txt': 'u',
    [long]: 'long',
    'bin/run.sh': '#!/bin/sh\n',
  });
  chmodSync(join(dir, 'bin/run.sh'), 0o755);
  symlinkSync('app.txt', join(dir, 'link'));
  utimesSync(join(dir, 'app.txt'), 1_600_000_000, 1_600_000_000);
  mkdirSync(join(dir, 'empty'));
  writeFileSync(join(dir, 'big.bin'), Buffer.alloc(70_000, 7));
  const entries = await contextEntries(dir, { dockerfile: 'Dockerfile', extra: [{ name: '.dockerfile.extra', content: Buffer.from('FROM x\n') }] });
  const tar = await readBody(contextTar(entries));
  assert.equal(tar.length % 512, 0);
  const list = spawnSync('tar', ['-tv', '--full-time', '--numeric-owner'], { input: tar, encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
  assert.equal(list.status, 0, list.stderr);
  const names = list.stdout.trim().split('\n').map((l) => l.replace(/^.* \d\d:\d\d:\d\d /, ''));
  assert.deepEqual(names, [
    '.dockerignore',
    'Dockerfile',
    'app.txt',
    'big.bin',
    'bin/',
    'bin/run.sh',
    `${'d'.repeat(60)}/`,
    `${'d'.repeat(60)}/${'e'.repeat(60)}/`,
    `${long}`,
    'empty/',
    'link -> app.txt',
    'vendor/keep.txt',
    'ünïcode.txt',
    '.dockerfile.extra',
  ]);
  const line = (name: string) => list.stdout.split('\n').find((l) => l.endsWith(` ${name}`)) ?? '';
  assert.match(line('bin/run.sh'), /^-rwxr-xr-x 0\/0 /);
  assert.match(line('app.txt'), /^-rw-r--r-- 0\/0 +3 2020-09-13 12:26:40 app.txt$/);
  assert.match(line('link -> app.txt'), /^lrwxrwxrwx /);
  assert.match(line('empty/'), /^drwx/);
  const content = spawnSync('tar', ['-xO', long], { input: tar, encoding: 'utf8' });
  assert.equal(content.stdout, 'long');
  const big = spawnSync('tar', ['-xO', 'big.bin'], { input: tar });
  assert.deepEqual(big.stdout, Buffer.alloc(70_000, 7));
});

test('an unreadable context file fails before anything is sent', async (t) => {
  if (process.getuid?.() === 0) {
    t.skip('root reads everything');
    return;
  }
  const dir = projectDir(t, { Dockerfile: 'FROM scratch\n', 'locked/x': 'x' });
  chmodSync(join(dir, 'locked'), 0);
  t.after(() => chmodSync(join(dir, 'locked'), 0o755));
  await assert.rejects(contextEntries(dir, { dockerfile: 'Dockerfile' }), (e: unknown) => e instanceof BuildContextError && /locked/.test(e.message));
});
