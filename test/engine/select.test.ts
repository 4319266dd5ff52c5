/** Which engine a command talks to. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { engineKind } from '../../src/engine/select.js';
import { UsageError } from '../../src/errors.js';

test('the embedded engine is the default; Docker when -H or DOCKER_HOST names one', () => {
  assert.equal(engineKind({ env: {} }), 'embedded');
  assert.equal(engineKind({ env: { DOCKER_HOST: 'unix:///var/run/docker.sock' } }), 'docker');
  assert.equal(engineKind({ env: { DOCKER_HOST: '' } }), 'embedded');
  assert.equal(engineKind({ host: 'tcp://127.0.0.1:2375', env: {} }), 'docker');
});

test('--engine and FLOTILLA_ENGINE choose, the flag first', () => {
  assert.equal(engineKind({ engine: 'docker', env: {} }), 'docker');
  assert.equal(engineKind({ env: { FLOTILLA_ENGINE: 'docker' } }), 'docker');
  assert.equal(engineKind({ engine: 'embedded', env: { FLOTILLA_ENGINE: 'docker', DOCKER_HOST: 'unix:///x.sock' } }), 'embedded');
  assert.throws(() => engineKind({ env: { FLOTILLA_ENGINE: 'podman' } }), (e: unknown) => e instanceof UsageError && /unknown engine "podman"/.test(e.message));
});
