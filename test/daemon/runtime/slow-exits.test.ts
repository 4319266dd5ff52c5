/**
 * Stopping when recording exits falls behind, as on a loaded machine (issue 15, item 3): the
 * runtime is the real one, with the manager's own delete() or release() made slower, which is
 * where the time of a recorded exit goes under load (runc, unmount, cgroups), and when runc's
 * state is already gone while the container still counts as running. The load test (test/embedded/load.test.ts) does
 * the same with real load.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RuntimePort } from '../../../src/daemon/containers/collaborators.js';
import { execIn } from '../../../src/daemon/containers/sessions.js';
import { containerFiles } from '../../../src/daemon/runtime/layout.js';
import { EngineError } from '../../../src/contract/errors.js';
import { containerSpec, logText, newManager, RUNTIME_TOOLS, testEnv, waitFor, type TestEnv } from './fixture.js';
import { requireRoot } from '../../helpers/root.js';

/** The real runtime, with every call of `method` the manager makes taking `ms` longer (after its work). */
function slowed(env: TestEnv, method: 'release' | 'delete', ms: number): RuntimePort {
  const real = env.runtime;
  return new Proxy(real, {
    get(target, name, receiver) {
      if (name === method) return async (id: string) => {
        await real[method](id);
        await sleep(ms);
      };
      const v = Reflect.get(target, name, receiver) as unknown;
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

test('a stop whose SIGKILL finds the exit half-recorded completes: never "not found"', { timeout: 60_000 }, async (t) => {
  if (!requireRoot(t, RUNTIME_TOOLS)) return;
  const env = testEnv(t);
  const manager = newManager(env, slowed(env, 'release', 3000));
  await manager.open();
  t.after(() => manager.close());
  // Exits on TERM at once; its exit is then recorded for 3 s, runc's state deleted first, so the
  // SIGKILL after the 1 s grace period finds no container in runc. That not-found once left stop()
  // and `down` reported a removal that had not happened.
  const id = await manager.create(containerSpec({ name: 'quick', command: ['sh', '-c', 'trap "exit 0" TERM; echo ready; while :; do sleep 0.1; done'] }));
  env.ids.push(id);
  await manager.start(id);
  // A TERM before the trap is set would be dropped (sh is PID 1 in its namespace).
  await waitFor('the trap', () => logText(manager.logPath(id)).includes('ready'));
  await manager.stop(id, 1);
  assert.deepEqual([manager.get(id).state.status, manager.get(id).state.exitCode], ['exited', 0]);
  await manager.remove(id);
  assert.equal(manager.find(id), null);
});

test('no fixed wait after SIGKILL: a stop waits as long as recording the exit takes', { timeout: 60_000 }, async (t) => {
  if (!requireRoot(t, RUNTIME_TOOLS)) return;
  const env = testEnv(t);
  // Longer than the 10 s the daemon once waited before failing with "did not exit after SIGKILL".
  const manager = newManager(env, slowed(env, 'release', 12_000));
  await manager.open();
  t.after(() => manager.close());
  const id = await manager.create(containerSpec({ name: 'stubborn', command: ['sleep', '1000'] }));
  env.ids.push(id);
  await manager.start(id);
  await manager.remove(id, { force: true }); // stop -t 0 first, as `down -t 0` does
  assert.equal(manager.find(id), null);
});

test('a container whose monitor died is stopped, its exit recorded as unknown, not waited on forever', { timeout: 60_000 }, async (t) => {
  if (!requireRoot(t, RUNTIME_TOOLS)) return;
  const env = testEnv(t);
  const manager = newManager(env);
  await manager.open();
  t.after(() => manager.close());
  const id = await manager.create(containerSpec({ name: 'orphan', command: ['sleep', '1000'] }));
  env.ids.push(id);
  await manager.start(id);
  // Without conmon no exit file is ever written for it.
  process.kill(Number(readFileSync(containerFiles(env.paths, id).conmonPid, 'utf8').trim()), 'SIGKILL');
  await manager.stop(id, 0);
  const s = manager.get(id).state;
  assert.deepEqual([s.status, s.exitCode], ['exited', 255]);
  assert.match(s.error, /not recorded/);
  assert.ok(env.logLines.some((l) => l.includes('left no exit code')));
  await manager.remove(id);
});

test('exec in a container whose process just ended says "not running", never "not found"', { timeout: 60_000 }, async (t) => {
  if (!requireRoot(t, RUNTIME_TOOLS)) return;
  const env = testEnv(t);
  const manager = newManager(env, slowed(env, 'delete', 2000));
  await manager.open();
  t.after(() => manager.close());
  const id = await manager.create(containerSpec({ name: 'brief', command: ['sh', '-c', 'sleep 0.5'] }));
  env.ids.push(id);
  await manager.start(id);
  // Its exit is being recorded (runc's state deleted, the rest delayed) while it still counts as running.
  const deadline = Date.now() + 10_000;
  while ((await env.runtime.state(id)) !== null && Date.now() < deadline) await sleep(50);
  assert.equal(await env.runtime.state(id), null);
  assert.equal(manager.get(id).state.status, 'running');
  await assert.rejects(execIn(manager, id, { command: ['true'], env: [], privileged: false, tty: false, attachStdin: false, detach: false }), (e: unknown) => e instanceof EngineError && e.kind === 'conflict');
  await manager.wait(id);
  await manager.remove(id);
});
