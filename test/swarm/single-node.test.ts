/**
 * Stacks on a one-node Docker Swarm (a lab dockerd of this file's own): deploy and --wait, a
 * rolling update, scale and --keep-scale, rollback, --wait on a failing and on a one-shot service,
 * --wait-timeout, --prune, service update, service logs -f, --ordered, images pinned by digest,
 * secrets and configs, stack config, service inspect and rm, a .dab made by `flotilla bundle`, and
 * `stack rm` leaving nothing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { after, test } from 'node:test';
import { load as parseYaml } from 'js-yaml';
import { setTimeout as sleep } from 'node:timers/promises';
import { FLOTILLA, assertOk as ok, flotilla, jsonLines, type CliResult } from '../helpers/cli.js';
import { requireLab, useSwarmLab, LAB_IMAGE, type SwarmLab } from '../helpers/swarm-lab.js';

const lab = useSwarmLab(1);
const dir = mkdtempSync('/tmp/flotilla-stack-');
after(() => rmSync(dir, { recursive: true, force: true }));

function run(l: SwarmLab, args: string[], timeoutMs = 180_000): CliResult {
  return flotilla(args, { cwd: dir, env: l.env(), timeoutMs });
}

function stackFile(name: string, env: string, extra = '', replicas = 2): void {
  writeFileSync(
    join(dir, name),
    `version: "3.8"
services:
  web:
    image: ${LAB_IMAGE}
    command: ["sh", "-c", "exec sleep 3600"]
    init: true
    stop_grace_period: 1s
    environment:
      FOO: "${env}"
    deploy:
      replicas: ${replicas}
      update_config: {parallelism: 1, monitor: 1s}
  once:
    image: ${LAB_IMAGE}
    command: ["sh", "-c", "echo done by once"]
    deploy:
      restart_policy: {condition: none}
      update_config: {monitor: 1s}
${extra}`,
  );
}

function serviceEnv(l: SwarmLab, name: string): string[] {
  const r = l.docker(['service', 'inspect', name, '--format', '{{json .Spec.TaskTemplate.ContainerSpec.Env}}']);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as string[];
}

function replicasOf(l: SwarmLab, name: string): number {
  const r = l.docker(['service', 'inspect', name, '--format', '{{.Spec.Mode.Replicated.Replicas}}']);
  assert.equal(r.status, 0, r.stderr);
  return Number(r.stdout.trim());
}

test('deploy --wait converges, a one-shot service included; an environment change is a rolling update', { timeout: 600_000 }, (t) => {
  if (!requireLab(t)) return;
  const l = lab() as SwarmLab;
  stackFile('stack.yml', '1');
  const first = ok(run(l, ['stack', 'deploy', '--wait', '--resolve-image', 'never', '-c', 'stack.yml', 'st']));
  assert.match(first.stdout, /^Creating network st_default$/m);
  assert.match(first.stdout, /^Creating service st_web$/m);
  assert.match(first.stderr, /^web: converged$/m);
  assert.match(first.stderr, /^once: converged$/m);
  const services = jsonLines(ok(run(l, ['service', 'ls', '--format', 'json'])).stdout);
  assert.equal(services.find((s) => s['Name'] === 'st_web')?.['Replicas'], '2/2');
  assert.deepEqual(jsonLines(ok(run(l, ['stack', 'ls', '--format', 'json'])).stdout), [{ Name: 'st', Services: '2' }]);
  const logs = ok(run(l, ['service', 'logs', 'st_once']));
  assert.match(logs.stdout, /^st_once\.1\s+\| done by once$/m);

  // A second deploy of the same file changes nothing.
  const dry = ok(run(l, ['stack', 'deploy', '--dry-run', '--resolve-image', 'never', '-c', 'stack.yml', 'st']));
  assert.match(dry.stdout, /^leave service st_web: up to date$/m);
  assert.match(dry.stdout, /^leave service st_once: up to date$/m);

  stackFile('stack.yml', '2');
  const plan = ok(run(l, ['stack', 'deploy', '--dry-run', '--resolve-image', 'never', '-c', 'stack.yml', 'st']));
  assert.match(plan.stdout, /^update service st_web: task\.container\.env: -FOO=1 \+FOO=2$/m);
  const second = ok(run(l, ['stack', 'deploy', '--wait', '--resolve-image', 'never', '-c', 'stack.yml', 'st']));
  assert.match(second.stdout, /^Updating service st_web \(id: \w+\)$/m);
  assert.doesNotMatch(second.stdout, /Updating service st_once/);
  assert.deepEqual(serviceEnv(l, 'st_web'), ['FOO=2']);
  const status = l.docker(['service', 'inspect', 'st_web', '--format', '{{.UpdateStatus.State}}']);
  assert.equal(status.stdout.trim(), 'completed');
  // Rolled: each slot has its new task running and its old one shut down.
  const tasks = jsonLines(ok(run(l, ['service', 'ps', 'st_web', '--format', 'json'])).stdout);
  assert.equal(tasks.filter((x) => x['DesiredState'] === 'Running' && x['CurrentState']?.startsWith('Running')).length, 2);
  assert.equal(tasks.filter((x) => x['DesiredState'] === 'Shutdown').length, 2);
  const table = ok(run(l, ['stack', 'ps', 'st'])).stdout;
  assert.match(table, /^ID\s+NAME\s+IMAGE\s+NODE\s+DESIRED STATE\s+CURRENT STATE\s+ERROR\s+PORTS$/m);
  assert.match(table, /^\w{12}\s+ \\_ st_web\.1\s+/m);
});

test('service scale, --keep-scale, and service rollback to the previous spec', { timeout: 600_000 }, (t) => {
  if (!requireLab(t)) return;
  const l = lab() as SwarmLab;
  const scaled = ok(run(l, ['service', 'scale', 'st_web=3']));
  assert.match(scaled.stdout, /^st_web scaled to 3$/m);
  assert.match(scaled.stderr, /^st_web: converged$/m);
  assert.equal(replicasOf(l, 'st_web'), 3);

  const kept = ok(run(l, ['stack', 'deploy', '--keep-scale', '--wait', '--resolve-image', 'never', '-c', 'stack.yml', 'st']));
  assert.match(kept.stderr, /st_web: replicas kept at 3 \(--keep-scale; the file says 2\)/);
  assert.equal(replicasOf(l, 'st_web'), 3);

  ok(run(l, ['stack', 'deploy', '--wait', '--resolve-image', 'never', '-c', 'stack.yml', 'st']));
  assert.equal(replicasOf(l, 'st_web'), 2);

  const back = ok(run(l, ['service', 'rollback', 'st_web']));
  assert.match(back.stderr, /^st_web: converged$/m);
  assert.equal(replicasOf(l, 'st_web'), 3);
});

test('--wait fails with the task error when the swarm gives up on a service; --wait-timeout bounds one that keeps failing', { timeout: 600_000 }, (t) => {
  if (!requireLab(t)) return;
  const l = lab() as SwarmLab;
  stackFile(
    'failing.yml',
    '2',
    `  bad:
    image: ${LAB_IMAGE}
    command: ["sh", "-c", "exit 1"]
    deploy:
      restart_policy: {condition: on-failure, max_attempts: 1, delay: 1s}
`,
  );
  const failed = run(l, ['stack', 'deploy', '--wait', '--resolve-image', 'never', '-c', 'failing.yml', 'st']);
  assert.equal(failed.status, 2, failed.stderr);
  assert.match(failed.stderr, /^bad\.1: task \w+ failed on node1: task: non-zero exit \(1\)$/m);
  assert.match(failed.stderr, /^ERROR: bad: failed: task: non-zero exit \(1\)$/m);

  stackFile(
    'flapping.yml',
    '2',
    `  flappy:
    image: ${LAB_IMAGE}
    command: ["sh", "-c", "exit 3"]
    deploy:
      restart_policy: {delay: 1s}
`,
  );
  const started = Date.now();
  const timedOut = run(l, ['stack', 'deploy', '--wait', '--wait-timeout', '8', '--resolve-image', 'never', '-c', 'flapping.yml', 'st']);
  assert.equal(timedOut.status, 3, timedOut.stderr);
  assert.ok(Date.now() - started >= 8000);
  assert.match(timedOut.stderr, /^flappy\.1: task \w+ failed on node1: task: non-zero exit \(3\)$/m);
  assert.match(timedOut.stderr, /^ERROR: --wait-timeout reached; not converged yet: flappy$/m);
});

test('--prune removes the services the file no longer has, and only with --prune', { timeout: 600_000 }, (t) => {
  if (!requireLab(t)) return;
  const l = lab() as SwarmLab;
  const names = () => jsonLines(ok(run(l, ['stack', 'services', 'st', '--format', 'json'])).stdout).map((s) => s['Name']).sort();
  assert.deepEqual(names(), ['st_bad', 'st_flappy', 'st_once', 'st_web']);
  ok(run(l, ['stack', 'deploy', '--resolve-image', 'never', '-c', 'stack.yml', 'st']));
  assert.deepEqual(names(), ['st_bad', 'st_flappy', 'st_once', 'st_web']);
  const pruned = ok(run(l, ['stack', 'deploy', '--prune', '--resolve-image', 'never', '-c', 'stack.yml', 'st']));
  assert.match(pruned.stdout, /^Removing service st_bad$/m);
  assert.match(pruned.stdout, /^Removing service st_flappy$/m);
  assert.deepEqual(names(), ['st_once', 'st_web']);
});

test('service update, and service logs -f following every task, one started later included', { timeout: 600_000 }, async (t) => {
  if (!requireLab(t)) return;
  const l = lab() as SwarmLab;
  const updated = ok(run(l, ['service', 'update', '--env-add', 'EXTRA=yes', 'st_web']));
  assert.match(updated.stderr, /^st_web: converged$/m);
  assert.deepEqual(serviceEnv(l, 'st_web'), ['EXTRA=yes', 'FOO=2']);

  writeFileSync(
    join(dir, 'talk.yml'),
    `version: "3.8"\nservices:\n  talker:\n    image: ${LAB_IMAGE}\n    command: ["sh", "-c", "while :; do echo tick; sleep 0.5; done"]\n    init: true\n    deploy: {update_config: {monitor: 1s}}\n`,
  );
  ok(run(l, ['stack', 'deploy', '--wait', '--resolve-image', 'never', '-c', 'talk.yml', 'talk']));
  const logs = spawn(FLOTILLA, ['service', 'logs', '-f', '--tail', '1', 'talk_talker'], {
    cwd: dir,
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: dir, FLOTILLA_ENGINE: 'docker', ...l.env() },
  });
  let out = '';
  logs.stdout.on('data', (d: Buffer) => (out += d.toString()));
  try {
    for (let i = 0; !/^talk_talker\.1\s+\| tick$/m.test(out); i++) {
      assert.ok(i < 60, `no line of the first task: ${out}`);
      await sleep(500);
    }
    ok(run(l, ['service', 'scale', 'talk_talker=2']));
    for (let i = 0; !/^talk_talker\.2\s+\| tick$/m.test(out); i++) {
      assert.ok(i < 60, `no line of the task started later: ${out}`);
      await sleep(500);
    }
  } finally {
    logs.kill('SIGINT');
  }
  ok(run(l, ['stack', 'rm', '--detach=false', 'talk']));
});

test('--ordered deploys a service only once what it depends on has converged (healthy, here)', { timeout: 600_000 }, (t) => {
  if (!requireLab(t)) return;
  const l = lab() as SwarmLab;
  writeFileSync(
    join(dir, 'ordered.yml'),
    `version: "3.8"
services:
  api:
    image: ${LAB_IMAGE}
    command: ["sh", "-c", "exec sleep 3600"]
    init: true
    depends_on: [db]
    deploy: {update_config: {monitor: 1s}}
  db:
    image: ${LAB_IMAGE}
    command: ["sh", "-c", "sleep 3; touch /tmp/ready; exec sleep 3600"]
    init: true
    healthcheck: {test: ["CMD", "test", "-e", "/tmp/ready"], interval: 1s, retries: 30}
    deploy: {update_config: {monitor: 1s}}
`,
  );
  const r = ok(run(l, ['stack', 'deploy', '--ordered', '--resolve-image', 'never', '-c', 'ordered.yml', 'ord']));
  assert.doesNotMatch(r.stderr, /ignoring "depends_on"/);
  assert.ok(r.stderr.indexOf('deploying db') < r.stderr.indexOf('db: converged'), r.stderr);
  assert.ok(r.stderr.indexOf('db: converged') < r.stderr.indexOf('deploying api'), r.stderr);
  const created = Date.parse(l.docker(['service', 'inspect', 'ord_api', '--format', '{{.CreatedAt}}']).stdout.trim());
  const dbRunning = l.docker(['service', 'ps', 'ord_db', '--format', '{{.ID}}']).stdout.trim().split('\n')[0] ?? '';
  const healthyAt = Date.parse(l.docker(['inspect', dbRunning, '--format', '{{.Status.Timestamp}}']).stdout.trim());
  assert.ok(created > healthyAt, `api was created (${created}) before db was running healthy (${healthyAt})`);
  ok(run(l, ['stack', 'rm', '--detach=false', 'ord']));
});

test('--resolve-image always pins the digest the registry has, as docker stack deploy does; secrets and configs reach the task; stack config, service inspect, service rm; stack rm removes secrets and configs', { timeout: 600_000 }, (t) => {
  if (!requireLab(t)) return;
  const l = lab() as SwarmLab;
  const image = '10.231.0.1:5000/lab/pinned:1';
  assert.equal(l.docker(['tag', LAB_IMAGE, image]).status, 0);
  const push = l.docker(['push', image]);
  assert.equal(push.status, 0, push.stderr);
  const pushed = /digest: (sha256:[0-9a-f]{64})/.exec(push.stdout)?.[1];
  assert.ok(pushed, push.stdout);
  writeFileSync(join(dir, 'token.txt'), 's3cret\n');
  writeFileSync(join(dir, 'app.conf'), 'answer = 42\n');
  writeFileSync(
    join(dir, 'pinned.yml'),
    `version: "3.8"
services:
  app:
    image: ${image}
    command: ["sh", "-c", "exec sleep 3600"]
    init: true
    environment: {WHO: "\${WHO}"}
    secrets: [token]
    configs:
      - {source: conf, target: /etc/app.conf, mode: 0440}
    deploy: {update_config: {monitor: 1s}}
  extra:
    image: ${LAB_IMAGE}
    command: ["sh", "-c", "exec sleep 3600"]
    init: true
    deploy: {update_config: {monitor: 1s}}
secrets:
  token: {file: ./token.txt}
configs:
  conf: {file: ./app.conf}
`,
  );
  // stack config: the same document docker stack config prints (key order and quoting aside).
  const config = ok(flotilla(['stack', 'config', '-c', 'pinned.yml'], { cwd: dir, env: { ...l.env(), WHO: 'someone' } })).stdout;
  assert.match(config, /^ {4}image: 10\.231\.0\.1:5000\/lab\/pinned:1$/m);
  assert.match(config, /^ {6}WHO: someone$/m);
  const reference = l.docker(['stack', 'config', '-c', 'pinned.yml'], { cwd: dir, env: { WHO: 'someone' } });
  assert.equal(reference.status, 0, reference.stderr);
  assert.deepEqual(parseYaml(config), parseYaml(reference.stdout));

  // --detach=false waits as --wait does (Docker's spelling).
  const deployed = ok(run(l, ['stack', 'deploy', '--detach=false', '-c', 'pinned.yml', 'pin']));
  assert.match(deployed.stderr, /^app: converged$/m);
  assert.match(deployed.stderr, /^extra: converged$/m);
  const ref = l.docker(['stack', 'deploy', '--detach=false', '-c', 'pinned.yml', 'pinref'], { cwd: dir });
  assert.equal(ref.status, 0, ref.stderr);
  const imageOf = (service: string) => l.docker(['service', 'inspect', service, '--format', '{{.Spec.TaskTemplate.ContainerSpec.Image}}']).stdout.trim();
  assert.equal(imageOf('pin_app'), `${image}@${pushed}`);
  assert.equal(imageOf('pin_app'), imageOf('pinref_app'));

  const container = l.docker(['ps', '-q', '--filter', 'label=com.docker.swarm.service.name=pin_app']).stdout.trim();
  assert.match(container, /^\w+$/, 'one running container of pin_app');
  const read = l.docker(['exec', container, 'sh', '-c', 'cat /run/secrets/token /etc/app.conf; stat -c %a /etc/app.conf']);
  assert.equal(read.stdout, 's3cret\nanswer = 42\n440\n', read.stderr);

  const inspected = JSON.parse(ok(run(l, ['service', 'inspect', 'pin_app'])).stdout) as { Spec: { Name: string; TaskTemplate: { ContainerSpec: { Image: string } } } }[];
  assert.equal(inspected.length, 1);
  assert.equal(inspected[0]?.Spec.Name, 'pin_app');
  assert.equal(inspected[0]?.Spec.TaskTemplate.ContainerSpec.Image, imageOf('pin_app'));

  assert.equal(ok(run(l, ['service', 'rm', 'pin_extra'])).stdout, 'pin_extra\n');
  assert.equal(l.docker(['service', 'ls', '-q', '--filter', 'name=pin_extra']).stdout.trim(), '');
  const missing = run(l, ['service', 'rm', 'pin_extra']);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /^ERROR: no such service: pin_extra$/m);

  for (const stack of ['pin', 'pinref']) {
    ok(run(l, ['stack', 'rm', '--detach=false', stack]));
    for (const kind of ['service', 'network', 'secret', 'config']) {
      const left = l.docker([kind, 'ls', '-q', '--filter', `label=com.docker.stack.namespace=${stack}`]);
      assert.equal(left.status, 0, left.stderr);
      assert.equal(left.stdout.trim(), '', `${kind}s left by stack ${stack}`);
    }
  }
});

test('a bad file changes nothing: one located error, exit 1', { timeout: 120_000 }, (t) => {
  if (!requireLab(t)) return;
  const l = lab() as SwarmLab;
  writeFileSync(join(dir, 'broken.yml'), `version: "3.8"\nservices:\n  web:\n    image: ${LAB_IMAGE}\n    mem_limit: 1g\n`);
  const r = run(l, ['stack', 'deploy', '-c', 'broken.yml', 'other']);
  assert.equal(r.status, 1);
  assert.equal(r.stderr, 'ERROR: broken.yml:5:5: services.web.mem_limit: "mem_limit" is not supported by stack deploy: set resource limits with deploy.resources\n');
  assert.doesNotMatch(ok(run(l, ['stack', 'ls'])).stdout, /^other/m);
});

test('a .dab made by flotilla bundle deploys with its image by digest; a changed bundle rolls the service', { timeout: 600_000 }, (t) => {
  if (!requireLab(t)) return;
  const l = lab() as SwarmLab;
  const image = '10.231.0.1:5000/lab/busybox:1';
  assert.equal(l.docker(['tag', LAB_IMAGE, image]).status, 0);
  const push = l.docker(['push', image]);
  assert.equal(push.status, 0, push.stderr);
  writeFileSync(
    join(dir, 'docker-compose.yml'),
    `version: "3.8"\nservices:\n  api:\n    image: ${image}\n    command: ["sh", "-c", "exec sleep 3600"]\n    environment: {MODE: one}\n    labels: {tier: back}\n    ports: ["8080"]\n`,
  );
  const bundled = ok(flotilla(['-p', 'app', 'bundle'], { cwd: dir, env: { ...l.env(), FLOTILLA_ENGINE: 'docker' } }));
  assert.match(bundled.stderr, /Wrote bundle to app\.dab/);
  const bundle = JSON.parse(readFileSync(join(dir, 'app.dab'), 'utf8')) as { Services: { api: { Image: string; Env: string[] } } };
  assert.match(bundle.Services.api.Image, /^10\.231\.0\.1:5000\/lab\/busybox@sha256:[0-9a-f]{64}$/);

  ok(run(l, ['deploy', '--wait', 'app']));
  const spec = JSON.parse(l.docker(['service', 'inspect', 'app_api', '--format', '{{json .Spec}}']).stdout) as {
    Labels: Record<string, string>;
    TaskTemplate: { ContainerSpec: { Image: string; Env: string[]; Args: string[]; Labels: Record<string, string> }; Networks: { Aliases: string[] }[] };
    EndpointSpec: { Ports: { TargetPort: number; Protocol: string }[] };
  };
  assert.equal(spec.TaskTemplate.ContainerSpec.Image, bundle.Services.api.Image);
  assert.deepEqual(spec.TaskTemplate.ContainerSpec.Env, ['MODE=one']);
  assert.deepEqual(spec.TaskTemplate.ContainerSpec.Args, ['sh', '-c', 'exec sleep 3600']);
  assert.deepEqual(spec.Labels, { tier: 'back', 'com.docker.stack.namespace': 'app' });
  assert.deepEqual(spec.TaskTemplate.ContainerSpec.Labels, { 'com.docker.stack.namespace': 'app' });
  assert.deepEqual(spec.TaskTemplate.Networks[0]?.Aliases, ['api']);
  assert.deepEqual(spec.EndpointSpec.Ports, [{ Protocol: 'tcp', TargetPort: 8080, PublishMode: 'ingress' }]);

  bundle.Services.api.Env = ['MODE=two'];
  writeFileSync(join(dir, 'app.dab'), JSON.stringify(bundle));
  const updated = ok(run(l, ['deploy', '--wait', 'app']));
  assert.match(updated.stdout, /^Updating service app_api/m);
  const tasks = jsonLines(ok(run(l, ['service', 'ps', 'app_api', '--format', 'json'])).stdout);
  assert.equal(tasks.filter((x) => x['DesiredState'] === 'Shutdown').length, 1);
  assert.equal(tasks.filter((x) => x['DesiredState'] === 'Running').length, 1);
});

test('stack rm leaves nothing: services, networks, secrets, configs, containers', { timeout: 600_000 }, (t) => {
  if (!requireLab(t)) return;
  const l = lab() as SwarmLab;
  for (const stack of ['st', 'app']) {
    const r = ok(run(l, ['stack', 'rm', '--detach=false', stack]));
    assert.match(r.stdout, new RegExp(`^Removing network ${stack}_default$`, 'm'));
    const label = `label=com.docker.stack.namespace=${stack}`;
    for (const kind of ['service', 'network', 'secret', 'config']) {
      const left = l.docker([kind, 'ls', '-q', '--filter', label]);
      assert.equal(left.status, 0, left.stderr);
      assert.equal(left.stdout.trim(), '', `${kind}s left by stack ${stack}`);
    }
    const running = l.docker(['ps', '-q', '--filter', label]);
    assert.equal(running.stdout.trim(), '', `containers still running in stack ${stack}`);
  }
  const again = run(l, ['stack', 'rm', 'st']);
  assert.match(again.stderr, /^Nothing found in stack: st$/m);
});
