/**
 * The executable passes every argument to Flotilla untouched: Node reads arguments starting with
 * "--env-file" as its own option even after the script (nodejs/node#54232), so without care a
 * missing file exits 9 with Node's message and /dev/zero is read until memory runs out.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertCleanError, flotilla } from '../helpers/cli.js';
import { projectDir } from '../helpers/tmp.js';

const FILES = {
  'compose.yml': 'services:\n  web:\n    image: "busybox:${TAG}"\n',
  'vars.env': 'TAG=from-env-file\n',
};

test('--env-file FILE and --env-file=FILE before the command are read by Flotilla', (t) => {
  const dir = projectDir(t, FILES);
  for (const args of [['--env-file', 'vars.env'], ['--env-file=vars.env']]) {
    const r = flotilla([...args, 'config'], { cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /image: busybox:from-env-file$/m, args.join(' '));
  }
});

test('a missing --env-file is Flotilla\'s error, in either form', (t) => {
  const dir = projectDir(t, FILES);
  for (const args of [['--env-file', 'nope.env'], ['--env-file=nope.env']]) {
    assertCleanError(flotilla([...args, 'config'], { cwd: dir }), /^ERROR: .*env file \S*nope\.env does not exist$/m);
  }
});

test('--env-file after the command is an unknown option of the command, whatever it names', (t) => {
  const dir = projectDir(t, FILES);
  for (const args of [['--env-file', 'nope.env'], ['--env-file=nope.env'], ['--env-file', '/dev/zero'], ['--env-file=/dev/zero']]) {
    const r = flotilla(['config', ...args], { cwd: dir, timeoutMs: 10_000 });
    assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^ERROR: unknown option '--env-file/);
  }
});

test('arguments that start with "--env-file" or a backslash reach Flotilla as written', (t) => {
  const dir = projectDir(t, {
    '--env-file=dashes.yml': 'services:\n  dashes:\n    image: x\n',
    '\\back.yml': 'services:\n  one:\n    image: x\n',
    '\\\\two.yml': 'services:\n  two:\n    image: x\n',
  });
  for (const [file, service] of [['--env-file=dashes.yml', 'dashes'], ['\\back.yml', 'one'], ['\\\\two.yml', 'two']]) {
    const r = flotilla(['-f', file as string, 'config', '--services'], { cwd: dir });
    assert.deepEqual([r.status, r.stdout], [0, `${service}\n`], `${file}: ${r.stderr}`);
  }
  assertCleanError(flotilla(['-f', '\\missing.yml', 'config'], { cwd: dir }), /Compose file \S*\/\\missing\.yml does not exist/);
});
