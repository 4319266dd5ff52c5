import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { HealthMonitor, probeArgv, type ProbeResult } from '../../../src/daemon/supervisor/health.js';
import { FIRST_DELAY_MS, MAX_DELAY_MS, restartDelay, restartsWithDaemon } from '../../../src/daemon/supervisor/restart-policy.js';
import type { HealthState } from '../../../src/daemon/containers/record.js';
import { waitFor } from '../../helpers/wait.js';

const facts = { exitCode: 1, restartCount: 0, stoppedByUser: false, ranForMs: 50, previousDelayMs: 0 };

test('restart policies decide as Docker does', () => {
  assert.equal(restartDelay(undefined, facts), null);
  assert.equal(restartDelay({ name: 'no', maximumRetryCount: 0 }, facts), null);
  assert.equal(restartDelay({ name: 'always', maximumRetryCount: 0 }, { ...facts, exitCode: 0 }), FIRST_DELAY_MS);
  assert.equal(restartDelay({ name: 'unless-stopped', maximumRetryCount: 0 }, facts), FIRST_DELAY_MS);
  assert.equal(restartDelay({ name: 'always', maximumRetryCount: 0 }, { ...facts, stoppedByUser: true }), null);
  assert.equal(restartDelay({ name: 'on-failure', maximumRetryCount: 0 }, { ...facts, exitCode: 0 }), null);
  assert.equal(restartDelay({ name: 'on-failure', maximumRetryCount: 2 }, { ...facts, restartCount: 1 }), FIRST_DELAY_MS);
  assert.equal(restartDelay({ name: 'on-failure', maximumRetryCount: 2 }, { ...facts, restartCount: 2 }), null);
});

test('the back-off doubles up to a minute and resets after a 10-second run', () => {
  const always = { name: 'always', maximumRetryCount: 0 };
  const delays: number[] = [];
  let previous = 0;
  for (let i = 0; i < 12; i++) {
    previous = restartDelay(always, { ...facts, previousDelayMs: previous }) as number;
    delays.push(previous);
  }
  assert.deepEqual(delays.slice(0, 5), [100, 200, 400, 800, 1600]);
  assert.equal(Math.max(...delays), MAX_DELAY_MS);
  assert.equal(restartDelay(always, { ...facts, previousDelayMs: MAX_DELAY_MS, ranForMs: 10_000 }), FIRST_DELAY_MS);
});

test('containers that come back with the daemon', () => {
  assert.equal(restartsWithDaemon({ name: 'always', maximumRetryCount: 0 }, true), true);
  assert.equal(restartsWithDaemon({ name: 'unless-stopped', maximumRetryCount: 0 }, true), false);
  assert.equal(restartsWithDaemon({ name: 'unless-stopped', maximumRetryCount: 0 }, false), true);
  assert.equal(restartsWithDaemon({ name: 'on-failure', maximumRetryCount: 0 }, false), false);
});

test('probe commands', () => {
  assert.deepEqual(probeArgv(['CMD', 'true', 'x']), ['true', 'x']);
  assert.deepEqual(probeArgv(['CMD-SHELL', 'exit 3']), ['/bin/sh', '-c', 'exit 3']);
  assert.equal(probeArgv(['NONE']), null);
});

/** Runs probes as host processes: the monitor's timing and state logic against real processes. */
function hostRunner(argv: string[], timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const child = spawn(argv[0] as string, argv.slice(1));
    const out: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => out.push(d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ exitCode: code ?? -1, output: Buffer.concat(out).toString(), timedOut });
    });
  });
}

function watch(test: string[], spec: { interval: number; timeout: number; retries: number; startPeriod?: number; startInterval?: number }, until: (s: HealthState, probes: number) => boolean): Promise<{ states: HealthState[]; changes: string[] }> {
  return new Promise((resolve) => {
    const states: HealthState[] = [];
    const changes: string[] = [];
    const monitor = new HealthMonitor({ test, interval: spec.interval * 1e6, timeout: spec.timeout * 1e6, retries: spec.retries, startPeriod: (spec.startPeriod ?? 0) * 1e6, ...(spec.startInterval ? { startInterval: spec.startInterval * 1e6 } : {}) }, HealthMonitor.initialState(), {
      run: hostRunner,
      update: (state, changed) => {
        states.push(state);
        if (changed) changes.push(state.status);
        if (until(state, states.length) || states.length > 50) {
          monitor.stop();
          resolve({ states, changes });
        }
      },
    });
    monitor.start();
  });
}

test('a passing probe makes the container healthy and keeps its output', async () => {
  const { states, changes } = await watch(['CMD-SHELL', 'echo ok'], { interval: 20, timeout: 2000, retries: 3 }, (_s, probes) => probes === 6);
  assert.deepEqual(changes, ['healthy']);
  const last = states.at(-1) as HealthState;
  assert.equal(last.status, 'healthy');
  assert.equal(last.log.length, 5, 'keeps the last five results');
  assert.equal(last.log[0]?.output, 'ok\n');
});

test('retries failures make it unhealthy; a timeout is a failure with its message', async () => {
  const { states, changes } = await watch(['CMD', 'sleep', '5'], { interval: 10, timeout: 50, retries: 2 }, (s) => s.status === 'unhealthy');
  assert.deepEqual(changes, ['unhealthy']);
  assert.equal(states.length, 2);
  assert.equal(states[1]?.failingStreak, 2);
  assert.match(states[1]?.log[0]?.output ?? '', /^Health check exceeded timeout \(0\.05s\)$/);
  assert.equal(states[1]?.log[0]?.exitCode, -1);
});

test('failures in the start period do not count', async () => {
  // A start period of many intervals: even a machine so loaded that each probe takes a few hundred
  // milliseconds fits several failing probes into it (with 150 ms, two did not, under load).
  const { states } = await watch(['CMD-SHELL', 'exit 1'], { interval: 20, timeout: 1000, retries: 1, startPeriod: 1500 }, (s) => s.status === 'unhealthy');
  const uncounted = states.filter((s) => s.failingStreak === 0 && s.status === 'starting');
  assert.ok(uncounted.length >= 2, `several failures passed unnoticed first (${uncounted.length} of ${states.length})`);
  assert.equal(states[0]?.failingStreak, 0);
  assert.equal(states.at(-1)?.failingStreak, 1, 'the first failure after the start period makes it unhealthy (retries 1)');
});

test('start_interval paces the probes during the start period, where failures do not count; interval after the first success', async () => {
  // An hour's interval: only start_interval can bring these probes within the test's time.
  const failing = await watch(['CMD', 'false'], { interval: 3_600_000, timeout: 2000, retries: 1, startPeriod: 3_600_000, startInterval: 10 }, (_s, probes) => probes === 4);
  assert.deepEqual(failing.changes, [], 'failures in the start period leave it starting');
  assert.deepEqual(failing.states.map((s) => s.failingStreak), [0, 0, 0, 0]);
  let probes = 0;
  const monitor = new HealthMonitor({ test: ['CMD', 'true'], interval: 3_600_000 * 1e6, timeout: 2e9, retries: 1, startPeriod: 3_600_000 * 1e6, startInterval: 10 * 1e6 }, HealthMonitor.initialState(), {
    run: hostRunner,
    update: () => probes++,
  });
  monitor.start();
  try {
    await waitFor('the first probe', () => probes > 0 || undefined, 30_000, 5);
    // Ten start intervals later: still the one probe.
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(probes, 1, 'once healthy, the next probe waits for interval');
  } finally {
    monitor.stop();
  }
});
