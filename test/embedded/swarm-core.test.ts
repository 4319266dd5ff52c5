/**
 * Stacks on the embedded engine's own swarm core (a test daemon of this file's own, runc,
 * busybox): deploy, service ls/ps/inspect, a pending task with its constraint reason, scale
 * 1→5→2 (the highest slots go), a task killed from the host replaced in its slot under its
 * restart policy, kill -9 of the daemon during a scale-up converging without a duplicate or lost
 * task, and `stack rm` leaving no container or network (the harness checks the host after).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { jsonLines } from '../helpers/cli.js';
import { embeddedCli, succeeded } from '../helpers/embedded-cli.js';
import { useTestDaemon } from '../helpers/embedded-daemon.js';
import { requireRoot } from '../helpers/root.js';

const daemon = useTestDaemon();
const run = embeddedCli(daemon);
const dir = mkdtempSync(join(tmpdir(), 'flotilla-swarm-core-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const STACK = 'swc';

writeFileSync(
  join(dir, 'stack.yml'),
  `version: "3.8"
services:
  web:
    image: busybox:latest
    command: ["sleep", "3600"]
    init: true
    stop_grace_period: 1s
    labels: {app.role: web}
    deploy:
      replicas: 1
      restart_policy: {condition: any, delay: 1s}
      placement:
        constraints: ["node.role == manager"]
  nowhere:
    image: busybox:latest
    command: ["sleep", "3600"]
    deploy:
      placement:
        constraints: ["node.labels.zone == mars"]
`,
);

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(200);
  }
}

function engine() {
  const d = daemon();
  assert.ok(d);
  return d.engine;
}

async function webContainers(running = true) {
  const all = await engine().listContainers({ labels: { 'com.docker.swarm.service.name': `${STACK}_web` }, all: true });
  return all.filter((c) => !running || c.state === 'running');
}

function tasksOf(service: string) {
  return jsonLines(succeeded(run(dir, ['service', 'ps', '--no-trunc', '--format', 'json', service]), 'service ps'));
}

/** The slot of a task container: `<service>.<slot>.<task id>`. */
function slotOf(name: string): number {
  return Number(name.replace(/^\//, '').split('.')[1]);
}

async function runningSlots(count: number): Promise<number[]> {
  return until(`${count} running tasks of ${STACK}_web`, async () => {
    const live = tasksOf(`${STACK}_web`).filter((t) => t['DesiredState'] === 'Running');
    const running = await webContainers();
    if (live.length !== count || running.length !== count || !live.every((t) => (t['CurrentState'] ?? '').startsWith('Running'))) return undefined;
    return running.map((c) => slotOf(c.name)).sort((a, b) => a - b);
  });
}

test('a stack on the embedded swarm core: deploy, ls/ps/inspect, pending reason, scale, restart, daemon kill -9, rm', async (t) => {
  if (!requireRoot(t)) return;
  t.after(async () => {
    run(dir, ['stack', 'rm', STACK]);
    await until('the stack gone', async () => ((await engine().listContainers({ labels: { 'com.docker.stack.namespace': STACK }, all: true })).length === 0 ? true : undefined)).catch(() => undefined);
  });

  const info = succeeded(run(dir, ['node', 'ls', '--format', 'json']), 'node ls');
  const nodes = jsonLines(info);
  assert.equal(nodes.length, 1, info);

  const deployed = succeeded(run(dir, ['stack', 'deploy', '--resolve-image', 'never', '-c', 'stack.yml', STACK]), 'stack deploy');
  assert.match(deployed, /Creating service swc_web/);
  assert.deepEqual(await runningSlots(1), [1]);

  // ls and ps as Docker shows them; the pending task says why.
  const services = jsonLines(succeeded(run(dir, ['service', 'ls', '--format', 'json']), 'service ls'));
  assert.deepEqual(services.map((s) => [s['Name'], s['Mode'], s['Replicas']]).sort(), [
    [`${STACK}_nowhere`, 'replicated', '0/1'],
    [`${STACK}_web`, 'replicated', '1/1'],
  ]);
  const pending = await until('the pending task', () => tasksOf(`${STACK}_nowhere`).find((x) => (x['CurrentState'] ?? '').startsWith('Pending') && x['Error']));
  assert.equal(pending['Error'], '"no suitable node (scheduling constraints not satisfied on 1 node)"');

  // The container is the task: its name and swarm's labels.
  const [container] = await webContainers();
  assert.ok(container);
  const [task] = tasksOf(`${STACK}_web`);
  assert.ok(task);
  assert.equal(container.name.replace(/^\//, ''), `${STACK}_web.1.${task['ID']}`);
  assert.equal(container.labels['com.docker.swarm.task.id'], task['ID']);
  assert.equal(container.labels['com.docker.swarm.service.name'], `${STACK}_web`);
  assert.match(nodes[0]?.['ID'] ?? '', new RegExp(`^${container.labels['com.docker.swarm.node.id']}`));
  assert.equal(container.labels['app.role'], 'web');
  assert.equal(container.labels['com.docker.stack.namespace'], STACK);

  // inspect: Docker's JSON with swarm's defaults filled.
  const [inspected] = JSON.parse(succeeded(run(dir, ['service', 'inspect', `${STACK}_web`]), 'service inspect')) as {
    Spec: { Name: string; Mode: unknown; TaskTemplate: { RestartPolicy: unknown; ContainerSpec: { StopGracePeriod: number } }; UpdateConfig: Record<string, unknown> };
  }[];
  assert.ok(inspected);
  assert.equal(inspected.Spec.Name, `${STACK}_web`);
  assert.deepEqual(inspected.Spec.Mode, { Replicated: { Replicas: 1 } });
  assert.deepEqual(inspected.Spec.TaskTemplate.RestartPolicy, { Condition: 'any', Delay: 1e9, MaxAttempts: 0 });
  assert.equal(inspected.Spec.TaskTemplate.ContainerSpec.StopGracePeriod, 1e9);
  assert.equal(inspected.Spec.UpdateConfig['Parallelism'], 1);
  assert.equal(inspected.Spec.UpdateConfig['FailureAction'], 'pause');

  // A redeploy of the same file changes nothing (the stored spec is the defaulted one).
  const again = succeeded(run(dir, ['stack', 'deploy', '--dry-run', '--resolve-image', 'never', '-c', 'stack.yml', STACK]), 'stack deploy --dry-run');
  assert.match(again, /leave service swc_web: up to date/);
  assert.doesNotMatch(again, /update service/i);

  // Scale 1 → 5 → 2: scale-down keeps the lowest slots.
  succeeded(run(dir, ['service', 'scale', '--detach=true', `${STACK}_web=5`]), 'scale to 5');
  assert.deepEqual(await runningSlots(5), [1, 2, 3, 4, 5]);
  succeeded(run(dir, ['service', 'scale', '--detach=true', `${STACK}_web=2`]), 'scale to 2');
  assert.deepEqual(await runningSlots(2), [1, 2]);
  await until('the removed tasks reaped', async () => ((await webContainers(false)).length === 2 ? true : undefined));

  // A task killed from the host: failed, and replaced in its slot after the restart delay.
  const victim = (await webContainers()).find((c) => slotOf(c.name) === 2);
  assert.ok(victim);
  const pid = (await engine().inspectContainer(victim.id))?.state.pid ?? 0;
  assert.ok(pid > 0);
  process.kill(pid, 'SIGKILL');
  await until('the replacement in slot 2', async () => {
    const slots = await runningSlots(2);
    const replacement = (await webContainers()).find((c) => slotOf(c.name) === 2);
    return slots.join() === '1,2' && replacement && replacement.id !== victim.id ? true : undefined;
  });
  const tasks = tasksOf(`${STACK}_web`);
  const failed = tasks.find((x) => x['DesiredState'] === 'Shutdown' && (x['CurrentState'] ?? '').startsWith('Failed'));
  assert.ok(failed, JSON.stringify(tasks));
  assert.match(failed['Error'] ?? '', /task: non-zero exit \(137\)/);
  // The failed task's container stays (task history), stopped.
  assert.equal((await webContainers(false)).length, 3);

  // kill -9 of the daemon right after a scale-up: on restart it converges, no task lost or doubled.
  succeeded(run(dir, ['service', 'scale', '--detach=true', `${STACK}_web=4`]), 'scale to 4');
  await sleep(150);
  const d = daemon();
  assert.ok(d);
  await d.kill();
  await d.start();
  assert.deepEqual(await runningSlots(4), [1, 2, 3, 4]);
  const live = tasksOf(`${STACK}_web`).filter((x) => x['DesiredState'] === 'Running');
  assert.equal(new Set(live.map((x) => x['Name'])).size, 4, 'one live task per slot');
  const all = await webContainers(false);
  assert.equal(all.filter((c) => c.state === 'running').length, 4);
  assert.equal(new Set(all.map((c) => c.labels['com.docker.swarm.task.id'])).size, all.length, 'one container per task');

  // stack rm: every container and the stack's network go.
  succeeded(run(dir, ['stack', 'rm', STACK]), 'stack rm');
  await until('no container of the stack', async () => ((await engine().listContainers({ labels: { 'com.docker.stack.namespace': STACK }, all: true })).length === 0 ? true : undefined));
  await until('no network of the stack', async () => ((await engine().listNetworks({})).some((n) => n.name.startsWith(`${STACK}_`)) ? undefined : true));
  assert.deepEqual(jsonLines(succeeded(run(dir, ['service', 'ls', '--format', 'json']), 'service ls')), []);
});

function updateStack(value: string, command: string, updateConfig = 'delay: 1s, monitor: 2s, order: stop-first, failure_action: pause'): void {
  writeFileSync(
    join(dir, 'update.yml'),
    `version: "3.8"
services:
  web:
    image: busybox:latest
    command: ${command}
    init: true
    stop_grace_period: 1s
    environment: {VALUE: "${value}"}
    deploy:
      replicas: 4
      restart_policy: {condition: any, delay: 1s}
      update_config: {parallelism: 2, ${updateConfig}}
`,
  );
}

test('a rolling update goes two slots at a time with a delay', async (t) => {
  if (!requireRoot(t)) return;
  const stack = 'swu';
  const service = `${stack}_web`;
  t.after(async () => {
    run(dir, ['stack', 'rm', stack]);
    await until('the stack gone', async () => ((await engine().listContainers({ labels: { 'com.docker.stack.namespace': stack }, all: true })).length === 0 ? true : undefined)).catch(() => undefined);
  });
  const running = async () => (await engine().listContainers({ labels: { 'com.docker.swarm.service.name': service }, all: false })).filter((c) => c.state === 'running');
  const inspect = () => (JSON.parse(succeeded(run(dir, ['service', 'inspect', service]), 'service inspect')) as { Spec: { TaskTemplate: { ContainerSpec: { Env: string[] } } }; UpdateStatus?: { State: string; Message: string } }[])[0];
  const envOf = async (id: string) => (await engine().inspectContainer(id))?.config.env.find((e) => e.startsWith('VALUE=')) ?? '';

  updateStack('one', '["sleep", "3600"]');
  succeeded(run(dir, ['stack', 'deploy', '--resolve-image', 'never', '-c', 'update.yml', stack]), 'deploy');
  await until('4 tasks of the first spec', async () => ((await running()).length === 4 ? true : undefined));

  updateStack('two', '["sleep", "3600"]');
  succeeded(run(dir, ['stack', 'deploy', '--resolve-image', 'never', '-c', 'update.yml', stack]), 'update');
  await until('the update completed', () => (inspect()?.UpdateStatus?.State === 'completed' ? true : undefined), 120_000);
  const now = await running();
  assert.equal(now.length, 4);
  for (const c of now) assert.equal(await envOf(c.id), 'VALUE=two');
  // Two workers, each waiting 1 s after its task runs: the third start is at least 1 s after the first.
  const started = (await Promise.all(now.map(async (c) => Date.parse((await engine().inspectContainer(c.id))?.state.startedAt ?? '')))).sort((a, b) => a - b);
  assert.ok((started[2] as number) - (started[0] as number) >= 1000, `starts ${started.map((s) => s - (started[0] as number)).join(', ')} ms`);
  assert.ok((started[3] as number) - (started[1] as number) >= 1000, `starts ${started.map((s) => s - (started[0] as number)).join(', ')} ms`);
});

test('an update whose new tasks fail at once pauses (failure_action: pause)', async (t) => {
  if (!requireRoot(t)) return;
  const stack = 'swf';
  const service = `${stack}_web`;
  t.after(async () => {
    run(dir, ['stack', 'rm', stack]);
    await until('the stack gone', async () => ((await engine().listContainers({ labels: { 'com.docker.stack.namespace': stack }, all: true })).length === 0 ? true : undefined)).catch(() => undefined);
  });
  const running = async () => (await engine().listContainers({ labels: { 'com.docker.swarm.service.name': service }, all: false })).filter((c) => c.state === 'running');
  const status = () => (JSON.parse(succeeded(run(dir, ['service', 'inspect', service]), 'service inspect')) as { UpdateStatus?: { State: string; Message: string } }[])[0]?.UpdateStatus;

  // A long delay and monitor: the failure ends them at once, and a loaded daemon may report an exit late.
  const config = 'delay: 10s, monitor: 10s, order: stop-first, failure_action: pause';
  updateStack('one', '["sleep", "3600"]', config);
  succeeded(run(dir, ['stack', 'deploy', '--resolve-image', 'never', '-c', 'update.yml', stack]), 'deploy');
  await until('4 tasks of the first spec', async () => ((await running()).length === 4 ? true : undefined));

  updateStack('bad', '["sh", "-c", "exit 3"]', config);
  succeeded(run(dir, ['stack', 'deploy', '--resolve-image', 'never', '-c', 'update.yml', stack]), 'update');
  const ended = await until('the update to end', () => {
    const s = status();
    return s && s.State !== 'updating' ? s : undefined;
  }, 120_000);
  assert.equal(ended.State, 'paused', JSON.stringify(ended));
  assert.match(ended.Message, /^update paused due to failure or early termination of task \w+/);
  // Paused after the first two slots: the other two still run the first spec.
  assert.equal((await running()).length, 2);
});

test('an update whose new tasks fail at once rolls back (failure_action: rollback, start-first)', async (t) => {
  if (!requireRoot(t)) return;
  const stack = 'swr';
  const service = `${stack}_web`;
  t.after(async () => {
    run(dir, ['stack', 'rm', stack]);
    await until('the stack gone', async () => ((await engine().listContainers({ labels: { 'com.docker.stack.namespace': stack }, all: true })).length === 0 ? true : undefined)).catch(() => undefined);
  });
  const running = async () => (await engine().listContainers({ labels: { 'com.docker.swarm.service.name': service }, all: false })).filter((c) => c.state === 'running');
  const status = () => (JSON.parse(succeeded(run(dir, ['service', 'inspect', service]), 'service inspect')) as { UpdateStatus?: { State: string; Message: string } }[])[0]?.UpdateStatus;
  const config = 'delay: 10s, monitor: 10s, order: start-first, failure_action: rollback';

  updateStack('one', '["sleep", "3600"]', config);
  succeeded(run(dir, ['stack', 'deploy', '--resolve-image', 'never', '-c', 'update.yml', stack]), 'deploy');
  await until('4 tasks of the first spec', async () => ((await running()).length === 4 ? true : undefined));

  updateStack('bad', '["sh", "-c", "exit 3"]', config);
  succeeded(run(dir, ['stack', 'deploy', '--resolve-image', 'never', '-c', 'update.yml', stack]), 'update');
  const ended = await until('the update to end', () => {
    const s = status();
    return s && s.State !== 'updating' && s.State !== 'rollback_started' ? s : undefined;
  }, 120_000);
  assert.equal(ended.State, 'rollback_completed', JSON.stringify(ended));
  const envs = await until('4 tasks of the first spec again', async () => {
    const now = await running();
    return now.length === 4 ? Promise.all(now.map(async (c) => (await engine().inspectContainer(c.id))?.config.env.find((e) => e.startsWith('VALUE=')))) : undefined;
  });
  assert.deepEqual(envs, ['VALUE=one', 'VALUE=one', 'VALUE=one', 'VALUE=one']);
});
