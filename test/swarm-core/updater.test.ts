/**
 * The updater over a real store, the test writing the observed states the agent would: a new
 * task that fails counts against the update, and failure_action decides what happens next.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SwarmStore } from '../../src/swarm/store.js';
import { Updaters } from '../../src/swarm/updater.js';
import { newObjectId, taskDraft } from '../../src/swarm/tasks.js';
import type { Service, ServiceSpec } from '../../src/contract/swarm.js';

function spec(command: string): ServiceSpec {
  return { name: 'su_web', labels: {}, task: { container: { image: 'busybox', command: [command] } }, mode: { kind: 'replicated', replicas: 1 }, update: { parallelism: 1, failureAction: 'rollback', monitor: 1e9 } };
}

async function failingUpdate(t: { after(fn: () => void): void }, withPrevious: boolean): Promise<{ status: Service['updateStatus']; command: string[] | undefined }> {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-swarm-upd-'));
  const store = new SwarmStore(dir);
  store.open();
  const updaters = new Updaters(store, 'node1', newObjectId, () => undefined);
  t.after(() => {
    updaters.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const service = store.transact((tx) => tx.create('service', { id: newObjectId(), spec: spec('good'), endpointPorts: [] }));
  store.transact((tx) => tx.create('task', { ...taskDraft(service, 1, 'node1', newObjectId(), 'running'), state: 'running' }));
  store.transact((tx) => {
    const s = tx.get('service', service.id);
    assert.ok(s);
    tx.update('service', { ...s, spec: spec('bad'), ...(withPrevious ? { previousSpec: s.spec } : {}) });
  });
  // The agent's part: the old task stops when told to, the new one fails as soon as it may run.
  const agent = store.watch((c) => {
    if (c.kind !== 'task' || c.action === 'delete') return;
    const task = c.object;
    if (task.desiredState === 'shutdown' && task.state === 'running') setImmediate(() => store.transact((tx) => tx.update('task', { ...task, state: 'shutdown' })));
    else if (task.desiredState === 'ready' && task.state === 'new') setImmediate(() => store.transact((tx) => tx.update('task', { ...task, state: 'failed' })));
  });
  t.after(agent);
  updaters.reconcile();
  for (let i = 0; i < 100; i++) {
    await sleep(20);
    const status = store.get('service', service.id)?.updateStatus;
    if (status && status.state !== 'updating') return { status, command: store.get('service', service.id)?.spec.task.container.command };
    updaters.reconcile();
  }
  return { status: store.get('service', service.id)?.updateStatus, command: undefined };
}

test('a failing update with failure_action rollback goes back to the previous spec', async (t) => {
  const { status, command } = await failingUpdate(t, true);
  assert.equal(status?.state, 'rollback_started');
  assert.deepEqual(command, ['good']);
  assert.match(status?.message ?? '', /^update rolled back due to failure or early termination of task \w+$/);
});

test('a failing update with nothing to roll back to pauses instead of being called completed', async (t) => {
  const { status, command } = await failingUpdate(t, false);
  assert.equal(status?.state, 'paused');
  assert.deepEqual(command, ['bad']);
  assert.match(status?.message ?? '', /^update paused due to failure or early termination of task \w+$/);
});

test('a new task whose failure is reported after its monitor window, while the update goes on, still fails the update', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-swarm-upd-'));
  const store = new SwarmStore(dir);
  store.open();
  const updaters = new Updaters(store, 'node1', newObjectId, () => undefined);
  t.after(() => {
    updaters.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  // monitor 50 ms, delay 400 ms: the failure (150 ms after running) lands between the two.
  const late = (command: string): ServiceSpec => ({ name: 'su_late', labels: {}, task: { container: { image: 'busybox', command: [command] } }, mode: { kind: 'replicated', replicas: 2 }, update: { parallelism: 1, delay: 400e6, monitor: 50e6, failureAction: 'pause' } });
  const service = store.transact((tx) => tx.create('service', { id: newObjectId(), spec: late('good'), endpointPorts: [] }));
  for (const slot of [1, 2]) store.transact((tx) => tx.create('task', { ...taskDraft(service, slot, 'node1', newObjectId(), 'running'), state: 'running' }));
  store.transact((tx) => {
    const s = tx.get('service', service.id);
    assert.ok(s);
    tx.update('service', { ...s, spec: late('bad'), previousSpec: s.spec });
  });
  const set = (id: string, state: 'running' | 'failed' | 'shutdown', afterMs: number) =>
    setTimeout(() => store.transact((tx) => {
      const c = tx.get('task', id);
      if (c) tx.update('task', { ...c, state });
    }), afterMs);
  const agent = store.watch((c) => {
    if (c.kind !== 'task' || c.action === 'delete') return;
    const task = c.object;
    if (task.desiredState === 'shutdown' && task.state === 'running') set(task.id, 'shutdown', 0);
    else if (task.desiredState === 'ready' && task.state === 'new') {
      set(task.id, 'running', 0);
      set(task.id, 'failed', 150);
    }
  });
  t.after(agent);
  updaters.reconcile();
  let status: Service['updateStatus'];
  for (let i = 0; i < 150 && (!status || status.state === 'updating'); i++) {
    await sleep(20);
    status = store.get('service', service.id)?.updateStatus;
    updaters.reconcile();
  }
  assert.equal(status?.state, 'paused', JSON.stringify(status));
  // Paused after the first slot: the second still has its task of the old spec.
  const slot2 = store.list('task').filter((x) => x.slot === 2 && x.desiredState === 'running');
  assert.deepEqual(slot2.map((x) => x.spec.container.command), [['good']]);
});
