/**
 * Attached `up` (no -d) against dockerd: "Attaching to ...", the containers' output prefixed,
 * the end when they exit; --abort-on-container-exit and --exit-code-from; Ctrl-C (SIGINT) stops
 * the containers gracefully, a second one kills them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { e2eProject, hasAnsi, poll } from './lib.js';

test('attached up prints the output of each container and ends when they have exited', (t) => {
  const p = e2eProject(t, 'attach', {
    'compose.yml': `services:
  a:
    image: busybox:latest
    command: ["sh", "-c", "echo a says hi; sleep 1; echo a bye"]
  b:
    image: busybox:latest
    command: ["sh", "-c", "echo b says hi; exit 4"]
`,
  });
  if (!p) return;
  const expected = (prefix: string) => [
    `Attaching to ${p.c('a')}, ${p.c('b')}`,
    'a_1  | a says hi',
    'a_1  | a bye',
    `${p.c('a')} exited with code 0`,
    'b_1  | b says hi',
    `${p.c('b')} exited with code 4`,
  ].map((l) => `${prefix}${l}`);
  for (const run of ['first', 'second']) {
    const r = p.flotilla(['up'], { timeoutMs: 60_000 });
    assert.equal(r.status, 0, `${run} run: without --abort-on-container-exit the status is 0\n${r.stderr}`);
    assert.equal(hasAnsi(r.stdout), false, 'no colours when stdout is not a terminal');
    const out = r.stdout.split('\n').filter((l) => l !== '');
    // Each container's lines in order, each line once (a second run shows only the new output).
    assert.deepEqual([...out].sort(), expected('').sort(), `${run} run:\n${r.stdout}`);
    assert.equal(out[0], `Attaching to ${p.c('a')}, ${p.c('b')}`);
    assert.ok(out.indexOf('a_1  | a says hi') < out.indexOf('a_1  | a bye'));
    assert.ok(out.indexOf('a_1  | a bye') < out.indexOf(`${p.c('a')} exited with code 0`));
    assert.ok(out.indexOf('b_1  | b says hi') < out.indexOf(`${p.c('b')} exited with code 4`));
  }
  const noPrefix = p.flotilla(['up', '--no-log-prefix'], { timeoutMs: 60_000 });
  assert.match(noPrefix.stdout, /^a says hi$/m);
});

const ABORT = `services:
  quick:
    image: busybox:latest
    command: ["sh", "-c", "echo quick done; exit 3"]
  slow:
    image: busybox:latest
    command: ["sh", "-c", "trap 'echo slow stopping; exit 5' TERM; echo slow ready; sleep 600 & wait"]
`;

test('--abort-on-container-exit stops the others and exits with the first exited container\'s code', (t) => {
  const p = e2eProject(t, 'abort', { 'compose.yml': ABORT });
  if (!p) return;
  const r = p.flotilla(['up', '--abort-on-container-exit'], { timeoutMs: 60_000 });
  assert.equal(r.status, 3, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /quick_1 +\| quick done/);
  assert.match(r.stdout, new RegExp(`${p.c('quick')} exited with code 3`));
  assert.match(r.stderr, /Aborting on container exit\.\.\./);
  assert.deepEqual(p.running(), [], 'slow was stopped');
  assert.equal(p.inspect(p.c('slow')).State.ExitCode, 5, 'gracefully (its TERM trap ran)');
});

test('--exit-code-from exits with that service\'s code', (t) => {
  const p = e2eProject(t, 'exitcode', { 'compose.yml': ABORT });
  if (!p) return;
  const fromSlow = p.flotilla(['up', '--exit-code-from', 'slow'], { timeoutMs: 60_000 });
  assert.equal(fromSlow.status, 5, `${fromSlow.stdout}\n${fromSlow.stderr}`);
  const fromQuick = p.flotilla(['up', '--exit-code-from', 'quick'], { timeoutMs: 60_000 });
  assert.equal(fromQuick.status, 3, `${fromQuick.stdout}\n${fromQuick.stderr}`);
  assert.deepEqual(p.running(), []);

  const unknown = p.flotilla(['up', '--exit-code-from', 'nosuch']);
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /No service named "nosuch" was found in your compose file/);
  const detached = p.flotilla(['up', '-d', '--abort-on-container-exit']);
  assert.equal(detached.status, 1);
  assert.match(detached.stderr, /-d cannot be combined with --abort-on-container-exit/);
});

test('Ctrl-C during attached up stops the containers gracefully', async (t) => {
  const p = e2eProject(t, 'sigint', {
    'compose.yml': `services:
  a:
    image: busybox:latest
    command: ["sh", "-c", "trap 'echo a stopping; exit 0' TERM; echo a ready; sleep 600 & wait"]
  b:
    image: busybox:latest
    command: ["sh", "-c", "trap 'echo b stopping; exit 0' TERM; echo b ready; sleep 600 & wait"]
`,
  });
  if (!p) return;
  const up = p.spawn(['up']);
  await up.waitFor(/a_1 +\| a ready/, 60_000);
  await up.waitFor(/b_1 +\| b ready/, 30_000);
  up.kill('SIGINT');
  await up.waitFor(/Gracefully stopping\.\.\. \(press Ctrl\+C again to force\)/);
  const code = await up.exit(30_000);
  assert.equal(code, 0, up.output);
  assert.match(up.stdout, /a_1 +\| a stopping/);
  assert.match(up.stdout, /b_1 +\| b stopping/);
  assert.deepEqual(p.running(), []);
  for (const s of ['a', 'b']) assert.equal(p.inspect(p.c(s)).State.ExitCode, 0, `${s} stopped by SIGTERM, not killed`);
});

test('a second Ctrl-C kills the containers and exits 2', async (t) => {
  const p = e2eProject(t, 'sigint2', {
    'compose.yml': `services:
  stubborn:
    image: busybox:latest
    command: ["sh", "-c", "trap 'echo ignoring TERM' TERM; echo stubborn ready; while :; do sleep 1; done"]
`,
  });
  if (!p) return;
  const up = p.spawn(['up']);
  await up.waitFor(/stubborn_1 +\| stubborn ready/, 60_000);
  up.kill('SIGINT');
  await up.waitFor(/Gracefully stopping/);
  await up.waitFor(/ignoring TERM/);
  const started = Date.now();
  up.kill('SIGINT');
  const code = await up.exit(30_000);
  assert.equal(code, 2, up.output);
  assert.match(up.stderr, /Killing/);
  await poll('the container to be killed', () => p.running().length === 0, 15_000);
  assert.equal(p.inspect(p.c('stubborn')).State.ExitCode, 137, 'killed (SIGKILL)');
  assert.ok(Date.now() - started < 9_000, 'without waiting for the 10 s stop timeout');
});
