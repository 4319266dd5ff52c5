/** Image references normalised as Docker reads them. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normaliseReference, parseReference, repositoryOf } from '../../../src/contract/image-reference.js';
import { EngineError } from '../../../src/contract/errors.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

test('normaliseReference: Docker Hub prefixes go, :latest is added, registries stay', () => {
  const cases: [string, string][] = [
    ['busybox', 'busybox:latest'],
    ['busybox:1.36', 'busybox:1.36'],
    ['library/busybox', 'busybox:latest'],
    ['docker.io/busybox', 'busybox:latest'],
    ['docker.io/library/busybox:1', 'busybox:1'],
    ['index.docker.io/library/redis:7-alpine', 'redis:7-alpine'],
    ['docker.io/team/app', 'team/app:latest'],
    ['docker.io/library/a/b', 'library/a/b:latest'],
    ['team/app:v1.2_3', 'team/app:v1.2_3'],
    ['127.0.0.1:5000/team/app:1', '127.0.0.1:5000/team/app:1'],
    ['localhost/app', 'localhost/app:latest'],
    ['localhost:5000/app', 'localhost:5000/app:latest'],
    ['registry.example.com/a/b/c', 'registry.example.com/a/b/c:latest'],
    ['[::1]:5000/app:x', '[::1]:5000/app:x'],
    ['my-app__x.y', 'my-app__x.y:latest'],
    [`busybox@${DIGEST}`, `busybox@${DIGEST}`],
    [`docker.io/library/busybox:1@${DIGEST}`, `busybox:1@${DIGEST}`],
    ['abcdef123456', 'abcdef123456:latest'],
  ];
  for (const [input, want] of cases) assert.equal(normaliseReference(input), want, input);
});

test('normaliseReference refuses what Docker calls an invalid reference format', () => {
  const bad: [string, RegExp][] = [
    ['', /empty repository name/],
    ['Busybox', /repository name must be lowercase/],
    ['team/App', /must be lowercase/],
    ['busybox:', /bad tag/],
    ['busybox:-x', /bad tag/],
    [`busybox:${'t'.repeat(129)}`, /bad tag/],
    ['busybox@sha256:abc', /bad digest/],
    [`busybox@sha256:${'AB'.repeat(32)}`, /64 lowercase hex/],
    ['a//b', /bad name component ""/],
    ['-a', /bad name component/],
    ['a b', /bad name component/],
    ['bad_.registry:5000/x', /bad name component|bad registry/],
    ['reg:port/x', /bad registry/],
    ['a'.repeat(64).replace(/a/g, 'f'), /64-digit hexadecimal/],
    [`${'a'.repeat(256)}`, /longer than 255/],
  ];
  for (const [input, why] of bad) {
    assert.throws(
      () => normaliseReference(input),
      (e: unknown) => e instanceof EngineError && e.kind === 'invalid' && e.message.startsWith('invalid reference format: ') && why.test(e.message),
      input,
    );
  }
});

test('parseReference and repositoryOf split the parts', () => {
  assert.deepEqual(parseReference(`127.0.0.1:5000/app:1@${DIGEST}`), { repository: '127.0.0.1:5000/app', tag: '1', digest: DIGEST });
  assert.deepEqual(parseReference('busybox'), { repository: 'busybox', tag: 'latest' });
  assert.equal(repositoryOf('docker.io/library/busybox:1'), 'busybox');
  assert.equal(repositoryOf('localhost:5000/x/y:2'), 'localhost:5000/x/y');
});
