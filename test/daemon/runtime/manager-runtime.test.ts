/**
 * The container manager on the real runtime (host networking, so no network manager): create,
 * start, exec as a health probe would, kill, a restart by policy, start again, remove; nothing
 * left. Checks that delete/release/destroy mean what the manager expects. Root only.
 * The last test guards stop(): it once held the container's lock while waiting for the exit, so
 * the SIGKILL after the grace period was never sent.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { adoptContainers } from '../../../src/daemon/containers/adopt.js';
import { execIn } from '../../../src/daemon/containers/sessions.js';
import { EngineError } from '../../../src/contract/errors.js';
import { requireRoot } from '../../helpers/root.js';
import { cgroupDirsUnder, containerSpec, logText, mountsUnder, newManager, processesMentioning, RUNTIME_TOOLS, testEnv, waitFor } from './fixture.js';

test('manager on the runtime: start, exec, kill, restart by policy, start again, remove; nothing left', { timeout: 90_000 }, async (t) => {
  if (!requireRoot(t, RUNTIME_TOOLS)) return;
  const env = testEnv(t);
  const manager = newManager(env);
  await manager.open();
  t.after(() => manager.close());

  const id = await manager.create(containerSpec({ name: 'sleeper', command: ['sh', '-c', 'echo change > /root/file; exec sleep 1000'] }));
  env.ids.push(id);
  await manager.start(id);
  assert.equal(manager.get(id).state.status, 'running');
  assert.ok(manager.get(id).state.pid > 1);
  const exec = await execIn(manager, id, { command: ['sh', '-c', 'echo probe; exit 2'], env: [], privileged: false, tty: false, attachStdin: false, detach: false });
  assert.equal(await exec.exitCode(), 2);
  const waited = manager.wait(id);
  await manager.kill(id, 'SIGKILL');
  assert.equal(await waited, 137);
  assert.equal(manager.get(id).state.status, 'exited');
  assert.deepEqual(mountsUnder(env.dir), [], 'released: rootfs unmounted');
  assert.deepEqual(cgroupDirsUnder(`${env.paths.cgroupParent}/${id}`), []);

  const flaky = await manager.create(containerSpec({ name: 'flaky', command: ['sh', '-c', 'echo run; exit 3'], restartPolicy: { name: 'on-failure', maximumRetryCount: 2 } }));
  env.ids.push(flaky);
  await manager.start(flaky);
  await waitFor('two restarts, then exited', () => {
    const s = manager.get(flaky).state;
    return s.status === 'exited' && s.restartCount === 2;
  }, 20_000);
  assert.equal(manager.get(flaky).state.exitCode, 3);

  // Started again: the same container, its changes kept.
  await manager.start(id);
  const again = await execIn(manager, id, { command: ['cat', '/root/file'], env: [], privileged: false, tty: false, attachStdin: false, detach: false });
  assert.equal(await again.exitCode(), 0);
  const waitedAgain = manager.wait(id);
  await manager.kill(id, 'KILL');
  await waitedAgain;
  for (const c of [id, flaky]) await manager.remove(c);
  assert.deepEqual(mountsUnder(env.dir), []);
  assert.deepEqual(cgroupDirsUnder(env.paths.cgroupParent), []);
  assert.deepEqual(await env.runtime.list(), []);
  assert.deepEqual([...processesMentioning(id), ...processesMentioning(flaky)], []);
});

test('manager.stop: TERM, then SIGKILL after the grace period', { timeout: 8_000 }, async (t) => {
  if (!requireRoot(t, RUNTIME_TOOLS)) return;
  const env = testEnv(t);
  const manager = newManager(env);
  await manager.open();
  t.after(() => manager.close());
  const id = await manager.create(containerSpec({ name: 'stubborn', command: ['sleep', '1000'] }));
  env.ids.push(id);
  await manager.start(id);
  const started = Date.now();
  await manager.stop(id, 1); // sleep as PID 1 ignores TERM
  assert.ok(Date.now() - started >= 1000);
  assert.deepEqual([manager.get(id).state.status, manager.get(id).state.exitCode], ['exited', 137]);
});

test('adoption by a new manager: a running container is adopted, one that exited meanwhile gets its code recorded', { timeout: 60_000 }, async (t) => {
  if (!requireRoot(t, RUNTIME_TOOLS)) return;
  const env = testEnv(t);
  const first = newManager(env);
  await first.open();
  const live = await first.create(containerSpec({ name: 'live', command: ['sh', '-c', 'trap "exit 5" TERM; echo ready; while true; do sleep 0.1; done'] }));
  const gone = await first.create(containerSpec({ name: 'gone', command: ['sh', '-c', 'trap "exit 4" TERM; echo ready; while true; do sleep 0.1; done'] }));
  env.ids.push(live, gone);
  await first.start(live);
  await first.start(gone);
  // A TERM before the trap is set would be dropped (sh is PID 1 in its namespace).
  for (const id of [live, gone]) await waitFor(`${id} to trap TERM`, () => logText(first.logPath(id)).includes('ready'));
  first.close(); // the old daemon stops watching: exits are no longer recorded
  await env.runtime.kill(gone, 'TERM');
  await waitFor('the exit file', () => env.runtime.exitInfo(gone));

  const second = newManager(env);
  await second.open();
  t.after(() => second.close());
  const result = await adoptContainers(second, false);
  // The exit may be recorded by open()'s exit watcher before adoptContainers looks at it.
  assert.equal(result.adopted, 1);
  assert.equal(result.restarted, 0);
  assert.equal(second.get(live).state.status, 'running');
  assert.deepEqual([second.get(gone).state.status, second.get(gone).state.exitCode], ['exited', 4]);
  const waited = second.wait(live);
  await second.kill(live, 'TERM');
  assert.equal(await waited, 5);
  assert.deepEqual(mountsUnder(env.dir), []);
  assert.deepEqual(await env.runtime.list(), []);
});

test('create refuses what a start would refuse, and leaves nothing (a 1 MB memory limit)', { timeout: 30_000 }, async (t) => {
  if (!requireRoot(t, RUNTIME_TOOLS)) return;
  const env = testEnv(t);
  const manager = newManager(env);
  await manager.open();
  t.after(() => manager.close());
  const refused = (spec: Parameters<typeof containerSpec>[0], message: RegExp) =>
    assert.rejects(manager.create(containerSpec(spec)), (e: unknown) => e instanceof EngineError && e.kind === 'invalid' && message.test(e.message));
  await refused({ name: 'tiny', memory: 1 << 20 }, /^Minimum memory limit allowed is 6MB$/);
  await refused({ name: 'many-cpus', nanoCpus: 1e9 * 4096 }, /^range of CPUs is from 0\.01 to \d+\.00/);
  await refused({ name: 'bad-cap', capAdd: ['NOT_A_CAP'] }, /NOT_A_CAP/);
  assert.deepEqual(manager.list({ labels: {}, all: true }), []);
  assert.deepEqual(readdirSync(env.paths.containers), []);
});

test('restart loops: every run finishes after it started; adoption counts the restarts it schedules', { timeout: 60_000 }, async (t) => {
  if (!requireRoot(t, RUNTIME_TOOLS)) return;
  const env = testEnv(t);
  const manager = newManager(env);
  await manager.open();
  const id = await manager.create(containerSpec({ name: 'looper', command: ['false'], restartPolicy: { name: 'always', maximumRetryCount: 0 } }));
  env.ids.push(id);
  await manager.start(id);
  const seen: string[] = [];
  const exits = new Set<string>();
  while (exits.size < 4) {
    await manager.wait(id);
    const s = manager.get(id).state;
    exits.add(s.finishedAt);
    if (Date.parse(s.finishedAt) < Date.parse(s.startedAt)) seen.push(`finished ${s.finishedAt} before it started ${s.startedAt}`);
  }
  assert.deepEqual(seen, []);
  await manager.stop(id, 0);

  // An exit recorded by a new manager, with a policy that restarts it: counted as such.
  const once = await manager.create(containerSpec({ name: 'once', command: ['sh', '-c', 'sleep 4; exit 3'], restartPolicy: { name: 'on-failure', maximumRetryCount: 1 } }));
  env.ids.push(once);
  await manager.start(once);
  // The old daemon is gone before the exit (4 s leaves room for a slow start() under load; with 1 s
  // the old manager sometimes recorded the exit itself, and the new one had nothing to adopt).
  manager.close();
  await waitFor('the exit file', () => env.runtime.exitInfo(once), 20_000);
  const second = newManager(env);
  await second.open();
  t.after(() => second.close());
  const adoption = await adoptContainers(second, false);
  assert.deepEqual([adoption.exited, adoption.restarting], [1, 1]);
  await waitFor('the restart, logged', () => env.logLines.some((l) => l.includes(`container ${once}: restarted by its restart policy (restart 1)`)), 20_000);
  assert.equal(await second.wait(once), 3);
  assert.deepEqual([second.get(once).state.status, second.get(once).state.restartCount], ['exited', 1]);
  for (const c of [id, once]) await second.remove(c, { force: true });
});
