/** A container outlives the runtime that started it (another process, gone) and is found again by a new one. Root only. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Runtime } from '../../../src/daemon/runtime/runtime.js';
import type { ExitInfo } from '../../../src/daemon/runtime/types.js';
import { requireRoot } from '../../helpers/root.js';
import { request, RUNTIME_TOOLS, testEnv, waitFor } from './fixture.js';

const T = { timeout: 60_000 };

test('adoption: started by a process that then exits, the container runs on; a new Runtime lists it, sees conmon alive, execs, stops it and gets its exit', T, async (t) => {
  if (!requireRoot(t, RUNTIME_TOOLS)) return;
  const env = testEnv(t);
  const req = request(env, { command: ['sh', '-c', 'trap "exit 9" TERM; while true; do sleep 0.1; done'] });
  const child = spawnSync(process.execPath, [fileURLToPath(new URL('./start-in-child.js', import.meta.url)), env.dir, JSON.stringify(req)], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(child.status, 0, child.stderr);
  const { pid } = JSON.parse(child.stdout) as { pid: number };
  assert.ok(pid > 1);

  const fresh = new Runtime(env.paths, () => undefined);
  const entry = (await fresh.list()).find((e) => e.id === req.id);
  assert.deepEqual(entry, { id: req.id, status: 'running', pid });
  assert.equal(await fresh.conmonAlive(req.id), true);
  assert.equal(await fresh.exitInfo(req.id), null);
  const exec = await fresh.exec(req.id, { command: ['echo', 'adopted'], env: [], privileged: false, tty: false, attachStdin: false, detach: false });
  const out: Buffer[] = [];
  exec.stdout.on('data', (d: Buffer) => out.push(d));
  assert.equal(await exec.exit, 0);
  assert.equal(Buffer.concat(out).toString(), 'adopted\n');

  const seen: [string, ExitInfo][] = [];
  t.after(fresh.onExit((id, info) => seen.push([id, info])));
  await fresh.kill(req.id, 'SIGTERM');
  const [, info] = await waitFor('the exit through the new runtime', () => seen.find(([id]) => id === req.id));
  assert.equal(info.code, 9);
  await waitFor('conmon to finish', async () => !(await fresh.conmonAlive(req.id)));
  assert.equal((await fresh.list()).find((e) => e.id === req.id)?.status, 'stopped');
  // An id conmon never ran for: not alive.
  assert.equal(await fresh.conmonAlive('0'.repeat(64)), false);
});
