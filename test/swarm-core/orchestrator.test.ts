import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SwarmStore } from '../../src/swarm/store.js';
import { orchestrate, RestartHistory, HISTORY_PER_SLOT } from '../../src/swarm/orchestrator.js';
import { schedule } from '../../src/swarm/scheduler.js';
import { parseConstraints, nodeMatches } from '../../src/swarm/constraints.js';
import { effectivePolicy, withDefaults } from '../../src/swarm/defaults.js';
import { newObjectId } from '../../src/swarm/tasks.js';
import type { Node, ServiceSpec } from '../../src/contract/swarm.js';

function open(t: { after(fn: () => void): void }): SwarmStore {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-swarm-orch-'));
  const store = new SwarmStore(dir);
  store.open();
  t.after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return store;
}

const NODE: Omit<Node, 'version' | 'createdAt' | 'updatedAt'> = {
  id: 'node1',
  spec: { labels: { zone: 'eu' }, role: 'manager', availability: 'active' },
  hostname: 'box',
  platform: { os: 'linux', architecture: 'x86_64' },
  engineVersion: 'test',
  state: 'ready',
  addr: '10.0.0.1',
  resources: { nanoCpus: 0, memoryBytes: 0 },
};

function spec(replicas: number, extra: Partial<ServiceSpec['task']> = {}): ServiceSpec {
  return { name: 'st_web', labels: {}, task: { container: { image: 'busybox' }, ...extra }, mode: { kind: 'replicated', replicas } };
}

function pass(store: SwarmStore, history = new RestartHistory(), now = Date.now()): void {
  store.transact((tx) => orchestrate(tx, { nodeId: 'node1', nodeEligible: () => true, now, history, newId: newObjectId }));
  const node = store.get('node', 'node1');
  if (node) store.transact((tx) => schedule(tx, node, {}));
}

/** Plays the agent: every assigned or ready task of desired state running is running. */
function runAll(store: SwarmStore): void {
  store.transact((tx) => {
    for (const t of tx.list('task')) {
      if (t.desiredState === 'running' && ['assigned', 'ready'].includes(t.state)) tx.update('task', { ...t, state: 'running' });
      if (['shutdown', 'remove'].includes(t.desiredState) && t.state === 'running') tx.update('task', { ...t, state: 'shutdown' });
    }
  });
}

function live(store: SwarmStore): number[] {
  return store.list('task').filter((t) => t.desiredState === 'running').map((t) => t.slot).sort((a, b) => a - b);
}

test('replicated: slots 1..n; scale-down keeps running tasks and low slots, marks the rest for removal', (t) => {
  const store = open(t);
  store.transact((tx) => tx.create('node', NODE));
  const svc = store.transact((tx) => tx.create('service', { id: 's1', spec: spec(5), endpointPorts: [] }));
  pass(store);
  assert.deepEqual(live(store), [1, 2, 3, 4, 5]);
  assert.ok(store.list('task').every((x) => x.state === 'assigned' && x.nodeId === 'node1'));
  runAll(store);
  // Slot 2 is not running (say it is still starting): it goes first, then the highest slots.
  store.transact((tx) => {
    const two = tx.list('task').find((x) => x.slot === 2);
    if (two) tx.update('task', { ...two, state: 'starting' });
    tx.update('service', { ...svc, spec: spec(2) });
  });
  pass(store);
  assert.deepEqual(live(store), [1, 3]);
  assert.deepEqual(store.list('task').filter((x) => x.desiredState === 'remove').map((x) => x.slot).sort(), [2, 4, 5]);
  // Scale up again fills the lowest free slots.
  store.transact((tx) => {
    const cur = tx.get('service', 's1');
    if (cur) tx.update('service', { ...cur, spec: spec(4) });
  });
  pass(store);
  assert.deepEqual(live(store), [1, 2, 3, 4]);
});

test('restart policy: replaced in the same slot after the delay, max_attempts honoured, history of 5 per slot', (t) => {
  const store = open(t);
  store.transact((tx) => tx.create('node', NODE));
  store.transact((tx) => tx.create('service', { id: 's1', spec: spec(1, { restart: { condition: 'on-failure', delay: 2e9, maxAttempts: 7 } }), endpointPorts: [] }));
  const history = new RestartHistory();
  let now = Date.now();
  pass(store, history, now);
  runAll(store);
  const fail = () =>
    store.transact((tx) => {
      const running = tx.list('task').find((x) => x.state === 'running');
      if (running) tx.update('task', { ...running, state: 'failed', exitCode: 1 });
    });
  fail();
  pass(store, history, now);
  const waiting = store.list('task').find((x) => x.desiredState === 'ready');
  assert.ok(waiting, 'a replacement waits at desired state ready');
  assert.equal(waiting.slot, 1);
  pass(store, history, now + 1000);
  assert.equal(store.get('task', waiting.id)?.desiredState, 'ready', 'not before the delay');
  pass(store, history, now + 2100);
  assert.equal(store.get('task', waiting.id)?.desiredState, 'running');
  // Six more failures: history keeps 5 dead tasks of the slot, the older are marked for removal.
  for (let i = 0; i < 6; i++) {
    runAll(store);
    fail();
    now += 10_000;
    pass(store, history, now);
    pass(store, history, now + 2100);
  }
  const dead = store.list('task').filter((x) => x.state === 'failed' && x.desiredState === 'shutdown');
  assert.equal(dead.length, HISTORY_PER_SLOT);
  assert.equal(store.list('task').filter((x) => x.desiredState === 'remove').length, 2);
  // The 7th restart was the last: one more failure and the slot stays dead (0/1), no new task.
  runAll(store);
  fail();
  pass(store, history, now + 20_000);
  pass(store, history, now + 30_000);
  assert.deepEqual(live(store), []);
  assert.equal(store.list('task').filter((x) => x.desiredState === 'ready').length, 0);
  // An exit 0 under on-failure is not restarted either (checked on a fresh service).
});

test('scheduler: a task no node satisfies stays pending with swarmkit\'s reason; constraints as swarmkit parses them', (t) => {
  const store = open(t);
  store.transact((tx) => tx.create('node', NODE));
  store.transact((tx) => tx.create('service', { id: 's1', spec: spec(1, { placement: { constraints: ['node.labels.zone==us'] } }), endpointPorts: [] }));
  pass(store);
  const [task] = store.list('task');
  assert.equal(task?.state, 'pending');
  assert.equal(task?.error, 'no suitable node (scheduling constraints not satisfied on 1 node)');
  // A node label change lets it through.
  store.transact((tx) => {
    const n = tx.get('node', 'node1');
    if (n) tx.update('node', { ...n, spec: { ...n.spec, labels: { zone: 'US' } } });
  });
  pass(store);
  assert.equal(store.list('task')[0]?.state, 'assigned');

  const node = store.get('node', 'node1') as Node;
  assert.ok(nodeMatches(parseConstraints(['node.role == manager', 'node.hostname!=other', 'node.labels.missing != x', 'engine.labels.disk==ssd']), node, { disk: 'SSD' }));
  assert.ok(!nodeMatches(parseConstraints(['node.labels.missing == x']), node, {}));
  assert.ok(!nodeMatches(parseConstraints(['node.foo==bar']), node, {}), 'an unknown key never matches');
  assert.throws(() => parseConstraints(['node.role~manager']), /constraint expected one operator from ==, !=/);
  assert.throws(() => parseConstraints(['no de==x']), /key 'no de' is invalid/);
});

test('defaults are filled as swarmkit fills them, and only where left out', () => {
  const given: Parameters<typeof withDefaults>[0] = { name: 'a', labels: {}, task: { container: { image: 'x' }, restart: { condition: 'on-failure' } }, mode: { kind: 'replicated' }, update: { parallelism: 2, delay: 1e9 } };
  const s = withDefaults(given);
  assert.deepEqual(s.mode, { kind: 'replicated' }, 'replicas are not a default of the spec (the swarm reads none as 1)');
  assert.deepEqual(s.task.restart, { condition: 'on-failure', delay: 5e9 }, 'a given restart policy gets only its delay');
  assert.equal(s.task.container.stopGracePeriod, 10e9);
  assert.deepEqual(s.task.container.dns, {});
  assert.deepEqual(s.task.resources, {});
  assert.deepEqual(s.task.placement, {});
  assert.deepEqual(s.update, { parallelism: 2, delay: 1e9, monitor: 5e9 }, 'a given update config gets only its monitor');
  assert.deepEqual(s.rollback, { parallelism: 1, failureAction: 'pause', monitor: 5e9, maxFailureRatio: 0, order: 'stop-first' });
  assert.deepEqual(withDefaults({ ...given, task: { container: { image: 'x' } } }).task.restart, { condition: 'any', delay: 5e9, maxAttempts: 0 });
  assert.deepEqual(withDefaults(s), s, 'filling twice changes nothing');
  assert.equal(given.task.container.stopGracePeriod, undefined, 'the given spec is left as it is');
  assert.deepEqual(effectivePolicy(given, false), { parallelism: 2, delay: 1e9, failureAction: 'pause', monitor: 5e9, maxFailureRatio: 0, order: 'stop-first' });
  assert.deepEqual(effectivePolicy({ ...given, rollback: { parallelism: 0, monitor: 0, order: 'start-first' } }, true), { parallelism: 0, delay: 0, failureAction: 'pause', monitor: 5e9, maxFailureRatio: 0, order: 'start-first' });
});
