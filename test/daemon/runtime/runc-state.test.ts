/** The daemon reads a container's status from runc's files: it must say what `runc state` says, in every state. Root only. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { containerFiles } from '../../../src/daemon/runtime/layout.js';
import { readRuncState } from '../../../src/daemon/runtime/runc-state.js';
import { requireRoot } from '../../helpers/root.js';
import { request, RUNTIME_TOOLS, startContainer, testEnv, waitFor, type TestEnv } from './fixture.js';

/** What the runc binary itself says: [status, pid], or null for a container it does not know. */
function runcSays(env: TestEnv, id: string): [string, number] | null {
  const r = spawnSync('runc', ['--root', env.paths.runcRoot, 'state', id], { encoding: 'utf8' });
  if (r.status !== 0) {
    assert.match(r.stderr, /does not exist/);
    return null;
  }
  const s = JSON.parse(r.stdout) as { status: string; pid: number };
  return [s.status, s.pid];
}

async function weSay(env: TestEnv, id: string): Promise<[string, number] | null> {
  const s = await readRuncState(env.paths.runcRoot, id);
  return s ? [s.status, s.pid] : null;
}

test('created, running, paused, stopped and unknown: the same status and pid as runc state', { timeout: 60_000 }, async (t) => {
  if (!requireRoot(t, RUNTIME_TOOLS)) return;
  const env = testEnv(t);
  const seen: string[] = [];
  const check = async (id: string, expected: string | null) => {
    const runc = runcSays(env, id);
    assert.equal(runc?.[0] ?? null, expected, 'runc itself');
    assert.deepEqual(await weSay(env, id), runc);
    seen.push(expected ?? 'unknown');
  };

  const unknown = request(env);
  await check(unknown.id, null);

  // Created: `runc create` without start (the process waits on the exec fifo).
  const created = request(env, { command: ['sleep', '600'] });
  await env.runtime.prepare(created);
  const r = spawnSync('runc', ['--root', env.paths.runcRoot, 'create', '--bundle', containerFiles(env.paths, created.id).bundle, created.id], { stdio: 'ignore' });
  assert.equal(r.status, 0, 'runc create');
  await check(created.id, 'created');

  const running = request(env, { command: ['sleep', '600'] });
  await startContainer(env, running);
  await check(running.id, 'running');
  await env.runtime.pause(running.id);
  await check(running.id, 'paused');
  await env.runtime.resume(running.id);
  await check(running.id, 'running');

  const stopped = request(env, { command: ['true'] });
  await startContainer(env, stopped);
  await waitFor('the exit', () => env.runtime.exitInfo(stopped.id));
  await check(stopped.id, 'stopped');
  await env.runtime.delete(stopped.id);
  await check(stopped.id, null);

  assert.deepEqual(seen, ['unknown', 'created', 'running', 'paused', 'running', 'stopped', 'unknown']);
});
