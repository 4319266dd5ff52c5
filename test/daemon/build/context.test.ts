/**
 * The builder's kept copy of a context: equal to the walked context after every sync (added,
 * edited, removed, newly ignored files, a file turned into a directory, links, modes), with the
 * digests of the files' contents; unchanged files are neither copied nor hashed again; a sync cut
 * short starts over; a context in use by another build is copied afresh elsewhere.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ContextCopies } from '../../../src/daemon/build/context.js';
import { contextEntries } from '../../../src/util/build-context.js';
import { walkTree } from '../../helpers/buildkit.js';
import { projectDir } from '../../helpers/tmp.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** The tree as paths, types, modes and contents (owners and times aside). */
function describe(dir: string): string[] {
  return [...walkTree(dir)].map(([p, r]) => `${p} ${r.type} ${r.mode.toString(8)} ${r.content ?? ''}`).sort();
}

test('a kept context copy follows the context, copying and hashing only what changed', async (t) => {
  const context = projectDir(t, { 'a.txt': 'A', 'kept.txt': 'K', 'src/b.txt': 'B', 'src/deep/c.txt': 'C', 'gone.txt': 'G', '.dockerignore': 'ignored*\n' });
  writeFileSync(join(context, 'ignored.txt'), 'I');
  symlinkSync('a.txt', join(context, 'link'));
  chmodSync(join(context, 'src', 'b.txt'), 0o751);
  const state = join(context, '..', 'state');
  const scratch = join(context, '..', 'scratch');
  mkdirSync(scratch);
  const copies = new ContextCopies(state);

  const first = await copies.acquire(context, await contextEntries(context, {}), scratch);
  const expected = describe(context).filter((l) => !l.startsWith('ignored.txt'));
  assert.deepEqual(describe(first.root), expected);
  assert.equal(first.digest('src/deep/c.txt'), sha('C'));
  assert.equal(first.digest('src'), undefined, 'directories have no digest');
  assert.equal(first.digest('ignored.txt'), undefined);
  first.release();

  // Edited (same size), removed, newly ignored, a file turned into a directory, a new link target.
  writeFileSync(join(context, 'a.txt'), 'Z');
  rmSync(join(context, 'gone.txt'));
  writeFileSync(join(context, '.dockerignore'), 'ignored*\nsrc/deep\n');
  rmSync(join(context, 'src', 'b.txt'));
  mkdirSync(join(context, 'src', 'b.txt'));
  writeFileSync(join(context, 'src', 'b.txt', 'inner'), 'N');
  rmSync(join(context, 'link'));
  symlinkSync('src', join(context, 'link'));
  const untouched = join(first.root, 'kept.txt');
  const inodeBefore = statSync(untouched).ino;
  const second = await copies.acquire(context, await contextEntries(context, {}), scratch);
  assert.equal(second.root, first.root, 'the kept copy is reused');
  assert.deepEqual(describe(second.root), describe(context).filter((l) => !/^(ignored\.txt|src\/deep)/.test(l)));
  assert.equal(second.digest('a.txt'), sha('Z'));
  assert.equal(second.digest('src/b.txt/inner'), sha('N'));
  assert.equal(second.digest('gone.txt'), undefined);
  assert.equal(statSync(untouched).ino, inodeBefore, 'an unchanged file is not copied again');

  // While this copy is in use, another build of the same context gets a copy of its own.
  const other = await copies.acquire(context, await contextEntries(context, {}), scratch);
  assert.notEqual(other.root, second.root);
  assert.deepEqual(describe(other.root), describe(second.root));
  other.release();
  second.release();

  // A sync cut short (no manifest) starts over from an empty copy: a stray file disappears.
  writeFileSync(join(second.root, 'stray'), 'S');
  rmSync(join(state, sha(context), 'manifest.json'));
  const third = await copies.acquire(context, await contextEntries(context, {}), scratch);
  assert.equal(lstatSync(join(third.root, 'stray'), { throwIfNoEntry: false }), undefined);
  assert.deepEqual(describe(third.root), describe(second.root));
  third.release();
});
