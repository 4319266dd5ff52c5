/**
 * `flotilla stack config` and `stack deploy` through the executable (no swarm needed): a stack
 * reads no .env file unless --env-file names one (repeatable, a later file wins), the shell's
 * variables win over the files', and broken input is one located error. (Compared with
 * `docker stack config` in test/swarm/single-node.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { load as parseYaml } from 'js-yaml';
import { assertCleanError, flotilla } from '../helpers/cli.js';
import { projectDir } from '../helpers/tmp.js';

function imageOf(stdout: string): unknown {
  return (parseYaml(stdout) as { services: Record<string, { image?: unknown }> }).services['web']?.image;
}

test('stack config: no .env unless --env-file names one; several are read in order, a later one wins; the shell wins over them', (t) => {
  const dir = projectDir(t, {
    'stack.yml': 'version: "3.8"\nservices:\n  web:\n    image: "busybox:${TAG:-none}"\n',
    '.env': 'TAG=from-dotenv\n',
    'vars.env': 'TAG=from-env-file\n',
    'later.env': 'TAG=later\n',
  });
  const plain = flotilla(['stack', 'config', '-c', 'stack.yml'], { cwd: dir });
  assert.equal(plain.status, 0, plain.stderr);
  assert.equal(imageOf(plain.stdout), 'busybox:none');
  const fromFile = flotilla(['stack', 'config', '-c', 'stack.yml', '--env-file', 'vars.env'], { cwd: dir });
  assert.equal(fromFile.status, 0, fromFile.stderr);
  assert.equal(imageOf(fromFile.stdout), 'busybox:from-env-file');
  const shell = flotilla(['stack', 'config', '-c', 'stack.yml', '--env-file', 'vars.env'], { cwd: dir, env: { TAG: 'shell' } });
  assert.equal(imageOf(shell.stdout), 'busybox:shell');
  const both = flotilla(['stack', 'config', '-c', 'stack.yml', '--env-file', 'vars.env', '--env-file', 'later.env'], { cwd: dir });
  assert.equal(both.status, 0, both.stderr);
  assert.equal(imageOf(both.stdout), 'busybox:later');
  const reversed = flotilla(['stack', 'config', '-c', 'stack.yml', '--env-file', 'later.env', '--env-file', 'vars.env'], { cwd: dir });
  assert.equal(imageOf(reversed.stdout), 'busybox:from-env-file');
});

test('stack deploy reads every --env-file before it asks the swarm: a missing second one is a located error', (t) => {
  const dir = projectDir(t, {
    'stack.yml': 'version: "3.8"\nservices:\n  web:\n    image: "busybox:${TAG}"\n',
    'vars.env': 'TAG=one\n',
  });
  // No swarm at this address: the error names the env file, so the files were read first.
  const env = { DOCKER_HOST: `unix://${dir}/no-such.sock` };
  const missing = flotilla(['stack', 'deploy', '--dry-run', '-c', 'stack.yml', '--env-file', 'vars.env', '--env-file', 'nope.env', 'st'], { cwd: dir, env });
  assertCleanError(missing, /^ERROR: nope\.env: env file .*nope\.env does not exist$/m);
});

test('stack config: a missing --env-file and a key stack deploy refuses are located errors', (t) => {
  const dir = projectDir(t, {
    'stack.yml': 'version: "3.8"\nservices:\n  web:\n    image: x\n',
    'bad.yml': 'version: "3.8"\nservices:\n  web:\n    image: x\n    mem_limit: 1g\n',
  });
  assertCleanError(flotilla(['stack', 'config', '-c', 'stack.yml', '--env-file', 'nope.env'], { cwd: dir }), /^ERROR: nope\.env: env file .*nope\.env does not exist$/m);
  assertCleanError(flotilla(['stack', 'config', '-c', 'bad.yml'], { cwd: dir }), /^ERROR: bad\.yml:5:5: services\.web\.mem_limit: "mem_limit" is not supported by stack deploy/m);
});
