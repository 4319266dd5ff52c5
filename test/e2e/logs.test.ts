/**
 * `logs` against dockerd: prefixes as docker-compose prints them, --tail, -t, --no-log-prefix,
 * no colours off a terminal; `logs -f` picking up containers a scale-up starts and a restarted
 * container's new output (only), and ending when the containers stop.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { E2E_ENGINE, e2eProject, hasAnsi, lines, poll } from './lib.js';

const SERVE_AFTER = (echo: string) => `["sh", "-c", "trap 'exit 0' TERM; ${echo}; sleep 600 & wait"]`;

test('logs: prefixes, --tail, -t, --no-log-prefix, no colours off a terminal', async (t) => {
  const p = e2eProject(t, 'logs', {
    'compose.yml': `services:
  a:
    image: busybox:latest
    command: ${SERVE_AFTER('echo a1; echo a2; echo a3')}
  bbb:
    image: busybox:latest
    command: ${SERVE_AFTER('echo b1 >&2')}
`,
  });
  if (!p) return;
  p.ok(['up', '-d']);
  await poll('the output', () => /a3/.test(p.ok(['logs', 'a']).stdout) && /b1/.test(p.ok(['logs', 'bbb']).stdout));

  // The name column is as wide as the longest service name + 3, as docker-compose pads it.
  const all = p.ok(['logs']);
  assert.equal(hasAnsi(all.stdout), false, 'no ANSI escapes when stdout is not a terminal');
  assert.deepEqual(lines(all.stdout).sort(), ['a_1    | a1', 'a_1    | a2', 'a_1    | a3', 'bbb_1  | b1'].sort());
  if (E2E_ENGINE === 'docker') {
    const compose = p.compose(['logs', '--no-color']).stdout.split('\n').filter((l) => l !== '' && !l.startsWith('Attaching to'));
    assert.deepEqual(lines(all.stdout).sort(), compose.sort(), 'the lines docker-compose --no-color prints');
  }
  assert.equal(p.ok(['logs', '--no-color', 'a']).stdout, 'a_1    | a1\na_1    | a2\na_1    | a3\n');

  assert.equal(p.ok(['logs', '--tail', '1', 'a']).stdout, 'a_1    | a3\n');
  assert.equal(p.ok(['logs', '--tail', '0', 'a']).stdout, '');
  assert.equal(p.ok(['logs', '--no-log-prefix', 'a']).stdout, 'a1\na2\na3\n');
  const stamped = lines(p.ok(['logs', '-t', 'a']).stdout);
  assert.equal(stamped.length, 3);
  for (const [i, l] of stamped.entries()) assert.match(l, new RegExp(`^a_1    \\| \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d+Z a${i + 1}$`));
  assert.deepEqual(lines(p.ok(['logs', '-t', '--no-log-prefix', '--tail', '1', 'a']).stdout).map((l) => l.replace(/^\S+ /, '')), ['a3']);

  const bad = p.flotilla(['logs', '--tail', 'x']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /tail flag must be all or a number/);
  const unknown = p.flotilla(['logs', 'nosuch']);
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /no such service: nosuch/);
});

test('logs -f follows containers a scale-up starts, a restart\'s new output, and ends when they stop', async (t) => {
  const p = e2eProject(t, 'follow', {
    'compose.yml': `services:
  w:
    image: busybox:latest
    command: ${SERVE_AFTER('echo hello from $$HOSTNAME')}
`,
  });
  if (!p) return;
  p.ok(['up', '-d']);
  const follow = p.spawn(['logs', '-f', 'w']);
  await follow.waitFor(/^w_1 +\| hello from \w+$/m, 30_000);

  p.ok(['up', '-d', '--scale', 'w=3']);
  await follow.waitFor(/^w_2 +\| hello from \w+$/m, 30_000);
  await follow.waitFor(/^w_3 +\| hello from \w+$/m, 30_000);

  // w_2 restarted: its new line appears, and nothing printed before again.
  p.restartContainer(p.c('w', 2));
  await poll('w_2 to say hello again', () => (follow.stdout.match(/^w_2 +\| hello/gm) ?? []).length === 2, 30_000);
  assert.equal((follow.stdout.match(/^w_1 +\| hello/gm) ?? []).length, 1, 'w_1 printed once');
  assert.equal((follow.stdout.match(/^w_3 +\| hello/gm) ?? []).length, 1, 'w_3 printed once');

  p.ok(['stop', '-t', '0']);
  const code = await follow.exit(30_000);
  assert.equal(code, 0, follow.output);
  for (const n of [1, 2, 3]) assert.match(follow.stdout, new RegExp(`${p.c('w', n)} exited with code \\d+`));
  assert.equal(hasAnsi(follow.stdout), false);
});
