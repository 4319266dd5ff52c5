/**
 * `image build --secret` read as `docker buildx build` reads it: src/source or env, type=file|env,
 * with neither the variable named by the id if set else the file; the contents go as base64.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readSecrets } from '../../src/cli/commands/image-build.js';
import { UsageError } from '../../src/errors.js';
import { projectDir } from '../helpers/tmp.js';

const text = (b64: string | undefined) => Buffer.from(b64 ?? '', 'base64').toString('utf8');

test('--secret: files, variables, defaults and refusals', (t) => {
  const dir = projectDir(t, { 'token.txt': 'from-file', tok: 'file-named-tok' });
  writeFileSync(join(dir, 'sub-secret'), 'sub');
  const env = { TOK_VAR: 'from-env', tok: 'env-named-tok' };
  const got = readSecrets(['id=a,src=token.txt', 'id=b,source=' + join(dir, 'sub-secret'), 'id=c,env=TOK_VAR', 'id=d,type=env,src=TOK_VAR', 'src=token.txt', 'id=tok', 'id=tok2,type=file,src=tok'], dir, env);
  assert.deepEqual(Object.fromEntries(Object.entries(got).map(([k, v]) => [k, text(v)])), {
    a: 'from-file',
    b: 'sub',
    c: 'from-env',
    d: 'from-env',
    'token.txt': 'from-file',
    tok: 'env-named-tok',
    tok2: 'file-named-tok',
  });
  assert.equal(text(readSecrets(['id=tok'], dir, {}).tok), 'file-named-tok', 'no variable of that name: the file');
  for (const [value, message] of [
    ['id=x,src=missing', /--secret x: cannot read missing: no such file/],
    ['id=x,env=NOPE', /--secret x: the environment variable NOPE is not set/],
    ['id=x,type=ssh', /type must be file or env/],
    ['id=x,mode=0400', /unexpected key "mode"/],
    ['justtext', /expected id=ID,src=PATH or id=ID,env=VAR/],
  ] as const) {
    assert.throws(() => readSecrets([value], dir, env), (e) => e instanceof UsageError && message.test(e.message), value);
  }
});
