/** Processes in containers: exec with and without a TTY (exit codes, stdin, resize, kill), and attached runs. Root only. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ExecSpec } from '../../../src/contract/engine.js';
import { EngineError } from '../../../src/contract/errors.js';
import type { ExitInfo } from '../../../src/daemon/runtime/types.js';
import { requireRoot } from '../../helpers/root.js';
import { collect, logContent, processesMentioning, request, RUNTIME_TOOLS, startContainer, testEnv, waitFor } from './fixture.js';

const T = { timeout: 60_000 };

function execSpec(command: string[], overrides: Partial<ExecSpec> = {}): ExecSpec {
  return { command, env: [], privileged: false, tty: false, attachStdin: false, detach: false, ...overrides };
}

test('exec without a TTY: separate streams, the exit code, stdin, env, user and working directory', T, async (t) => {
  if (!requireRoot(t, RUNTIME_TOOLS)) return;
  const env = testEnv(t);
  const req = request(env, { command: ['sleep', '1000'] });
  await startContainer(env, req);
  const r = await collect(await env.runtime.exec(req.id, execSpec(['sh', '-c', 'echo out; echo err >&2; exit 3'])));
  assert.deepEqual(r, { stdout: 'out\n', stderr: 'err\n', code: 3 });
  const piped = await env.runtime.exec(req.id, execSpec(['sh', '-c', 'cat; echo "$GREETING $(id -u) $(pwd)"'], { attachStdin: true, env: ['GREETING=hi'], user: 'app', workingDir: '/home/app' }));
  piped.stdin?.end('from stdin\n');
  assert.deepEqual(await collect(piped), { stdout: 'from stdin\nhi 1000 /home/app\n', stderr: '', code: 0 });
  const missing = await collect(await env.runtime.exec(req.id, execSpec(['nope'])));
  assert.equal(missing.code, 127);
  assert.match(missing.stderr, /executable file not found/);
});

test('exec with a TTY: a terminal, CRLF output, the exit code, resize seen by stty', T, async (t) => {
  if (!requireRoot(t, RUNTIME_TOOLS)) return;
  const env = testEnv(t);
  const req = request(env, { command: ['sleep', '1000'] });
  await startContainer(env, req);
  const plain = await env.runtime.exec(req.id, execSpec(['sh', '-c', 'tty; exit 4'], { tty: true }));
  assert.equal(plain.stderr, null);
  const r = await collect(plain);
  assert.equal(r.code, 4);
  // \r+: now and then a line end comes as \r\r\n (see session.ts).
  assert.match(r.stdout, /^\/dev\/pts\/\d+\r+\n$/);
  // Interactive: wait for a line, resize, then ask the terminal its size.
  const session = await env.runtime.exec(req.id, execSpec(['sh', '-c', 'read line; stty size; exit 5'], { tty: true, attachStdin: true }));
  const collected = collect(session);
  await new Promise((r) => setTimeout(r, 300));
  await session.resize(31, 97);
  await new Promise((r) => setTimeout(r, 200));
  session.stdin?.write('go\n');
  const out = await collected;
  assert.equal(out.code, 5);
  assert.match(out.stdout, /31 97\r\n/);
});

test('exec kill: the process in the container ends (not only the client), 137; exec in a stopped container is refused', T, async (t) => {
  if (!requireRoot(t, RUNTIME_TOOLS)) return;
  const env = testEnv(t);
  const req = request(env, { command: ['sleep', '1000'] });
  await startContainer(env, req);
  const session = await env.runtime.exec(req.id, execSpec(['sleep', '777']));
  await waitFor('the exec to run', async () => (await env.runtime.top(req.id)).processes.some((p) => p.at(-1) === 'sleep 777'));
  session.kill('SIGKILL');
  assert.equal((await collect(session)).code, 137);
  await waitFor('the exec to be gone', async () => !(await env.runtime.top(req.id)).processes.some((p) => p.at(-1) === 'sleep 777'));
  await env.runtime.kill(req.id, 'KILL');
  await waitFor('the exit', () => env.runtime.exitInfo(req.id));
  await assert.rejects(env.runtime.exec(req.id, execSpec(['true'])), (e: unknown) => e instanceof EngineError && e.kind === 'conflict' && e.message.includes(req.id));
});

test('runAttached: the output on the session and in the log, the exit code in the exit file and onExit; with a TTY too', T, async (t) => {
  if (!requireRoot(t, RUNTIME_TOOLS)) return;
  const env = testEnv(t);
  const seen: [string, ExitInfo][] = [];
  t.after(env.runtime.onExit((id, info) => seen.push([id, info])));
  const req = request(env, { command: ['sh', '-c', 'read x; echo "got $x"; echo err >&2; exit 6'], openStdin: true });
  await env.runtime.prepare(req);
  const session = await env.runtime.runAttached(req.id, { stdin: true, tty: false });
  session.stdin?.end('input\n');
  assert.deepEqual(await collect(session), { stdout: 'got input\n', stderr: 'err\n', code: 6 });
  assert.equal((await env.runtime.exitInfo(req.id))?.code, 6);
  await waitFor('onExit', () => seen.find(([id]) => id === req.id));
  assert.match(logContent(req.log?.path as string), /got input\n/);
  assert.match(logContent(req.log?.path as string), /err\n/);

  const tty = request(env, { command: ['sh', '-c', 'tty; exit 8'], tty: true });
  await env.runtime.prepare(tty);
  const ttySession = await env.runtime.runAttached(tty.id, { stdin: false, tty: true });
  const r = await collect(ttySession);
  assert.equal(r.code, 8);
  assert.match(r.stdout, /^\/dev\/pts\/\d+\r+\n$/);
  assert.equal((await env.runtime.exitInfo(tty.id))?.code, 8);
  // Started again under conmon after an attached run: the old state is cleared.
  await env.runtime.delete(tty.id);
  await env.runtime.start(tty.id);
  await waitFor('the conmon run', () => seen.filter(([id]) => id === tty.id).length === 2);
  assert.deepEqual(processesMentioning(tty.id).filter((p) => !p.includes('conmon')), []);
});
