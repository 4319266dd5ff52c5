// `${COMPOSE_PROJECT_NAME}` in a version-less file is the project's name, as Compose v2 sets it
// before interpolating (compose-go loader/loader.go projectName: the name settled on, from -p or
// COMPOSE_PROJECT_NAME, else the files' `name`, else the directory, is put into the environment).
// Versioned files keep docker-compose 1.29.2's reading: the variable is what the shell has.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { basename } from 'node:path';
import { flotilla } from '../helpers/cli.js';
import { projectDir } from '../helpers/tmp.js';

const SERVICE = 'services:\n  web:\n    image: busybox\n    container_name: ${COMPOSE_PROJECT_NAME}-web\n    environment:\n      PROJ: $COMPOSE_PROJECT_NAME\n';
const golden = (name: string, top = '') =>
  `${top}services:\n  web:\n    container_name: ${name}-web\n    environment:\n      PROJ: ${name}\n    image: busybox\nversion: "3.9"\n`;

test('version-less: the name from the file, -p, COMPOSE_PROJECT_NAME or the directory', (t) => {
  const dir = projectDir(t, {
    'compose.yaml': `name: My_App\n${SERVICE}`,
    'noname.yaml': SERVICE,
    'second.yaml': 'name: other\nservices:\n  web:\n    labels:\n      p: ${COMPOSE_PROJECT_NAME}\n',
  });
  const config = (args: string[], env: Record<string, string> = {}) => {
    const r = flotilla([...args, 'config'], { cwd: dir, env });
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /COMPOSE_PROJECT_NAME/, 'no "variable is not set" warning');
    return r.stdout;
  };
  assert.equal(config([]), golden('my_app', 'name: my_app\n'));
  assert.equal(config(['-p', 'given']), golden('given', 'name: given\n'));
  assert.equal(config([], { COMPOSE_PROJECT_NAME: 'fromenv' }), golden('fromenv', 'name: fromenv\n'));
  const dirName = basename(dir).toLowerCase().replace(/[^-_a-z0-9]/g, '');
  assert.equal(config(['-f', 'noname.yaml']), golden(dirName));
  // The last file's name wins, and the first file is interpolated with it too.
  assert.equal(
    config(['-f', 'compose.yaml', '-f', 'second.yaml']),
    `name: other\nservices:\n  web:\n    container_name: other-web\n    environment:\n      PROJ: other\n    image: busybox\n    labels:\n      p: other\nversion: "3.9"\n`,
  );
  // Standard input is read once even when the file is interpolated again.
  const r = flotilla(['-f', '-', 'config'], { cwd: dir, env: {}, input: `name: piped\n${SERVICE}` });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, golden('piped', 'name: piped\n'));
});

test('a "3.8" file keeps 1.29.2\'s reading: unset is blank, with its warning', (t) => {
  const dir = projectDir(t, { 'docker-compose.yml': `version: "3.8"\n${SERVICE}` });
  const r = flotilla(['-p', 'given', 'config'], { cwd: dir, env: {} });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /The COMPOSE_PROJECT_NAME variable is not set/);
  assert.equal(r.stdout, 'services:\n  web:\n    container_name: "-web"\n    environment:\n      PROJ: ""\n    image: busybox\nversion: "3.8"\n');
});
