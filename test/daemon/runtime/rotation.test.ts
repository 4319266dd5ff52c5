/** Rotation of a live container's log: conmon reopens through its ctl fifo; readers lose and double nothing. Root only. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { requireRoot } from '../../helpers/root.js';
import { request, RUNTIME_TOOLS, startContainer, testEnv, waitFor } from './fixture.js';

test('rotateLogs while conmon writes: backups up to max-file, every line once, in order, for a follower and a later reader', { timeout: 60_000 }, async (t) => {
  if (!requireRoot(t, RUNTIME_TOOLS)) return;
  const env = testEnv(t);
  const req = request(env, { command: ['sh', '-c', 'i=1; while [ $i -le 150 ]; do echo "tick $i"; i=$((i+1)); sleep 0.01; done'] });
  const logPath = req.log?.path as string;
  await startContainer(env, req);
  const followed: string[] = [];
  const follower = (async () => {
    let partial = '';
    for await (const c of env.runtime.readLogs(req.id, logPath, { follow: true, timestamps: false })) {
      partial += c.data.toString();
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      followed.push(...lines);
    }
  })();
  let rotations = 0;
  while (!(await env.runtime.exitInfo(req.id))) {
    await new Promise((r) => setTimeout(r, 150));
    if (await env.runtime.rotateLogs(req.id, logPath, 1, 3)) rotations++;
  }
  await follower;
  const expected = Array.from({ length: 150 }, (_, i) => `tick ${i + 1}`);
  assert.ok(rotations >= 3, `rotated ${rotations} times`);
  assert.deepEqual(followed, expected);
  assert.ok(existsSync(`${logPath}.1`) && existsSync(`${logPath}.2`));
  assert.ok(!existsSync(`${logPath}.3`), 'max-file 3: the live file and two backups');
  await waitFor('conmon to finish', async () => !(await env.runtime.conmonAlive(req.id)));
  const tail: string[] = [];
  for await (const c of env.runtime.readLogs(req.id, logPath, { follow: false, timestamps: false, tail: 5 })) tail.push(c.data.toString());
  assert.deepEqual(tail.join('').split('\n').filter(Boolean), expected.slice(-5));
});
