/**
 * Every file Flotilla reads is a regular file, standard input (`-f -`) or a pipe whose data is
 * ready (`-f <(command)`): a named pipe nobody writes to, or a device, is one clean error naming
 * the file, never a command that blocks forever.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { assertCleanError, flotilla, FLOTILLA } from '../helpers/cli.js';
import { projectDir } from '../helpers/tmp.js';

/** A project folder with a named pipe `fifo` that nothing ever writes to. */
function withFifo(t: Parameters<typeof projectDir>[0], files: Record<string, string>): string {
  const dir = projectDir(t, files);
  execFileSync('mkfifo', [join(dir, 'fifo')]);
  return dir;
}

const BASE = 'services:\n  web:\n    image: busybox\n';

test('a named pipe with no data is refused wherever a file is named', (t) => {
  const dir = withFifo(t, {
    'compose.yml': BASE,
    'env-file.yml': `${BASE}    env_file: fifo\n`,
    'extends.yml': 'services:\n  web:\n    image: busybox\n    extends:\n      file: fifo\n      service: base\n',
    'seccomp.yml': `${BASE}    security_opt: ["seccomp:fifo"]\n`,
  });
  const cases: [string[], Record<string, string>, RegExp][] = [
    [['-f', 'fifo', 'config'], {}, /^ERROR: fifo: Compose file \S+\/fifo is a pipe with nothing written to it$/m],
    [['config'], { COMPOSE_FILE: 'fifo' }, /^ERROR: fifo: Compose file \S+\/fifo is a pipe with nothing written to it$/m],
    [['--env-file', 'fifo', 'config'], {}, /^ERROR: fifo: env file \S+\/fifo is a pipe with nothing written to it$/m],
    [['-f', 'env-file.yml', 'config'], {}, /^ERROR: env-file\.yml:4:5: services\.web\.env_file\[0\]: env_file \S+\/fifo is a pipe/],
    [['-f', 'extends.yml', 'config'], {}, /^ERROR: extends\.yml:4:5: services\.web\.extends: cannot extend service 'base': Compose file \S+\/fifo is a pipe/],
    [['-f', 'seccomp.yml', 'config'], {}, /^ERROR: seccomp\.yml:4:20: services\.web\.security_opt\[0\]: seccomp profile \S+\/fifo is a pipe/],
    [['config', '--bundle-file', 'fifo'], {}, /^ERROR: fifo: bundle \S+\/fifo is a pipe with nothing written to it$/m],
  ];
  for (const [args, env, pattern] of cases) {
    const r = flotilla(args, { cwd: dir, env, timeoutMs: 15_000 });
    assert.notEqual(r.status, null, `${args.join(' ')} did not finish`);
    assertCleanError(r, pattern);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  }
});

test('devices are refused, and a named pipe as the default .env is left alone as docker-compose does', (t) => {
  const dir = withFifo(t, { 'compose.yml': BASE });
  assertCleanError(flotilla(['-f', '/dev/zero', 'config'], { cwd: dir }), /^ERROR: \/dev\/zero: Compose file \/dev\/zero is a character device, not a regular file$/m);
  assertCleanError(flotilla(['--env-file', '/dev/null', 'config'], { cwd: dir }), /env file \/dev\/null is a character device/);
  execFileSync('mv', [join(dir, 'fifo'), join(dir, '.env')]);
  const r = flotilla(['config', '--services'], { cwd: dir, timeoutMs: 15_000 });
  assert.deepEqual([r.status, r.stdout], [0, 'web\n'], r.stderr);
});

test('a pipe with data is read: -f <(command), --env-file <(command), -f - ', (t) => {
  const dir = projectDir(t, {});
  const r = spawnSync(
    'bash',
    ['-c', `"$0" -f <(printf 'services:\\n  piped:\\n    image: "busybox:\${TAG}"\\n') --env-file <(echo TAG=from-pipe) config`, FLOTILLA],
    { cwd: dir, encoding: 'utf8', timeout: 15_000, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: dir, FLOTILLA_ENGINE: 'docker' } },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /piped:\n\s+image: busybox:from-pipe\n/);
  const stdin = flotilla(['-f', '-', 'config', '--services'], { cwd: dir, input: BASE });
  assert.deepEqual([stdin.status, stdin.stdout], [0, 'web\n']);
});

test('a pipe that stops sending is refused after a short wait, not waited for forever', (t) => {
  const dir = projectDir(t, {});
  const r = spawnSync('bash', ['-c', `"$0" -f <(printf 'services:\\n'; exec sleep 30) config; s=$?; kill $! 2>/dev/null; exit $s`, FLOTILLA], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 30_000,
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: dir, FLOTILLA_ENGINE: 'docker' },
  });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /^ERROR: \/dev\/fd\/\d+: Compose file \/dev\/fd\/\d+ is a pipe that sent nothing for 2 s/);
});

test('image import and image load -i refuse a named pipe at once, before any daemon is asked for', (t) => {
  const dir = withFifo(t, {});
  // A state root of the test's own: were the check late, a daemon would start there (and the root fill).
  const env = { FLOTILLA_ENGINE: 'embedded', FLOTILLA_ROOT: join(dir, 'state') };
  for (const args of [['image', 'import', 'fifo'], ['image', 'import', 'fifo', 'x:1'], ['image', 'load', '-i', 'fifo']]) {
    const r = flotilla(args, { cwd: dir, env, timeoutMs: 15_000 });
    assert.notEqual(r.status, null, `${args.join(' ')} did not finish`);
    assertCleanError(r, /^ERROR: fifo: is a named pipe; give a file, or "-" to read standard input$/m);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  }
  assert.equal(existsSync(join(dir, 'state')), false, 'no daemon was started');
});
