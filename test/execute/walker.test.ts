import { test } from 'node:test';
import assert from 'node:assert/strict';
import { walk, WalkError, type WalkStep } from '../../src/execute/walker.js';
import type { Progress, StepResult } from '../../src/execute/progress.js';

/** A display that runs the steps (as the CLI's does: all at once, each waiting for what it needs) and keeps their outcomes. */
function recording(): Progress & { shown: Map<string, string> } {
  const shown = new Map<string, string>();
  return {
    shown,
    run: (steps) =>
      Promise.all(
        steps.map(async (s): Promise<StepResult> => {
          try {
            shown.set(s.title, (await s.run()) || 'done');
            return { title: s.title };
          } catch (error) {
            shown.set(s.title, 'error');
            return { title: s.title, error };
          }
        }),
      ),
    line: () => {},
  };
}

/** Steps that note when they start and end, taking a few ms, failing when asked. */
function steps(spec: Record<string, { after?: string[]; fail?: boolean }>, log: string[]): WalkStep[] {
  return Object.entries(spec).map(([id, s]) => ({
    id,
    title: id,
    after: s.after ?? [],
    run: async () => {
      log.push(`start ${id}`);
      await new Promise((r) => setTimeout(r, 5));
      log.push(`end ${id}`);
      if (s.fail) throw new Error(`${id} broke`);
    },
  }));
}

const order = (log: string[], a: string, b: string) => assert.ok(log.indexOf(a) < log.indexOf(b), `${a} before ${b}: ${log.join(', ')}`);

test('forward: a step starts once the steps it comes after have ended; independent steps run at once', async () => {
  const log: string[] = [];
  const results = await walk(steps({ db: {}, cache: {}, web: { after: ['db', 'cache'] }, worker: { after: ['web'] } }, log), { progress: recording() });
  assert.deepEqual(results.map((r) => r.status), ['done', 'done', 'done', 'done']);
  order(log, 'end db', 'start web');
  order(log, 'end cache', 'start web');
  order(log, 'end web', 'start worker');
  order(log, 'start cache', 'end db');
});

test('reverse: a step starts once the steps that come after it have ended (teardown order)', async () => {
  const log: string[] = [];
  await walk(steps({ db: {}, web: { after: ['db'] }, worker: { after: ['web'] } }, log), { progress: recording(), direction: 'reverse' });
  order(log, 'end worker', 'start web');
  order(log, 'end web', 'start db');
});

test('a failure skips exactly its dependants, transitively, with its cause; the others run', async () => {
  const log: string[] = [];
  const progress = recording();
  const results = await walk(
    steps({ a: { fail: true }, b: { after: ['a'] }, c: { after: ['b'] }, d: {}, e: { after: ['d'] } }, log),
    { progress },
  );
  const byId = new Map(results.map((r) => [r.id, r]));
  assert.equal(byId.get('a')?.status, 'failed');
  for (const id of ['b', 'c']) {
    const r = byId.get(id);
    assert.equal(r?.status, 'skipped', id);
    assert.equal(r?.status === 'skipped' ? r.cause.id : '', 'a');
  }
  assert.equal(byId.get('d')?.status, 'done');
  assert.equal(byId.get('e')?.status, 'done');
  assert.ok(!log.includes('start b') && !log.includes('start c'), 'skipped steps never run');
  assert.equal(progress.shown.get('b'), 'skipped', 'the display says so');
});

test('the concurrency limit holds', async () => {
  let running = 0;
  let most = 0;
  const many: WalkStep[] = Array.from({ length: 12 }, (_, i) => ({
    id: `s${i}`,
    title: `s${i}`,
    after: [],
    run: async () => {
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, 3));
      running--;
    },
  }));
  await walk(many, { progress: recording(), concurrency: 3 });
  assert.equal(most, 3);
});

test('a step list that is not a DAG is refused before anything runs', async () => {
  const log: string[] = [];
  await assert.rejects(walk(steps({ a: { after: ['b'] }, b: { after: ['a'] } }, log), { progress: recording() }), (e: unknown) => e instanceof WalkError && /cycle/.test(e.message));
  await assert.rejects(walk(steps({ a: { after: ['nowhere'] } }, log), { progress: recording() }), /not planned/);
  assert.deepEqual(log, []);
});
