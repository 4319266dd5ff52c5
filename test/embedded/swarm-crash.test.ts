/**
 * The embedded swarm core at scale and through crashes (a test daemon of this file's own, runc,
 * busybox): scale 1→20→3 with exact task counts and one live task per slot; then kill -9 of the
 * daemon several times at random moments during a deploy, a scale-up and a rolling update, after
 * each of which the restarted daemon converges on exactly the desired tasks: one running task per
 * slot, no duplicate or lost task, every container belonging to a task the store still has.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Task } from '../../src/contract/swarm.js';
import { EmbeddedSwarm } from '../../src/engine/embedded/swarm.js';
import { embeddedCli, succeeded } from '../helpers/embedded-cli.js';
import { useTestDaemon } from '../helpers/embedded-daemon.js';
import { requireRoot } from '../helpers/root.js';
import { waitFor } from '../helpers/wait.js';

const daemon = useTestDaemon();
const run = embeddedCli(daemon);
const dir = mkdtempSync(join(tmpdir(), 'flotilla-swarm-crash-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const STACK = 'swk';
const SERVICE = `${STACK}_web`;
const TASK_LABEL = 'com.docker.swarm.task.id';

function writeStack(replicas: number, generation: number): void {
  writeFileSync(
    join(dir, 'stack.yml'),
    `version: "3.8"
services:
  web:
    image: busybox:latest
    command: ["sleep", "3600"]
    init: true
    stop_grace_period: 1s
    labels: {test.generation: "${generation}"}
    deploy:
      replicas: ${replicas}
      restart_policy: {condition: any, delay: 1s}
      update_config: {parallelism: 4, delay: 0s, monitor: 1s, order: stop-first}
`,
  );
}

function engine() {
  const d = daemon();
  assert.ok(d);
  return d.engine;
}

/** The service's tasks, from the core's API (not `service ps`: a CLI process per poll would load the machine). */
function tasks(): Promise<Task[]> {
  return new EmbeddedSwarm(engine()).listTasks({ services: [SERVICE] });
}

/** The slot of a task container: `<service>.<slot>.<task id>`. */
function slotOf(name: string): number {
  return Number(name.replace(/^\//, '').split('.')[1]);
}

/**
 * What the service looks like now, or why it has not converged on `replicas` tasks of
 * `generation`: exactly one live task per slot 1..replicas, each running in the one running
 * container of its slot, that container of the wanted generation; every container's task known
 * to the store (no orphan); one container per task.
 */
async function converged(replicas: number, generation: number): Promise<{ ok: true; slots: number[] } | { ok: false; why: string }> {
  const all = await tasks();
  const live = all.filter((t) => t.desiredState === 'running');
  const containers = await engine().listContainers({ labels: { 'com.docker.swarm.service.name': SERVICE }, all: true });
  const running = containers.filter((c) => c.state === 'running');
  const liveSlots = live.map((t) => t.slot).sort((a, b) => a - b);
  const want = Array.from({ length: replicas }, (_, i) => i + 1);
  if (liveSlots.join() !== want.join()) return { ok: false, why: `live task slots ${liveSlots.join()}` };
  if (!live.every((t) => t.state === 'running')) return { ok: false, why: `live tasks ${live.map((t) => t.state).join(', ')}` };
  const runningSlots = running.map((c) => slotOf(c.name)).sort((a, b) => a - b);
  if (runningSlots.join() !== want.join()) return { ok: false, why: `running container slots ${runningSlots.join()}` };
  const liveIds = new Set(live.map((t) => t.id));
  if (!running.every((c) => liveIds.has(c.labels[TASK_LABEL] ?? ''))) return { ok: false, why: 'a running container is not a live task' };
  if (!running.every((c) => c.labels['test.generation'] === String(generation))) return { ok: false, why: 'a running container of an older generation' };
  const known = new Set(all.map((t) => t.id));
  const orphans = containers.filter((c) => !known.has(c.labels[TASK_LABEL] ?? ''));
  if (orphans.length > 0) return { ok: false, why: `${orphans.length} containers of no task` };
  const taskIds = containers.map((c) => c.labels[TASK_LABEL]);
  if (new Set(taskIds).size !== taskIds.length) return { ok: false, why: 'two containers of one task' };
  return { ok: true, slots: runningSlots };
}

async function convergence(replicas: number, generation: number, timeoutMs = 90_000): Promise<number[]> {
  let last = '';
  try {
    const r = await waitFor(
      `${replicas} tasks of generation ${generation}`,
      async () => {
        const c = await converged(replicas, generation);
        if (!c.ok) last = c.why;
        return c.ok ? c.slots : undefined;
      },
      timeoutMs,
      250,
    );
    return r;
  } catch (e) {
    throw new Error(`${(e as Error).message}: ${last}`);
  }
}

/** kill -9 of the daemon `times` times, each at a random moment up to `withinMs` after it (re)started. */
async function crashLoop(times: number, withinMs: number): Promise<void> {
  const d = daemon();
  assert.ok(d);
  for (let i = 0; i < times; i++) {
    await sleep(Math.floor(Math.random() * withinMs));
    await d.kill();
    await d.start();
  }
}

test('scale 1→20→3, and kill -9 of the daemon in a loop during a deploy, a scale-up and a rolling update', async (t) => {
  if (!requireRoot(t)) return;
  t.after(async () => {
    run(dir, ['stack', 'rm', STACK]);
    await waitFor('the stack gone', async () => (await engine().listContainers({ labels: { 'com.docker.stack.namespace': STACK }, all: true })).length === 0, 60_000).catch(() => undefined);
  });

  const t0 = Date.now();
  const phase = (what: string) => t.diagnostic(`${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  writeStack(1, 1);
  succeeded(run(dir, ['stack', 'deploy', '--resolve-image', 'never', '-c', 'stack.yml', STACK]), 'deploy');
  assert.deepEqual(await convergence(1, 1), [1]);
  succeeded(run(dir, ['service', 'scale', '--detach=true', `${SERVICE}=20`]), 'scale to 20');
  assert.deepEqual(await convergence(20, 1), Array.from({ length: 20 }, (_, i) => i + 1));
  succeeded(run(dir, ['service', 'scale', '--detach=true', `${SERVICE}=3`]), 'scale to 3');
  assert.deepEqual(await convergence(3, 1), [1, 2, 3]);
  // The 17 removed slots' tasks and containers go; no history is kept for a removed slot.
  await waitFor('the removed slots reaped', async () => (await engine().listContainers({ labels: { 'com.docker.swarm.service.name': SERVICE }, all: true })).length === 3, 60_000);
  assert.equal((await tasks()).length, 3);
  phase('scale 1→20→3 done');

  // A deploy (a new service), killed in a loop while its tasks are made and started.
  succeeded(run(dir, ['stack', 'rm', STACK]), 'stack rm');
  await waitFor('the stack gone', async () => (await engine().listContainers({ labels: { 'com.docker.stack.namespace': STACK }, all: true })).length === 0, 60_000);
  writeStack(5, 2);
  succeeded(run(dir, ['stack', 'deploy', '--resolve-image', 'never', '-c', 'stack.yml', STACK]), 'deploy of 5');
  await crashLoop(3, 1500);
  assert.deepEqual(await convergence(5, 2), [1, 2, 3, 4, 5]);
  phase('deploy through kills converged');

  // A scale-up, killed in a loop.
  succeeded(run(dir, ['service', 'scale', '--detach=true', `${SERVICE}=8`]), 'scale to 8');
  await crashLoop(3, 1500);
  assert.deepEqual(await convergence(8, 2), [1, 2, 3, 4, 5, 6, 7, 8]);
  phase('scale-up through kills converged');

  // A rolling update (parallelism 4, stop-first), killed in a loop.
  writeStack(8, 3);
  succeeded(run(dir, ['stack', 'deploy', '--resolve-image', 'never', '-c', 'stack.yml', STACK]), 'update');
  await crashLoop(3, 2000);
  assert.deepEqual(await convergence(8, 3, 120_000), [1, 2, 3, 4, 5, 6, 7, 8]);
  phase('rolling update through kills converged');
  // No slot holds more than its history: the live task and at most 5 dead ones.
  const perSlot = new Map<number, number>();
  for (const task of await tasks()) perSlot.set(task.slot, (perSlot.get(task.slot) ?? 0) + 1);
  assert.ok([...perSlot.values()].every((n) => n <= 6), JSON.stringify([...perSlot]));
});
