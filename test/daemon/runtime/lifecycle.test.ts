/** Containers under conmon: start, logs, exit codes, failures, stop signals, limits, mounts, init, pause, top, stats, release and destroy. Root only. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { EngineError } from '../../../src/contract/errors.js';
import type { ExitInfo } from '../../../src/daemon/runtime/types.js';
import { requireRoot } from '../../helpers/root.js';
import { cgroupDirsUnder, logContent, logText, mountsUnder, processesMentioning, request, RUNTIME_TOOLS, startContainer, testEnv, waitFor, type TestEnv } from './fixture.js';

const T = { timeout: 60_000 };

async function exitOf(env: TestEnv, id: string, timeoutMs = 20_000): Promise<ExitInfo> {
  return waitFor(`the exit of ${id.slice(0, 12)}`, () => env.runtime.exitInfo(id), timeoutMs);
}

async function status(env: TestEnv, id: string): Promise<string | undefined> {
  return (await env.runtime.list()).find((e) => e.id === id)?.status;
}

test('start: output in the k8s-file log, the exit code in exitInfo and onExit (once per run)', T, async (t) => {
  if (!requireRoot(t, RUNTIME_TOOLS)) return;
  const env = testEnv(t);
  const seen: [string, ExitInfo][] = [];
  const stop = env.runtime.onExit((id, info) => seen.push([id, info]));
  t.after(stop);
  const req = request(env, { command: ['sh', '-c', 'echo hello; echo oops >&2; sleep 0.1; printf no-newline; exit 7'] });
  const pid = await startContainer(env, req);
  assert.ok(pid > 1);
  const info = await exitOf(env, req.id);
  assert.equal(info.code, 7);
  assert.equal(info.oomKilled, false);
  assert.ok(Math.abs(Date.parse(info.finishedAt) - Date.now()) < 30_000);
  await waitFor('onExit', () => seen.some(([id]) => id === req.id));
  assert.deepEqual(seen.filter(([id]) => id === req.id).map(([, i]) => i.code), [7]);
  await waitFor('conmon to finish', async () => !(await env.runtime.conmonAlive(req.id)));
  const log = readFileSync(req.log?.path as string, 'utf8');
  assert.match(log, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}[+-]\d\d:\d\d stdout F hello$/m);
  assert.match(log, / stderr F oops$/m);
  assert.match(log, / stdout P no-newline$/m);
  const chunks = [];
  for await (const c of env.runtime.readLogs(req.id, req.log?.path as string, { follow: false, timestamps: false })) chunks.push(`${c.stream}:${c.data.toString()}`);
  assert.deepEqual(chunks, ['stdout:hello\n', 'stderr:oops\n', 'stdout:no-newline']);
  const stamped = [];
  for await (const c of env.runtime.readLogs(req.id, req.log?.path as string, { follow: false, timestamps: true, tail: 1 })) stamped.push(c.data.toString());
  assert.equal(stamped.length, 1);
  assert.match(stamped[0] ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z no-newline$/);

  // The same container again (a restart): the old state is cleared, the new exit is reported too.
  await new Promise((r) => setTimeout(r, 2200)); // past the watcher's rescan: still reported once
  assert.equal(seen.filter(([id]) => id === req.id).length, 1);
  await env.runtime.delete(req.id);
  await env.runtime.start(req.id);
  await waitFor('the second exit', () => seen.filter(([id]) => id === req.id).length === 2);
  assert.equal((await env.runtime.list()).find((e) => e.id === req.id)?.status, 'stopped');
});

test('a command that does not exist: runc\'s own message, nothing left behind', T, async (t) => {
  if (!requireRoot(t, RUNTIME_TOOLS)) return;
  const env = testEnv(t);
  const req = request(env, { command: ['nope'] });
  await env.runtime.prepare(req);
  await assert.rejects(env.runtime.start(req.id), (e: unknown) => {
    assert.ok(e instanceof EngineError);
    assert.equal(e.kind, 'invalid');
    assert.match(e.message, /exec: "nope": executable file not found in \$PATH/);
    return true;
  });
  assert.equal(await status(env, req.id), undefined, 'no runc state left');
  assert.equal(await env.runtime.exitInfo(req.id), null);
  assert.deepEqual(processesMentioning(req.id), []);
  // A workdir that is a file: the message names it.
  const bad = request(env, { command: ['true'], workingDir: '/etc/passwd' });
  await assert.rejects(env.runtime.prepare(bad));
});

test('stop by signal: 143 for a TERM death (init: tini forwards it to sleep), PID 1 ignores TERM then 137 for KILL, 0 for a trapped TERM', T, async (t) => {
  if (!requireRoot(t, RUNTIME_TOOLS)) return;
  const env = testEnv(t);
  const withInit = request(env, { init: true, command: ['sleep', '1000'] });
  const bare = request(env, { command: ['sleep', '1000'] });
  const trapping = request(env, { command: ['sh', '-c', 'trap "echo bye; exit 0" TERM; echo ready; while true; do sleep 0.1; done'] });
  for (const r of [withInit, bare, trapping]) await startContainer(env, r);
  await waitFor('trap to be set', () => readFileSync(trapping.log?.path as string, 'utf8').includes('ready'));
  for (const r of [withInit, bare, trapping]) await env.runtime.kill(r.id, 'TERM');
  assert.equal((await exitOf(env, withInit.id)).code, 143);
  assert.equal((await exitOf(env, trapping.id)).code, 0);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(await status(env, bare.id), 'running', 'sleep as PID 1 has no TERM handler');
  await env.runtime.kill(bare.id, '9');
  assert.equal((await exitOf(env, bare.id)).code, 137);
  await assert.rejects(env.runtime.kill(bare.id, 'SIGKILL'), (e: unknown) => e instanceof EngineError && e.kind === 'conflict');
  await assert.rejects(env.runtime.kill(bare.id, 'SIGNOPE'), (e: unknown) => e instanceof EngineError && e.kind === 'invalid');
});

test('kill and delete without runc for a container with its own PID namespace, through runc with the host\'s; both leave what runc would', T, async (t) => {
  if (!requireRoot(t, RUNTIME_TOOLS)) return;
  const env = testEnv(t);
  // A runc first in PATH that writes down its arguments and runs the real one: which calls need it.
  const real = spawnSync('sh', ['-c', 'command -v runc'], { encoding: 'utf8' }).stdout.trim();
  const spyDir = join(env.dir, 'spy');
  const calls = join(env.dir, 'runc-calls');
  mkdirSync(spyDir);
  writeFileSync(join(spyDir, 'runc'), `#!/bin/sh\necho "$*" >> ${calls}\nexec ${real} "$@"\n`, { mode: 0o755 });
  const path = process.env.PATH;
  process.env.PATH = `${spyDir}:${path}`;
  t.after(() => {
    process.env.PATH = path;
  });
  const used = (verb: string, id: string) => logText(calls).split('\n').some((l) => l.includes(` ${verb} `) && l.includes(id));
  const own = request(env, { command: ['sleep', '1000'] });
  const hostPid = request(env, { command: ['sleep', '1000'] }, { pid: 'host' });
  for (const r of [own, hostPid]) await startContainer(env, r);
  for (const r of [own, hostPid]) await env.runtime.kill(r.id, 'KILL');
  for (const r of [own, hostPid]) assert.equal((await exitOf(env, r.id)).code, 137);
  await assert.rejects(env.runtime.kill(own.id, 'KILL'), (e: unknown) => e instanceof EngineError && e.kind === 'conflict');
  for (const r of [own, hostPid]) await env.runtime.delete(r.id);
  assert.deepEqual([used('kill', own.id), used('delete', own.id)], [false, false], 'no runc for its own PID namespace');
  assert.deepEqual([used('kill', hostPid.id), used('delete', hostPid.id)], [true, true], 'runc for the host\'s');
  for (const r of [own, hostPid]) {
    assert.equal(await status(env, r.id), undefined, 'runc no longer knows it');
    assert.deepEqual(cgroupDirsUnder(r.cgroupsPath), [], 'its cgroups are gone');
  }
});

test('OOM kill: a memory limit and dd with a 64M buffer: 137 and oomKilled', T, async (t) => {
  if (!requireRoot(t, RUNTIME_TOOLS)) return;
  const env = testEnv(t);
  const req = request(env, { memory: 32 << 20, memorySwap: 32 << 20, command: ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=64M', 'count=1'] });
  await startContainer(env, req);
  const info = await exitOf(env, req.id);
  assert.equal(info.code, 137);
  assert.equal(info.oomKilled, true);
  assert.ok(!existsSync(join(process.cwd(), 'oom')), "conmon's own oom file stays out of the daemon's working directory");
  const fine = request(env, { memory: 32 << 20, command: ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=1M', 'count=1'] });
  await startContainer(env, fine);
  assert.deepEqual(await exitOf(env, fine.id).then((i) => [i.code, i.oomKilled]), [0, false]);
});

test('pids limit: forks beyond it fail (tini, sh and 6 sleeps make 8)', T, async (t) => {
  if (!requireRoot(t, RUNTIME_TOOLS)) return;
  const env = testEnv(t);
  const req = request(env, { pidsLimit: 8, init: true, command: ['sh', '-c', 'i=0; while [ $i -lt 20 ]; do sleep 60 & i=$((i+1)); echo "started $i"; done'] });
  await startContainer(env, req);
  // ash gives up at the first fork that fails; tini then ends with its exit status.
  assert.equal((await exitOf(env, req.id)).code, 2);
  await waitFor('conmon to finish', async () => !(await env.runtime.conmonAlive(req.id)));
  const out = logContent(req.log?.path as string);
  assert.match(out, /can't fork: Resource temporarily unavailable/);
  assert.equal(out.match(/^started \d+$/gm)?.at(-1), 'started 6');
  const unlimited = request(env, { init: true, command: req.spec.command as string[] });
  await startContainer(env, unlimited);
  assert.equal((await exitOf(env, unlimited.id)).code, 0, 'the same without the limit');
});

test('read-only rootfs with a writable tmpfs; host files mounted read-only too', T, async (t) => {
  if (!requireRoot(t, RUNTIME_TOOLS)) return;
  const env = testEnv(t);
  const script = 'touch /x 2>&1; echo "root=$?"; touch /tmp/y && echo tmp-ok; echo x >> /etc/hosts 2>&1; grep -c " /tmp tmpfs" /proc/mounts';
  const req = request(env, { readOnlyRootfs: true, command: ['sh', '-c', script] }, { mounts: [{ type: 'tmpfs', target: '/tmp', options: ['size=1m'] }] });
  await startContainer(env, req);
  assert.equal((await exitOf(env, req.id)).code, 0);
  await waitFor('conmon to finish', async () => !(await env.runtime.conmonAlive(req.id)));
  const out = logContent(req.log?.path as string);
  // Both streams are in the log; their relative order is not kept.
  assert.match(out, /Read-only file system\nroot=1\n/);
  assert.match(out, /^tmp-ok$/m);
  assert.match(out, /hosts: Read-only file system/);
  assert.match(out, /^1$/m);
});

test('bind mounts: read-write (visible on the host) and read-only (writes refused)', T, async (t) => {
  if (!requireRoot(t, RUNTIME_TOOLS)) return;
  const env = testEnv(t);
  const rw = join(env.dir, 'rw');
  const ro = join(env.dir, 'ro');
  mkdirSync(rw);
  mkdirSync(ro);
  writeFileSync(join(ro, 'hello'), 'from the host\n');
  const req = request(env, { command: ['sh', '-c', 'echo written > /data/out; cat /conf/hello; touch /conf/x 2>&1; echo "ro=$?"'] }, {
    mounts: [
      { type: 'bind', source: rw, target: '/data', readOnly: false },
      { type: 'bind', source: ro, target: '/conf', readOnly: true },
    ],
  });
  await startContainer(env, req);
  assert.equal((await exitOf(env, req.id)).code, 0);
  await waitFor('conmon to finish', async () => !(await env.runtime.conmonAlive(req.id)));
  assert.equal(readFileSync(join(rw, 'out'), 'utf8'), 'written\n');
  assert.ok(!existsSync(join(ro, 'x')));
  assert.match(logContent(req.log?.path as string), /from the host\n.*Read-only file system\nro=1\n/s);
});

test('init: orphans are reaped with init: true, and become zombies without it', T, async (t) => {
  if (!requireRoot(t, RUNTIME_TOOLS)) return;
  const env = testEnv(t);
  const command = ['sh', '-c', 'for i in 1 2 3 4 5; do (sleep 0.2 &); done; exec sleep 1000'];
  const reaping = request(env, { init: true, command });
  const plain = request(env, { command });
  await startContainer(env, reaping);
  await startContainer(env, plain);
  // Zombies are not in the cgroup's task list (so not in top) but count in pids.current.
  const pids = async (id: string) => (await env.runtime.stats(id)).pids;
  await waitFor('5 zombies next to sleep in the container without init', async () => (await pids(plain.id)) === 6);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(await pids(reaping.id), 2, 'tini and sleep');
  assert.equal((await env.runtime.top(plain.id)).processes.length, 1);
  const top = await env.runtime.top(reaping.id);
  assert.deepEqual(top.processes.map((p) => p[top.titles.indexOf('CMD')]).sort(), ['/sbin/flotilla-init -- sh -c for i in 1 2 3 4 5; do (sleep 0.2 &); done; exec sleep 1000', 'sleep 1000']);
});

test('pause and resume: frozen output, then it goes on', T, async (t) => {
  if (!requireRoot(t, RUNTIME_TOOLS)) return;
  const env = testEnv(t);
  const req = request(env, { command: ['sh', '-c', 'while true; do echo tick; sleep 0.05; done'] });
  await startContainer(env, req);
  const size = () => readFileSync(req.log?.path as string).length;
  await waitFor('ticks', () => size() > 0);
  await env.runtime.pause(req.id);
  assert.equal(await status(env, req.id), 'paused');
  await assert.rejects(env.runtime.exec(req.id, { command: ['true'], env: [], privileged: false, tty: false, attachStdin: false, detach: false }), (e: unknown) => e instanceof EngineError && e.kind === 'conflict');
  await assert.rejects(env.runtime.pause(req.id), (e: unknown) => e instanceof EngineError && e.kind === 'conflict');
  await new Promise((r) => setTimeout(r, 100));
  const frozen = size();
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(size(), frozen);
  await env.runtime.resume(req.id);
  assert.equal(await status(env, req.id), 'running');
  await waitFor('more ticks', () => size() > frozen);
});

test('top: ps -ef columns by default, other ps arguments; stats with a memory limit', T, async (t) => {
  if (!requireRoot(t, RUNTIME_TOOLS)) return;
  const env = testEnv(t);
  const req = request(env, { memory: 64 << 20, command: ['sleep', '1000'] });
  const pid = await startContainer(env, req);
  const top = await env.runtime.top(req.id);
  assert.deepEqual(top.titles, ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
  assert.equal(top.processes.length, 1);
  assert.equal(top.processes[0]?.[1], String(pid), 'host pids, as docker top shows them');
  assert.equal(top.processes[0]?.[7], 'sleep 1000');
  const aux = await env.runtime.top(req.id, 'aux');
  assert.equal(aux.titles[0], 'USER');
  assert.equal(aux.titles.at(-1), 'COMMAND');
  assert.equal(aux.processes[0]?.at(-1), 'sleep 1000');
  const stats = await env.runtime.stats(req.id);
  assert.equal(stats.memoryLimit, 64 << 20);
  assert.ok(stats.memoryBytes > 0 && stats.memoryBytes < 64 << 20);
  assert.equal(stats.pids, 1);
  assert.ok(stats.cpuNanos > 0);
});

test('release keeps the changes, destroy leaves nothing: no mounts, cgroups, runc state, processes or files', T, async (t) => {
  if (!requireRoot(t, RUNTIME_TOOLS)) return;
  const env = testEnv(t);
  const req = request(env, { command: ['sh', '-c', 'echo change > /root/file; sleep 1000'] });
  await startContainer(env, req);
  const bundle = join(env.paths.containers, req.id, 'bundle');
  await waitFor('the change', () => existsSync(join(bundle, 'upper/root/file')));
  assert.ok(mountsUnder(env.dir).length > 0);
  assert.ok(cgroupDirsUnder(req.cgroupsPath).length >= 8);
  await assert.rejects(env.runtime.release(req.id), (e: unknown) => e instanceof EngineError && e.kind === 'conflict');
  await env.runtime.kill(req.id, 'KILL');
  await exitOf(env, req.id);
  await env.runtime.release(req.id);
  assert.deepEqual(mountsUnder(env.dir), []);
  assert.deepEqual(cgroupDirsUnder(req.cgroupsPath), []);
  assert.deepEqual(cgroupDirsUnder(env.paths.cgroupParent), [], 'the empty parent is removed too');
  assert.equal(await status(env, req.id), undefined);
  assert.equal(readFileSync(join(bundle, 'upper/root/file'), 'utf8'), 'change\n');
  assert.equal((await env.runtime.exitInfo(req.id))?.code, 137);
  // Prepared again, it runs with its changes.
  await env.runtime.prepare({ ...req, spec: { ...req.spec, command: ['cat', '/root/file'] } });
  await env.runtime.start(req.id);
  await waitFor('the second run', async () => (await env.runtime.exitInfo(req.id))?.code === 0);
  await waitFor('conmon to finish', async () => !(await env.runtime.conmonAlive(req.id)));
  assert.match(logContent(req.log?.path as string), /change\n$/);
  await env.runtime.destroy(req.id);
  assert.deepEqual(mountsUnder(env.dir), []);
  assert.deepEqual(cgroupDirsUnder(env.paths.cgroupParent), []);
  assert.equal(await status(env, req.id), undefined);
  assert.deepEqual(processesMentioning(req.id), []);
  assert.ok(!existsSync(join(env.paths.containers, req.id)), 'bundle, upper dir and log gone');
  assert.ok(!existsSync(join(env.paths.exits, req.id)));
  assert.ok(!existsSync(join(env.paths.ctr, req.id)));
  await env.runtime.destroy(req.id); // twice is fine
});

test('logs -f with the caller\'s isRunning turning false at the exit: every line up to the last is still read', T, async (t) => {
  if (!requireRoot(t, RUNTIME_TOOLS)) return;
  const env = testEnv(t);
  let running = true;
  const req = request(env, { command: ['sh', '-c', 'sleep 0.3; i=0; while [ $i -lt 3000 ]; do echo "line $i"; i=$((i+1)); done; echo last'] });
  t.after(env.runtime.onExit((id) => {
    if (id === req.id) running = false;
  }));
  await startContainer(env, req);
  let text = '';
  for await (const c of env.runtime.readLogs(req.id, req.log?.path as string, { follow: true, timestamps: false, isRunning: () => running })) text += c.data.toString();
  assert.equal(running, false);
  assert.match(text, /line 2999\nlast\n$/);
  assert.equal(text.split('\n').length, 3002);
});

test('tty: under conmon the process has a terminal, its output in the log as stdout', T, async (t) => {
  if (!requireRoot(t, RUNTIME_TOOLS)) return;
  const env = testEnv(t);
  const req = request(env, { tty: true, command: ['sh', '-c', 'tty; echo err >&2; exit 3'] });
  await startContainer(env, req);
  assert.equal((await exitOf(env, req.id)).code, 3);
  await waitFor('conmon to finish', async () => !(await env.runtime.conmonAlive(req.id)));
  const log = readFileSync(req.log?.path as string, 'utf8');
  assert.doesNotMatch(log, / stderr /);
  assert.match(logContent(req.log?.path as string), /^\/dev\/pts\/\d+\r?\nerr\r?\n$/);
});
