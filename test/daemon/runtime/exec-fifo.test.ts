/** The daemon starts a created container through its exec fifo, as `runc start` does: the same outcomes and refusals. Root only. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { EngineError } from '../../../src/contract/errors.js';
import { startCreated } from '../../../src/daemon/runtime/exec-fifo.js';
import { containerFiles } from '../../../src/daemon/runtime/layout.js';
import { requireRoot } from '../../helpers/root.js';
import { request, RUNTIME_TOOLS, testEnv, waitFor, type TestEnv } from './fixture.js';

/** `runc create` alone: the container waits on its exec fifo. Returns its init pid. The fixture's cleanup deletes it. */
async function created(env: TestEnv, command: string[]): Promise<{ id: string; pid: number }> {
  const req = request(env, { command });
  await env.runtime.prepare(req);
  const r = spawnSync('runc', ['--root', env.paths.runcRoot, 'create', '--bundle', containerFiles(env.paths, req.id).bundle, req.id], { stdio: 'ignore' });
  assert.equal(r.status, 0, 'runc create');
  return { id: req.id, pid: runcState(env, req.id).pid };
}

function runcState(env: TestEnv, id: string): { status: string; pid: number } {
  const r = spawnSync('runc', ['--root', env.paths.runcRoot, 'state', id], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { status: string; pid: number };
}

async function refusal(p: Promise<unknown>): Promise<EngineError> {
  const e = await p.then(
    () => assert.fail('expected a refusal'),
    (err: unknown) => err,
  );
  assert.ok(e instanceof EngineError, String(e));
  return e;
}

test('a created container runs its command once started; the fifo is gone and a second start is refused', { timeout: 60_000 }, async (t) => {
  if (!requireRoot(t, RUNTIME_TOOLS)) return;
  const env = testEnv(t);
  const c = await created(env, ['sleep', '600']);
  assert.equal(runcState(env, c.id).status, 'created');

  await startCreated(env.paths.runcRoot, c.id);
  assert.equal(existsSync(join(env.paths.runcRoot, c.id, 'exec.fifo')), false);
  assert.equal(runcState(env, c.id).status, 'running', 'runc itself sees it running');
  const argv = await waitFor('the command', () => {
    const a = readFileSync(`/proc/${c.pid}/cmdline`, 'utf8').split('\0');
    return a[0] === 'sleep' ? a : null;
  });
  assert.deepEqual(argv.slice(0, 2), ['sleep', '600']);

  const again = await refusal(startCreated(env.paths.runcRoot, c.id));
  assert.equal(again.kind, 'conflict');
  assert.match(again.message, /cannot start an already running container/);
});

test('a command that ends at once still counts as started', { timeout: 60_000 }, async (t) => {
  if (!requireRoot(t, RUNTIME_TOOLS)) return;
  const env = testEnv(t);
  const c = await created(env, ['true']);
  await startCreated(env.paths.runcRoot, c.id);
  await waitFor('the exit', () => runcState(env, c.id).status === 'stopped');
});

test('a created container whose process was killed is refused, in bounded time, not waited on', { timeout: 60_000 }, async (t) => {
  if (!requireRoot(t, RUNTIME_TOOLS)) return;
  const env = testEnv(t);
  const c = await created(env, ['sleep', '600']);
  process.kill(c.pid, 'SIGKILL');
  await waitFor('runc init gone', () => !existsSync(`/proc/${c.pid}/cmdline`) || readFileSync(`/proc/${c.pid}/cmdline`, 'utf8') === '');
  const started = Date.now();
  const e = await refusal(startCreated(env.paths.runcRoot, c.id));
  assert.equal(e.kind, 'conflict');
  assert.match(e.message, /cannot start a container that has stopped|container process is already dead/);
  assert.ok(Date.now() - started < 5000, `refused after ${Date.now() - started} ms`);
});

test('an unknown container is not found', { timeout: 30_000 }, async (t) => {
  if (!requireRoot(t, RUNTIME_TOOLS)) return;
  const env = testEnv(t);
  const e = await refusal(startCreated(env.paths.runcRoot, request(env).id));
  assert.equal(e.kind, 'not-found');
});
