/**
 * .dockerignore side by side with dockerd 20.10's BuildKit: the same context and patterns, built
 * with `COPY . /ctx/`, must leave the same files as the walk Flotilla sends (contextEntries).
 */
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { contextEntries } from '../../src/util/build-context.js';
import { buildkitBuild, buildkitFiles, requireBuildkit } from '../helpers/buildkit.js';
import { projectDir } from '../helpers/tmp.js';

const FILES = [
  'app.txt', 'notes.md', 'README.md', 'src/notes.md', 'build/out/x.o', 'builder', 'docs/a.tmp', 'docs/x/y/z.tmp', 'docs/a.txt',
  'cache/blob', 'src/deep/cache/blob', 'cached', 'abc', 'ac', 'c+d', 'ccd', '(e)', 'e', 'a.b', 'axb', 'f$', 'xy', 'Xy', 'x.txt', 'z.txt',
  'lit*', 'litx', 'node_modules/pkg/index.js', 'dir/other/o', 'dir/keep/file', 'dir/keep/drop/z', 'abs/path/q', 'rel/x', '#hash', 'x.secret',
];
const PATTERNS = [
  '# a comment', '*.md', '!README.md', 'build', 'docs/**/*.tmp', '**/cache', 'a?c', 'c+d', '(e)', 'a.b', 'f$', 'xy', '[xz].txt', 'lit\\*',
  'node_modules/', 'dir', '!dir/keep', 'dir/keep/drop', '/abs/path/', './rel//x', ' #hash', '  *.secret  ', '',
];

test('the files .dockerignore leaves are the ones BuildKit copies', async (t) => {
  if (!requireBuildkit(t)) return;
  const files: Record<string, string> = { Dockerfile: 'FROM scratch\nCOPY . /ctx/\n', '.dockerignore': PATTERNS.join('\n') };
  for (const f of FILES) files[f] = `${f}\n`;
  const dir = projectDir(t, files);
  mkdirSync(join(dir, 'empty'));
  symlinkSync('app.txt', join(dir, 'link'));
  const built = buildkitBuild(t, dir);
  assert.ok(built.ok, built.ok ? '' : built.error);
  const theirs = [...buildkitFiles(built.id)].filter(([p, r]) => p.startsWith('ctx/') && r.type !== 'dir').map(([p]) => p.slice(4)).sort();
  const ours = (await contextEntries(dir, { dockerfile: 'Dockerfile' })).filter((e) => e.type !== 'directory').map((e) => e.name).sort();
  assert.deepEqual(ours, theirs);
  // the matcher is not vacuous: both kept some and dropped some of each kind
  assert.ok(theirs.includes('ccd') === false && theirs.includes('c+d') && theirs.includes('dir/keep/file') && !theirs.includes('dir/keep/drop/z'));
});
