/**
 * Scaling against dockerd (`up --scale`, the `scale` command: the highest numbers go first, the
 * others are kept as they are) and `up --wait`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { e2eProject, SERVE } from './lib.js';


test('up --scale w=3 then w=1 removes the highest numbers; the scale command scales back up', (t) => {
  const p = e2eProject(t, 'scale', {
    'compose.yml': `services:
  w:
    image: busybox:latest
    command: ${SERVE}
  other:
    image: busybox:latest
    command: ${SERVE}
`,
  });
  if (!p) return;
  p.ok(['up', '-d', '--scale', 'w=3']);
  assert.deepEqual(p.running(), [p.c('other'), p.c('w', 1), p.c('w', 2), p.c('w', 3)]);
  const three = p.containers();

  const down = p.ok(['up', '-d', '-t', '0', '--scale', 'w=1']);
  assert.match(down.stderr, new RegExp(`Stopping and removing ${p.c('w', 3)}`));
  assert.match(down.stderr, new RegExp(`Stopping and removing ${p.c('w', 2)}`));
  assert.deepEqual(p.running(), [p.c('other'), p.c('w', 1)]);
  assert.equal(p.containers().get(p.c('w', 1)), three.get(p.c('w', 1)), 'w_1 kept');
  assert.equal(p.containers().get(p.c('other')), three.get(p.c('other')), 'other untouched');

  const scaled = p.ok(['scale', 'w=2']);
  assert.match(scaled.stderr, /The scale command is deprecated/);
  assert.deepEqual(p.running(), [p.c('other'), p.c('w', 1), p.c('w', 2)]);
  assert.equal(p.containers().get(p.c('w', 1)), three.get(p.c('w', 1)), 'w_1 still kept');

  p.ok(['scale', '-t', '0', 'w=0']);
  assert.deepEqual(p.running(), [p.c('other')]);

  const bad = p.flotilla(['up', '-d', '--scale', 'nosuch=2']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /no such service: nosuch/);
});

test('up --wait returns once containers are running or healthy, and fails when one is unhealthy', (t) => {
  const p = e2eProject(t, 'wait', {
    'compose.yml': `services:
  slow:
    image: busybox:latest
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1; touch /tmp/ready; sleep 600 & wait"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 300ms
      retries: 100
  plain:
    image: busybox:latest
    command: ${SERVE}
`,
  });
  if (!p) return;
  const r = p.ok(['up', '--wait'], { timeoutMs: 90_000 });
  assert.match(r.stderr, new RegExp(`Waiting for ${p.c('slow')} \\.\\.\\. healthy`));
  assert.match(r.stderr, new RegExp(`Waiting for ${p.c('plain')} \\.\\.\\. running`));
  assert.equal(p.inspect(p.c('slow')).State.Health?.Status, 'healthy');

  p.write('compose.override.yml', 'services:\n  plain:\n    healthcheck:\n      test: ["CMD", "false"]\n      interval: 300ms\n      retries: 1\n');
  const failed = p.flotilla(['up', '--wait', '-t', '0'], { timeoutMs: 90_000 });
  assert.equal(failed.status, 1, failed.stderr);
  assert.match(failed.stderr, new RegExp(`ERROR: for ${p.c('plain')}: container ${p.c('plain')} is unhealthy`));
  assert.match(failed.stderr, /Some containers did not become ready/);
});
