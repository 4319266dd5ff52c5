/**
 * depends_on conditions against dockerd: a dependant is created only once its dependency is
 * healthy (service_healthy), has exited 0 (service_completed_successfully) or has started
 * (service_started); a failed condition fails the dependant clearly and the rest carry on.
 * Orders are checked with the engine's own timestamps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertCleanFailure, e2eProject, nanos, SERVE } from './lib.js';

const SECOND = 1_000_000_000n;

test('service_healthy: the dependant is created only after its dependency is healthy', (t) => {
  const p = e2eProject(t, 'healthy', {
    'compose.yml': `services:
  db:
    image: busybox:latest
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 2; touch /tmp/ready; sleep 600 & wait"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 500ms
      timeout: 5s
      retries: 60
  web:
    image: busybox:latest
    command: ${SERVE}
    depends_on:
      db:
        condition: service_healthy
`,
  });
  if (!p) return;
  p.ok(['up', '-d'], { timeoutMs: 90_000 });
  const db = p.inspect(p.c('db'));
  const web = p.inspect(p.c('web'));
  assert.equal(db.State.Health?.Status, 'healthy');
  assert.equal(web.State.Running, true);
  // db can only be healthy 2 s after it started; web was created after that.
  const gap = nanos(web.Created) - nanos(db.State.StartedAt);
  assert.ok(gap >= 2n * SECOND, `web created ${Number(gap) / 1e9} s after db started, before db could be healthy`);
});

test('service_healthy: an unhealthy dependency fails its dependant with a clear error', (t) => {
  const p = e2eProject(t, 'unhealthy', {
    'compose.yml': `services:
  db:
    image: busybox:latest
    command: ${SERVE}
    healthcheck:
      test: ["CMD", "false"]
      interval: 300ms
      retries: 1
  web:
    image: busybox:latest
    command: ${SERVE}
    depends_on:
      db:
        condition: service_healthy
`,
  });
  if (!p) return;
  const r = p.flotilla(['up', '-d'], { timeoutMs: 90_000 });
  assertCleanFailure(r, /ERROR: for .*web.*unhealthy/);
  assert.ok(!p.containers().has(p.c('web')), 'web never created');
});

test('service_completed_successfully: the dependant starts after the init container exits 0', (t) => {
  const p = e2eProject(t, 'completed', {
    'compose.yml': `services:
  init:
    image: busybox:latest
    command: ["sh", "-c", "sleep 1; echo initialised"]
  app:
    image: busybox:latest
    command: ${SERVE}
    depends_on:
      init:
        condition: service_completed_successfully
`,
  });
  if (!p) return;
  p.ok(['up', '-d'], { timeoutMs: 90_000 });
  const init = p.inspect(p.c('init'));
  const app = p.inspect(p.c('app'));
  assert.equal(init.State.ExitCode, 0);
  assert.equal(app.State.Running, true);
  assert.ok(nanos(app.State.StartedAt) > nanos(init.State.FinishedAt), `app started ${app.State.StartedAt}, init finished ${init.State.FinishedAt}`);
});

test('service_completed_successfully: an init container exiting 3 fails its dependant (exit 1), other services still start', (t) => {
  const p = e2eProject(t, 'initfail', {
    'compose.yml': `services:
  init:
    image: busybox:latest
    command: ["sh", "-c", "echo failing; exit 3"]
  app:
    image: busybox:latest
    command: ${SERVE}
    depends_on:
      init:
        condition: service_completed_successfully
  other:
    image: busybox:latest
    command: ${SERVE}
`,
  });
  if (!p) return;
  const r = p.flotilla(['up', '-d'], { timeoutMs: 90_000 });
  assertCleanFailure(r, /ERROR: for .*app.*init.*exited with code 3/);
  assert.deepEqual(p.running(), [p.c('other')], 'other started; app did not');
  assert.equal(p.inspect(p.c('init')).State.ExitCode, 3);
});

test('service_started: the dependant starts after its dependency', (t) => {
  const p = e2eProject(t, 'started', {
    'compose.yml': `services:
  a:
    image: busybox:latest
    command: ${SERVE}
  b:
    image: busybox:latest
    command: ${SERVE}
    depends_on:
      a:
        condition: service_started
  c:
    image: busybox:latest
    command: ${SERVE}
    depends_on: [b]
`,
  });
  if (!p) return;
  p.ok(['up', '-d']);
  const [a, b, c] = ['a', 'b', 'c'].map((s) => p.inspect(p.c(s)));
  assert.ok(a && b && c);
  assert.ok(nanos(b.Created) > nanos(a.State.StartedAt), 'b created after a started');
  assert.ok(nanos(c.Created) > nanos(b.State.StartedAt), 'c created after b started');
});
