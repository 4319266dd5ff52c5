import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync, appendFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { SwarmStore, type StoreChange } from '../../src/swarm/store.js';
import { EngineError } from '../../src/contract/errors.js';
import type { Task } from '../../src/contract/swarm.js';

function tempStore(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-swarm-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function task(id: string, slot = 1): Omit<Task, 'version' | 'createdAt' | 'updatedAt'> {
  return { id, serviceId: 's', slot, nodeId: 'n', desiredState: 'running', state: 'new', timestamp: '', message: '', image: 'busybox', ports: [], spec: { container: { image: 'busybox' } } };
}

test('objects are versioned by the store index, updates name the version they are based on, and watchers hear every change', (t) => {
  const dir = tempStore(t);
  const store = new SwarmStore(dir);
  store.open();
  const heard: string[] = [];
  const stop = store.watch((c: StoreChange) => heard.push(`${c.action} ${c.kind} ${c.object.id}`));
  const a = store.transact((tx) => tx.create('task', task('a')));
  assert.equal(a.version, 1);
  const b = store.transact((tx) => tx.update('task', { ...a, state: 'pending' }, a.version));
  assert.equal(b.version, 2);
  assert.equal(b.createdAt, a.createdAt);
  assert.throws(() => store.transact((tx) => tx.update('task', { ...a, state: 'running' }, a.version)), (e: unknown) => e instanceof EngineError && e.kind === 'conflict');
  assert.throws(() => store.transact((tx) => tx.create('task', task('a'))), (e: unknown) => e instanceof EngineError && e.kind === 'conflict');
  // A transaction that throws commits nothing, not even its earlier writes.
  assert.throws(() =>
    store.transact((tx) => {
      tx.create('task', task('c'));
      throw new Error('no');
    }),
  );
  assert.equal(store.get('task', 'c'), undefined);
  store.transact((tx) => tx.delete('task', 'a'));
  stop();
  store.transact((tx) => tx.create('task', task('d')));
  assert.deepEqual(heard, ['create task a', 'update task a', 'delete task a']);
  assert.equal(store.lastIndex, 4);
  store.close();

  const again = new SwarmStore(dir);
  again.open();
  assert.deepEqual(again.list('task').map((x) => [x.id, x.version]), [['d', 4]]);
  assert.equal(again.lastIndex, 4);
  again.close();
});

test('secret data (Buffers) survives the log and a compaction; a torn or corrupt tail is cut off on open', (t) => {
  const dir = tempStore(t);
  const store = new SwarmStore(dir);
  store.open();
  store.transact((tx) => tx.create('secret', { id: 'sec', name: 'pw', labels: {}, data: Buffer.from([0, 1, 2, 255]) }));
  store.transact((tx) => tx.create('task', task('x')));
  store.compact();
  store.transact((tx) => tx.create('task', task('y')));
  store.close();
  const log = join(dir, 'log');
  const size = statSync(log).size;
  appendFileSync(log, '0000abcd {"index":9,"ops":[{"op":"delete","kind":"task","id":"x"}]}\n{"index":');
  const again = new SwarmStore(dir);
  again.open();
  assert.deepEqual(again.get('secret', 'sec')?.data, Buffer.from([0, 1, 2, 255]));
  assert.deepEqual(again.list('task').map((x) => x.id).sort(), ['x', 'y']);
  assert.equal(again.lastIndex, 3);
  assert.equal(statSync(log).size, size, 'the bad tail is cut off');
  again.transact((tx) => tx.create('task', task('z')));
  again.close();
  const third = new SwarmStore(dir);
  third.open();
  assert.deepEqual(third.list('task').map((x) => x.id).sort(), ['x', 'y', 'z']);
  third.close();
});

test('a damaged record followed by intact ones stops the open and changes nothing', (t) => {
  const dir = tempStore(t);
  const store = new SwarmStore(dir);
  store.open();
  store.transact((tx) => tx.create('task', task('a')));
  store.transact((tx) => tx.create('task', task('b')));
  store.close();
  const log = join(dir, 'log');
  const bytes = readFileSync(log);
  const firstEnd = bytes.indexOf(0x0a);
  bytes[firstEnd - 3] = bytes[firstEnd - 3] === 0x61 ? 0x62 : 0x61; // inside the first record's JSON
  writeFileSync(log, bytes);
  assert.throws(() => new SwarmStore(dir).open(), /swarm store .*log is damaged at byte 0 .*later records are intact/);
  assert.deepEqual(readFileSync(log), bytes, 'the log is left as it was');
});

test('kill -9 of a writer at any moment loses no committed write and leaves nothing half-written', async (t) => {
  const dir = tempStore(t);
  const writer = fileURLToPath(new URL('./store-writer.js', import.meta.url));
  let committed = 0;
  for (let round = 0; round < 6; round++) {
    const child = spawn(process.execPath, [writer, dir, String(64 << 10)], { stdio: ['ignore', 'pipe', 'inherit'] });
    t.after(() => child.kill('SIGKILL'));
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise((resolve) => child.on('exit', resolve));
    // Wait until it has committed something this round, then kill it a random moment later.
    while (!out.includes('\n')) await sleep(10);
    await sleep(50 + Math.floor(Math.random() * 200));
    child.kill('SIGKILL');
    await exited;
    const printed = out.split('\n').filter(Boolean).map(Number);
    const lastPrinted = printed[printed.length - 1] as number;
    assert.ok(lastPrinted > committed, `round ${round}: the writer made progress`);

    const store = new SwarmStore(dir);
    store.open();
    const n = Number(store.get('service', 'counter')?.spec.labels.n);
    // Everything printed was committed; at most the one in flight when killed is there too.
    assert.ok(n === lastPrinted || n === lastPrinted + 1, `round ${round}: counter ${n}, last committed ${lastPrinted}`);
    const ids = store.list('task').map((x) => Number(x.id.slice(1))).sort((a, b) => a - b);
    assert.equal(ids.length, n, 'one task per committed transaction');
    assert.deepEqual(ids, Array.from({ length: n }, (_, i) => i + 1));
    assert.equal(store.lastIndex, n);
    store.close();
    committed = n;
  }
  assert.ok(readFileSync(join(dir, 'log')).length > 0);
});
