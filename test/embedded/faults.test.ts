/**
 * The embedded engine under faults: the daemon SIGKILLed while containers run (they keep running
 * and are adopted), an exit while no daemon runs (recorded, restart policy applied), a
 * crash-looping container's back-off, a health check that times out, an OOM kill, and a daemon
 * killed in the middle of `up` (a re-run converges).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ContainerSpec } from '../../src/contract/engine.js';
import { FLOTILLA, flotilla } from '../helpers/cli.js';
import { useTestDaemon } from '../helpers/embedded-daemon.js';
import { waitFor } from '../helpers/wait.js';
import { requireRoot } from '../helpers/root.js';
import { projectDir } from '../helpers/tmp.js';
import { containerSpec } from '../engine/contract.js';

const testDaemon = useTestDaemon();

async function run(name: string, overrides: Partial<ContainerSpec>): Promise<string> {
  const daemon = testDaemon();
  assert.ok(daemon);
  const id = await daemon.engine.createContainer(containerSpec(name, overrides));
  await daemon.engine.startContainer(id);
  return id;
}

async function stopAndWait(id: string): Promise<number> {
  const daemon = testDaemon();
  assert.ok(daemon);
  await daemon.engine.stopContainer(id, 1);
  return (await daemon.engine.inspectContainer(id))?.state.exitCode ?? -1;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('embedded engine faults', { concurrency: false }, () => {
  it('keeps containers running when the daemon is killed, and adopts them', async (t) => {
    const d = testDaemon();
    if (!requireRoot(t) || !d) return;
    const keeper = await run('flt-f-keeper', { command: ['sleep', '3600'] });
    const pid = (await d.engine.inspectContainer(keeper))?.state.pid ?? 0;
    assert.ok(pid > 0);
    await d.kill();
    assert.ok(alive(pid), 'the container outlived its daemon');
    await d.start();
    const info = await d.engine.inspectContainer(keeper);
    assert.equal(info?.state.status, 'running');
    assert.equal(info?.state.pid, pid);
    // the adopted container is managed as before: stop reaches it and its exit is recorded
    assert.equal(await stopAndWait(keeper), 137); // sleep as pid 1 ignores SIGTERM
    assert.ok(!alive(pid));
    await d.engine.removeContainer(keeper, { force: true });
  });

  it('records an exit that happened while no daemon ran and applies the restart policy', async (t) => {
    const d = testDaemon();
    if (!requireRoot(t) || !d) return;
    const id = await run('flt-f-offline', { command: ['sh', '-c', 'sleep 2; exit 5'], restartPolicy: { name: 'on-failure', maximumRetryCount: 1 } });
    await d.kill();
    // conmon writes the exit file with no daemon running: the exit happened while none ran.
    await waitFor('the exit while no daemon runs', () => existsSync(join(d.paths.exits, id)));
    await d.start();
    const info = await waitFor('the restart', async () => {
      const i = await d.engine.inspectContainer(id);
      return i && i.restartCount >= 1 ? i : null;
    });
    assert.equal(info.restartCount >= 1, true);
    assert.equal(await d.engine.waitContainer(id), 5);
    await d.engine.removeContainer(id, { force: true });
  });

  it('backs off a crash-looping container', async (t) => {
    const d = testDaemon();
    if (!requireRoot(t) || !d) return;
    const id = await run('flt-f-crash', { command: ['false'], restartPolicy: { name: 'always', maximumRetryCount: 0 } });
    await sleep(4000);
    const info = await d.engine.inspectContainer(id);
    // 100 ms doubling: restarts at about 0.1, 0.3, 0.7, 1.5, 3.1 s; without back-off it would be dozens
    assert.ok(info && info.restartCount >= 3 && info.restartCount <= 7, `restart count ${info?.restartCount}`);
    await d.engine.removeContainer(id, { force: true });
  });

  it('marks a health check that times out unhealthy', async (t) => {
    const d = testDaemon();
    if (!requireRoot(t) || !d) return;
    const id = await run('flt-f-health', {
      command: ['sleep', '3600'],
      healthcheck: { test: ['CMD', 'sleep', '10'], interval: 500_000_000, timeout: 300_000_000, retries: 2, startPeriod: 0 },
    });
    const info = await waitFor('unhealthy', async () => {
      const i = await d.engine.inspectContainer(id);
      return i?.state.health?.status === 'unhealthy' ? i : null;
    });
    assert.ok((info.state.health?.log.length ?? 0) >= 2);
    assert.ok((info.state.health?.log.length ?? 0) <= 5, 'the last five results are kept');
    await d.engine.removeContainer(id, { force: true });
  });

  it('reports an OOM kill', async (t) => {
    const d = testDaemon();
    if (!requireRoot(t) || !d) return;
    const id = await run('flt-f-oom', {
      command: ['sh', '-c', 'x=a; while :; do x="$x$x"; done'],
      memory: 16 * 1024 * 1024,
      memorySwap: 16 * 1024 * 1024,
    });
    const code = await d.engine.waitContainer(id);
    const info = await d.engine.inspectContainer(id);
    assert.equal(info?.state.oomKilled, true, `exit ${code}`);
    assert.equal(code, 137);
    await d.engine.removeContainer(id, { force: true });
  });

  it('converges when the daemon is killed in the middle of up', async (t) => {
    const d = testDaemon();
    if (!requireRoot(t) || !d) return;
    const services = Array.from({ length: 8 }, (_, i) => `  s${i}:\n    image: busybox:latest\n    command: ["sleep", "3600"]\n`).join('');
    const dir = projectDir(t, { 'compose.yaml': `services:\n${services}` }, 'midup');
    const env = { ...d.env, FLOTILLA_ENGINE: 'embedded', PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: dir };
    const up = spawn(process.execPath, [FLOTILLA, 'up', '-d'], { cwd: dir, env, stdio: 'ignore' });
    const upEnded = new Promise((resolve) => up.once('exit', resolve)); // it may end before the daemon is killed
    await waitFor('the first container', async () => (await d.engine.listContainers({ labels: { 'com.docker.compose.project': 'midup' }, all: true })).length > 0);
    await d.kill();
    await upEnded;
    // the next CLI call starts a daemon again (autostart) and converges
    const again = flotilla(['up', '-d'], { cwd: dir, env, timeoutMs: 120_000 });
    assert.equal(again.status, 0, again.stderr);
    d.process = null; // the autostarted daemon is not this harness's child; destroy() stops it over the API
    const ps = flotilla(['ps', '--services', '--filter', 'status=running'], { cwd: dir, env });
    assert.equal(ps.stdout.trim().split('\n').length, 8, ps.stdout + ps.stderr);
    const down = flotilla(['down', '-t', '0'], { cwd: dir, env, timeoutMs: 120_000 });
    assert.equal(down.status, 0, down.stderr);
  });
});
