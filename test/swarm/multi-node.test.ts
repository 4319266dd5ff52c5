/**
 * A stack across a three-node Docker Swarm (three dockerds in namespaces, scripts/swarm-lab):
 * placement by a node label set with `node update`, spreading with max_replicas_per_node, a global
 * service answering on every node's host-mode port (the kernel here has no IPVS: no routing mesh,
 * so dnsrr and host mode), then a worker crashing: its tasks are rescheduled and `--wait` says so.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { assertOk as ok, flotilla, jsonLines, type CliResult } from '../helpers/cli.js';
import { LAB_IMAGE, requireLab, useSwarmLab, type SwarmLab } from '../helpers/swarm-lab.js';

const lab = useSwarmLab(3);
const dir = mkdtempSync('/tmp/flotilla-multi-');
after(() => rmSync(dir, { recursive: true, force: true }));

function run(l: SwarmLab, args: string[], timeoutMs = 240_000): CliResult {
  return flotilla(args, { cwd: dir, env: l.env(), timeoutMs });
}

/** Nodes of the running tasks of a service. */
function runningOn(l: SwarmLab, service: string): string[] {
  return jsonLines(ok(run(l, ['service', 'ps', service, '--filter', 'desired-state=running', '--format', 'json'])).stdout)
    .filter((t) => t['CurrentState']?.startsWith('Running'))
    .map((t) => t['Node'] as string)
    .sort();
}

const STACK = `version: "3.8"
services:
  pinned:
    image: ${LAB_IMAGE}
    command: ["sh", "-c", "exec sleep 3600"]
    init: true
    deploy:
      replicas: 2
      placement: {constraints: [node.labels.tier == edge]}
      update_config: {monitor: 1s}
      restart_policy: {delay: 1s}
  spread:
    image: ${LAB_IMAGE}
    command: ["sh", "-c", "exec sleep 3600"]
    init: true
    deploy:
      replicas: 2
      placement: {max_replicas_per_node: 1, constraints: [node.role == worker]}
      update_config: {monitor: 1s}
      restart_policy: {delay: 1s}
  web:
    image: ${LAB_IMAGE}
    command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www"]
    hostname: "{{.Node.Hostname}}"
    init: true
    ports:
      - {target: 80, published: 8090, mode: host}
    deploy:
      mode: global
      endpoint_mode: dnsrr
      update_config: {monitor: 1s}
`;

test('placement by node label and per-node limits, a global service on every node, host-mode ports answering', { timeout: 600_000 }, (t) => {
  if (!requireLab(t)) return;
  const l = lab() as SwarmLab;
  const nodes = jsonLines(ok(run(l, ['node', 'ls', '--format', 'json'])).stdout);
  assert.deepEqual(nodes.map((n) => `${n['Hostname']} ${n['Status']} ${n['ManagerStatus']}`), ['node1 Ready Leader', 'node2 Ready ', 'node3 Ready ']);
  assert.equal(nodes.find((n) => n['Self'])?.['Hostname'], 'node1');
  for (const n of ['node2', 'node3']) assert.match(ok(run(l, ['node', 'update', '--label-add', 'tier=edge', n])).stdout, new RegExp(`^${n}$`, 'm'));
  const inspected = JSON.parse(ok(run(l, ['node', 'inspect', 'node2'])).stdout) as { Spec: { Labels: Record<string, string> } }[];
  assert.deepEqual(inspected[0]?.Spec.Labels, { tier: 'edge' });

  writeFileSync(join(dir, 'stack.yml'), STACK);
  const deployed = ok(run(l, ['stack', 'deploy', '--wait', '--resolve-image', 'never', '-c', 'stack.yml', 'multi']));
  for (const s of ['pinned', 'spread', 'web']) assert.match(deployed.stderr, new RegExp(`^${s}: converged$`, 'm'));
  assert.deepEqual(runningOn(l, 'multi_pinned').filter((n) => n === 'node1'), [], 'no pinned task on the unlabelled node');
  assert.deepEqual(runningOn(l, 'multi_spread'), ['node2', 'node3'], 'one spread task per worker');
  assert.deepEqual(runningOn(l, 'multi_web'), ['node1', 'node2', 'node3']);
  for (const i of [1, 2, 3]) {
    const got = l.script(['net', '1', 'busybox', 'wget', '-qO-', `http://10.231.0.1${i}:8090/`]);
    assert.equal(got.status, 0, got.stderr);
    assert.equal(got.stdout.trim(), `node${i}`);
  }
});

test('a worker crashes: its tasks are rescheduled on the nodes left, and --wait reports it', { timeout: 600_000 }, async (t) => {
  if (!requireLab(t)) return;
  const l = lab() as SwarmLab;
  const before = runningOn(l, 'multi_pinned');
  assert.ok(before.includes('node3') || runningOn(l, 'multi_spread').includes('node3'), 'node3 runs tasks of the stack');
  assert.equal(l.script(['kill', '3']).status, 0);
  for (let i = 0; ; i++) {
    const nodes = jsonLines(ok(run(l, ['node', 'ls', '--format', 'json'])).stdout);
    if (nodes.find((n) => n['Hostname'] === 'node3')?.['Status'] === 'Down') break;
    assert.ok(i < 120, 'node3 was never seen down');
    await sleep(500);
  }
  // The same stack again: nothing to change, but --wait watches it settle without node3.
  writeFileSync(join(dir, 'two-nodes.yml'), STACK.replace('max_replicas_per_node: 1, constraints: [node.role == worker]', 'max_replicas_per_node: 1'));
  const waited = ok(run(l, ['stack', 'deploy', '--wait', '--resolve-image', 'never', '-c', 'two-nodes.yml', 'multi']));
  assert.match(waited.stderr, /^node node3 is down$/m);
  assert.match(waited.stderr, /^pinned\.\d: rescheduled from node3 \(down\) to node2$/m);
  assert.match(waited.stderr, /^pinned: converged$/m);
  assert.deepEqual(runningOn(l, 'multi_pinned'), ['node2', 'node2']);
  assert.deepEqual(runningOn(l, 'multi_spread'), ['node1', 'node2']);

  assert.equal(l.script(['start', '3']).status, 0);
  for (let i = 0; ; i++) {
    const nodes = jsonLines(ok(run(l, ['node', 'ls', '--format', 'json'])).stdout);
    if (nodes.find((n) => n['Hostname'] === 'node3')?.['Status'] === 'Ready') break;
    assert.ok(i < 120, 'node3 did not come back');
    await sleep(500);
  }
  // Draining a node moves its tasks away, as the swarm decides; node ls shows it.
  ok(run(l, ['node', 'update', '--availability', 'drain', 'node2']));
  const drained = jsonLines(ok(run(l, ['node', 'ls', '--format', 'json'])).stdout).find((n) => n['Hostname'] === 'node2');
  assert.equal(drained?.['Availability'], 'Drain');
  // Once the swarm has told node2's tasks to stop (it does so soon after the update, but under load
  // not always before a deploy reads the tasks), --wait has to see their replacements run elsewhere.
  for (let i = 0; l.docker(['node', 'ps', 'node2', '--filter', 'desired-state=running', '-q']).stdout.trim() !== ''; i++) {
    assert.ok(i < 120, 'node2 still has tasks meant to run after the drain');
    await sleep(500);
  }
  const moved = ok(run(l, ['stack', 'deploy', '--wait', '--resolve-image', 'never', '-c', 'two-nodes.yml', 'multi']));
  assert.match(moved.stderr, /^pinned: converged$/m);
  assert.deepEqual(runningOn(l, 'multi_pinned'), ['node3', 'node3']);
  ok(run(l, ['node', 'update', '--availability', 'active', '--label-rm', 'tier', 'node2']));
  assert.deepEqual(JSON.parse(ok(run(l, ['node', 'inspect', 'node2'])).stdout)[0].Spec.Labels, {});
  ok(run(l, ['stack', 'rm', '--detach=false', 'multi']));
  for (const kind of ['service', 'network']) {
    assert.equal(l.docker([kind, 'ls', '-q', '--filter', 'label=com.docker.stack.namespace=multi']).stdout.trim(), '');
  }
});
