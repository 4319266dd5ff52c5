/**
 * The embedded swarm core's tasks as a user sees them (one test daemon of this file's own, runc,
 * busybox): health checks gating `running` and an unhealthy task failed, replaced and counted by
 * the update's monitor; secrets and configs in a task at their targets, owners and modes, on a
 * tmpfs, and nowhere on disk under the daemon's root; `stack deploy --wait` converging and
 * failing; a global service updated and `service rollback` back to its previous spec, with
 * `service logs` and `-f` following new lines.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { after, test } from 'node:test';
import { FLOTILLA, jsonLines } from '../helpers/cli.js';
import { embeddedCli, succeeded } from '../helpers/embedded-cli.js';
import { useTestDaemon } from '../helpers/embedded-daemon.js';
import { requireRoot } from '../helpers/root.js';
import { waitFor } from '../helpers/wait.js';

const daemon = useTestDaemon();
const run = embeddedCli(daemon);
const dir = mkdtempSync(join(tmpdir(), 'flotilla-swarm-health-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function engine() {
  const d = daemon();
  assert.ok(d);
  return d.engine;
}

function deploy(file: string, stack: string, ...extra: string[]): string {
  return succeeded(run(dir, ['stack', 'deploy', '--resolve-image', 'never', ...extra, '-c', file, stack]), `deploy ${stack}`);
}

/** Removes the stack after the test, and waits until its containers are gone. */
function removedAfter(t: { after: (fn: () => Promise<void>) => void }, stack: string): void {
  t.after(async () => {
    run(dir, ['stack', 'rm', stack]);
    await waitFor('the stack gone', async () => (await engine().listContainers({ labels: { 'com.docker.stack.namespace': stack }, all: true })).length === 0, 60_000).catch(() => undefined);
  });
}

type PsLine = Record<string, string | undefined>;

function tasksOf(service: string): PsLine[] {
  return jsonLines(succeeded(run(dir, ['service', 'ps', '--no-trunc', '--format', 'json', service]), 'service ps')) as PsLine[];
}

function state(t: PsLine): string {
  return (t['CurrentState'] ?? '').split(' ')[0] ?? '';
}

function updateStatus(service: string): { State: string; Message: string } | undefined {
  return (JSON.parse(succeeded(run(dir, ['service', 'inspect', service]), 'service inspect')) as { UpdateStatus?: { State: string; Message: string } }[])[0]?.UpdateStatus;
}

function healthStack(value: string): void {
  writeFileSync(
    join(dir, 'health.yml'),
    `version: "3.8"
services:
  web:
    image: busybox:latest
    command: ["sleep", "3600"]
    init: true
    stop_grace_period: 1s
    environment: {VALUE: "${value}"}
    healthcheck: {test: ["CMD-SHELL", "test -f /tmp/ready"], interval: 1s, timeout: 5s, retries: 1, start_period: 10m}
    deploy:
      restart_policy: {condition: any, delay: 1s}
      update_config: {failure_action: pause, monitor: 10m}
`,
  );
}

/** Runs a command in the task's container (the test makes it healthy or unhealthy by hand). */
async function execIn(taskId: string, command: string[]): Promise<string> {
  // A task is `starting` from just before its container starts.
  const container = await waitFor(`the container of task ${taskId} running`, async () => (await engine().listContainers({ labels: { 'com.docker.swarm.task.id': taskId }, all: false }))[0], 60_000);
  const session = await engine().exec(container.id, { command, env: [], privileged: false, tty: false, attachStdin: false, detach: false });
  let out = '';
  for await (const chunk of session.output) out += chunk.data.toString();
  assert.equal(await session.exitCode(), 0, `${command.join(' ')}: ${out}`);
  return out;
}

test('a health check gates running; an unhealthy task fails, is replaced, and fails the update', async (t) => {
  if (!requireRoot(t)) return;
  const stack = 'swh';
  const service = `${stack}_web`;
  removedAfter(t, stack);

  // `starting` (and 0/1) until the check passes (failures in the start period do not count), then `running`.
  healthStack('one');
  deploy('health.yml', stack);
  const first = await waitFor('a starting task', () => tasksOf(service).find((x) => state(x) === 'Starting'), 60_000);
  const firstId = first['ID'] ?? '';
  await waitFor('a failed probe', async () => {
    const [c] = await engine().listContainers({ labels: { 'com.docker.swarm.task.id': firstId }, all: false });
    return c && ((await engine().inspectContainer(c.id))?.state.health?.log.length ?? 0) > 0;
  }, 60_000);
  assert.equal(state(tasksOf(service).find((x) => x['ID'] === firstId) ?? {}), 'Starting');
  const replicas = jsonLines(succeeded(run(dir, ['service', 'ls', '--format', 'json']), 'service ls')).find((s) => s['Name'] === service);
  assert.equal(replicas?.['Replicas'], '0/1', 'a task still starting is not counted as running');
  await execIn(firstId, ['touch', '/tmp/ready']);
  await waitFor('the task running', () => tasksOf(service).find((x) => x['ID'] === firstId && state(x) === 'Running'), 60_000);

  // An update whose new task turns unhealthy after running: failed with swarm's error, its
  // container stopped, replaced under the restart policy, and the update's monitor pauses it.
  healthStack('two');
  deploy('health.yml', stack);
  const second = await waitFor('the new task starting', () => tasksOf(service).find((x) => x['ID'] !== firstId && state(x) === 'Starting'), 60_000);
  const secondId = second['ID'] ?? '';
  await execIn(secondId, ['touch', '/tmp/ready']);
  await waitFor('the new task running', () => tasksOf(service).find((x) => x['ID'] === secondId && state(x) === 'Running'), 60_000);
  const [container] = await engine().listContainers({ labels: { 'com.docker.swarm.task.id': secondId }, all: false });
  assert.ok(container);
  await execIn(secondId, ['rm', '/tmp/ready']);
  const failed = await waitFor('the new task failed', () => tasksOf(service).find((x) => x['ID'] === secondId && state(x) === 'Failed'), 60_000);
  assert.equal(failed['Error'], '"dockerexec: unhealthy container"');
  assert.equal(failed['DesiredState'], 'Shutdown');
  await waitFor('the unhealthy container stopped', async () => (await engine().inspectContainer(container.id))?.state.running === false, 30_000);
  const status = await waitFor('the update paused', () => {
    const s = updateStatus(service);
    return s?.State === 'paused' ? s : undefined;
  }, 60_000);
  assert.equal(status.Message, `update paused due to failure or early termination of task ${secondId}`);
  await waitFor('a replacement in the slot', () => tasksOf(service).find((x) => ![firstId, secondId].includes(x['ID'] ?? '') && x['DesiredState'] === 'Running'), 60_000);
});

/** Files under `root` on its own file system (not the tmpfs and overlay mounts below it) holding `needle`. */
function filesHolding(root: string, needle: Buffer): string[] {
  const dev = statSync(root).dev;
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const st = lstatSync(path);
      if (st.dev !== dev) continue;
      if (st.isDirectory()) walk(path);
      else if (st.isFile() && readFileSync(path).includes(needle)) found.push(path);
    }
  };
  walk(root);
  return found;
}

test('secrets and configs are files on a tmpfs in the task, with their targets, owners and modes, and nowhere on disk', async (t) => {
  if (!requireRoot(t)) return;
  const stack = 'sws';
  const service = `${stack}_app`;
  removedAfter(t, stack);
  const secret = `secret-${randomBytes(12).toString('hex')}`;
  const config = `config-${randomBytes(12).toString('hex')}`;
  writeFileSync(join(dir, 'token.txt'), secret);
  writeFileSync(join(dir, 'app.conf'), config);
  writeFileSync(
    join(dir, 'secrets.yml'),
    `version: "3.8"
services:
  app:
    image: busybox:latest
    command: ["sleep", "3600"]
    init: true
    stop_grace_period: 1s
    secrets:
      - token
      - {source: token, target: /etc/app/token, uid: "1000", gid: "1001", mode: 0400}
    configs:
      - app_conf
      - {source: app_conf, target: conf/app.conf, uid: "7", mode: 0640}
secrets:
  token: {file: ./token.txt}
configs:
  app_conf: {file: ./app.conf}
`,
  );
  deploy('secrets.yml', stack);
  const task = await waitFor('the task running', () => tasksOf(service).find((x) => state(x) === 'Running'), 60_000);
  const id = task['ID'] ?? '';

  const files = ['/run/secrets/token', '/etc/app/token', '/app_conf', '/conf/app.conf'];
  const listing = await execIn(id, ['sh', '-c', `for f in ${files.join(' ')}; do echo "$f $(stat -c '%u %g %a' $f) $(cat $f)"; done`]);
  assert.deepEqual(listing.trim().split('\n'), [
    `/run/secrets/token 0 0 444 ${secret}`,
    `/etc/app/token 1000 1001 400 ${secret}`,
    `/app_conf 0 0 444 ${config}`,
    `/conf/app.conf 7 0 640 ${config}`,
  ]);
  // Each is a read-only mount of a tmpfs, as swarm's.
  const mounts = (await execIn(id, ['cat', '/proc/mounts'])).split('\n');
  for (const f of files) {
    const line = mounts.find((m) => m.split(' ')[1] === f);
    assert.match(line ?? '', /^\S+ \S+ tmpfs ro[, ]/, `${f}: ${line}`);
  }

  // Nothing of either on disk under the daemon's root: in clear nowhere, base64 only in the swarm store.
  const d = daemon();
  assert.ok(d);
  const root = d.env['FLOTILLA_ROOT'] ?? '';
  assert.ok(root);
  for (const value of [secret, config]) {
    assert.deepEqual(filesHolding(root, Buffer.from(value)), [], `${value} in clear`);
    const encoded = filesHolding(root, Buffer.from(Buffer.from(value).toString('base64')));
    assert.deepEqual(encoded.filter((f) => !f.startsWith(join(root, 'swarm') + '/')), [], `${value} in base64`);
  }
});

test('stack deploy --wait: exit 0 once converged; a service the swarm gives up on fails it with the reason', async (t) => {
  if (!requireRoot(t)) return;
  removedAfter(t, 'swok');
  removedAfter(t, 'swbad');
  writeFileSync(
    join(dir, 'wait-ok.yml'),
    `version: "3.8"
services:
  app:
    image: busybox:latest
    command: ["sleep", "3600"]
    init: true
    stop_grace_period: 1s
    deploy: {replicas: 2, update_config: {monitor: 1s}}
`,
  );
  writeFileSync(
    join(dir, 'wait-bad.yml'),
    `version: "3.8"
services:
  app:
    image: busybox:latest
    command: ["sh", "-c", "exit 3"]
    deploy: {restart_policy: {condition: none}, update_config: {monitor: 1s}}
`,
  );
  const ok = run(dir, ['stack', 'deploy', '--resolve-image', 'never', '--wait', '--wait-timeout', '120', '-c', 'wait-ok.yml', 'swok']);
  assert.equal(ok.status, 0, ok.stderr);
  const live = tasksOf('swok_app').filter((x) => x['DesiredState'] === 'Running');
  assert.deepEqual(live.map(state), ['Running', 'Running'], 'both tasks run when --wait returns');

  const bad = run(dir, ['stack', 'deploy', '--resolve-image', 'never', '--wait', '--wait-timeout', '120', '-c', 'wait-bad.yml', 'swbad']);
  assert.equal(bad.status, 2, `${bad.stdout}${bad.stderr}`);
  assert.match(bad.stderr, /^ERROR: app: failed: task: non-zero exit \(3\)$/m);
});

test('a global service: updated, `service rollback` back to the previous spec, `service logs` and `-f` following', async (t) => {
  if (!requireRoot(t)) return;
  const stack = 'swg';
  const service = `${stack}_web`;
  removedAfter(t, stack);
  const globalStack = (value: string) =>
    writeFileSync(
      join(dir, 'global.yml'),
      `version: "3.8"
services:
  web:
    image: busybox:latest
    command: ["sh", "-c", "echo first-$$VALUE; while sleep 0.2; do if [ -f /tmp/more ]; then rm /tmp/more; echo more-$$VALUE; fi; done"]
    init: true
    stop_grace_period: 1s
    environment: {VALUE: "${value}"}
    deploy: {mode: global, update_config: {monitor: 1s}, rollback_config: {monitor: 1s}}
`,
    );
  const running = async () => (await engine().listContainers({ labels: { 'com.docker.swarm.service.name': service }, all: false })).filter((c) => c.state === 'running');
  const valueOf = async (id: string) => (await engine().inspectContainer(id))?.config.env.find((e) => e.startsWith('VALUE=')) ?? '';
  const onlyTask = async (value: string) =>
    waitFor(`one task with VALUE=${value}`, async () => {
      const now = await running();
      const [c] = now;
      return now.length === 1 && c && (await valueOf(c.id)) === `VALUE=${value}` ? c : undefined;
    }, 90_000);

  globalStack('one');
  deploy('global.yml', stack);
  const first = await onlyTask('one');
  // Global: one task on the node, named by the node, not a slot.
  const [node] = jsonLines(succeeded(run(dir, ['node', 'ls', '--format', 'json']), 'node ls'));
  const nodeId = first.labels['com.docker.swarm.node.id'] ?? '';
  assert.ok(nodeId.startsWith(node?.['ID'] ?? '-'), `${nodeId} vs ${node?.['ID']}`);
  assert.match(first.name.replace(/^\//, ''), new RegExp(`^${service}\\.${nodeId}\\.\\w+$`));
  const listed = jsonLines(succeeded(run(dir, ['service', 'ls', '--format', 'json']), 'service ls')).find((x) => x['Name'] === service);
  assert.equal(listed?.['Mode'], 'global');
  assert.equal(listed?.['Replicas'], '1/1');

  // service logs -f: what the task wrote, and the lines it writes later.
  const d = daemon();
  assert.ok(d);
  const follower = spawn(FLOTILLA, ['service', 'logs', '-f', '--no-log-prefix', service], { cwd: dir, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: dir, ...d.env, FLOTILLA_ENGINE: 'embedded' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let followed = '';
  follower.stdout.on('data', (b: Buffer) => (followed += b.toString()));
  follower.stderr.on('data', (b: Buffer) => (followed += b.toString()));
  t.after(() => {
    follower.kill();
  });
  const seen = (line: string) => waitFor(`"${line}" followed`, () => followed.split('\n').includes(line), 60_000);
  await seen('first-one');
  const [task] = tasksOf(service).filter((x) => x['DesiredState'] === 'Running');
  await execIn(task?.['ID'] ?? '', ['touch', '/tmp/more']);
  await seen('more-one');
  follower.kill();

  globalStack('two');
  deploy('global.yml', stack);
  await onlyTask('two');
  await waitFor('the update completed', () => updateStatus(service)?.State === 'completed', 60_000);

  // service rollback: the previous spec again, its task replaced.
  succeeded(run(dir, ['service', 'rollback', service]), 'service rollback');
  await onlyTask('one');
  await waitFor('the rollback completed', () => updateStatus(service)?.State === 'rollback_completed', 60_000);
  const spec = (JSON.parse(succeeded(run(dir, ['service', 'inspect', service]), 'service inspect')) as { Spec: { TaskTemplate: { ContainerSpec: { Env: string[] } } } }[])[0]?.Spec;
  assert.deepEqual(spec?.TaskTemplate.ContainerSpec.Env, ['VALUE=one']);
  // service logs: every task's output, the earlier tasks' included.
  const logs = succeeded(run(dir, ['service', 'logs', '--no-log-prefix', service]), 'service logs').split('\n');
  for (const line of ['first-one', 'more-one', 'first-two']) assert.ok(logs.includes(line), `${line} in ${logs.join('|')}`);
});
