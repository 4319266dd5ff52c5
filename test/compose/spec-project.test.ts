// The version-less Compose Specification as Compose v2 reads it: file discovery, repeated
// --env-file, the top-level `name`. docker compose v2 is not installable here (no image registry,
// no Docker CLI plugin package): the expected results are reasoned from compose-go's source
// (cli/options.go: DefaultFileNames, WithEnvFiles, withNamePrecedenceLoad; dotenv/env.go
// GetEnvFromFile; loader/loader.go projectName, NormalizeProjectName).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadProject, type LoadOptions } from '../../src/compose/load.js';
import { ConfigError } from '../../src/errors.js';
import { projectDir } from '../helpers/tmp.js';

function load(cwd: string, extra: Partial<LoadOptions> = {}) {
  return loadProject({ cwd, shell: { HOME: '/home/u' }, ...extra });
}

test('discovery prefers compose.yaml, then compose.yml, docker-compose.yml, docker-compose.yaml (v2\'s order)', (t) => {
  const all = {
    'compose.yaml': 'services: {a: {image: one}}\n',
    'compose.yml': 'services: {a: {image: two}}\n',
    'docker-compose.yml': 'services: {a: {image: three}}\n',
    'docker-compose.yaml': 'services: {a: {image: four}}\n',
  };
  const dir = projectDir(t, all);
  const loaded = load(dir);
  assert.equal(loaded.project.services[0]?.image, 'one');
  assert.match(loaded.diagnostics.warnings[0]?.message ?? '', /several Compose files .*using compose\.yaml/);
  const older = projectDir(t, { 'docker-compose.yml': all['docker-compose.yml'], 'docker-compose.yaml': all['docker-compose.yaml'] });
  assert.equal(load(older).project.services[0]?.image, 'three');
  const one = projectDir(t, { 'compose.yml': all['compose.yml'], 'docker-compose.override.yaml': 'services: {a: {image: over}}\n' });
  assert.equal(load(one).project.services[0]?.image, 'over');
});

test('repeated --env-file: read in order, a later file wins, a file sees the ones before it; the shell wins over all', (t) => {
  const dir = projectDir(t, {
    'compose.yaml': 'services:\n  a:\n    image: "${IMG}:${TAG}"\n    environment: ["X=${X}"]\n',
    '.env': 'IMG=dotenv\n',
    'one.env': 'IMG=one\nTAG=1\nX=x1\n',
    'two.env': 'TAG=2-${IMG}\n',
  });
  const s = load(dir, { envFile: ['one.env', 'two.env'] }).project.services[0];
  assert.equal(s?.image, 'one:2-one');
  assert.deepEqual(s?.environment, { X: 'x1' });
  const shell = load(dir, { envFile: ['one.env', 'two.env'], shell: { HOME: '/h', TAG: 'sh' } });
  assert.equal(shell.project.services[0]?.image, 'one:sh');
  assert.equal(shell.project.environmentFile, 'one.env,two.env');
  const origin = shell.environment.origin('IMG');
  assert.deepEqual(origin, { kind: 'file', path: join(dir, 'one.env'), line: 1 });
  assert.deepEqual(shell.environment.origin('TAG'), { kind: 'shell' });
  assert.throws(() => load(dir, { envFile: ['one.env', 'missing.env'] }), /missing\.env does not exist/);
});

test('top-level name: used when neither -p nor COMPOSE_PROJECT_NAME is given; the last file\'s wins; normalised', (t) => {
  const dir = projectDir(t, {
    'compose.yaml': 'name: My.App_1\nservices: {a: {image: x}}\n',
    'override.yaml': 'name: "${SECOND:-}"\nservices: {}\n',
    'dashes.yaml': 'name: "--Odd Name"\nservices: {a: {image: x}}\n',
    'empty.yaml': 'name: "!!!"\nservices: {a: {image: x}}\n',
  }, 'dirname');
  const files = (...f: string[]) => ({ files: f });
  assert.equal(load(dir, files('compose.yaml')).project.name, 'myapp_1');
  assert.equal(load(dir, files('compose.yaml', 'override.yaml')).project.name, 'myapp_1', 'an empty name is no name');
  assert.equal(load(dir, { ...files('compose.yaml', 'override.yaml'), shell: { SECOND: 'Two' } }).project.name, 'two');
  assert.equal(load(dir, { ...files('compose.yaml'), shell: { COMPOSE_PROJECT_NAME: 'env' } }).project.name, 'env');
  assert.equal(load(dir, { ...files('compose.yaml'), projectName: 'flag' }).project.name, 'flag');
  assert.equal(load(dir, files('dashes.yaml')).project.name, 'oddname');
  assert.equal(load(dir, files('empty.yaml')).project.name, 'dirname', 'a name normalised to nothing falls back to the directory');
});

test('top-level name is a version-less key: a versioned file keeps docker-compose 1.29.2\'s refusal', (t) => {
  const dir = projectDir(t, {
    'v3.yaml': 'version: "3.8"\nname: app\nservices: {a: {image: x}}\n',
    'number.yaml': 'name: 5\nservices: {a: {image: x}}\n',
  });
  assert.throws(() => load(dir, { files: ['v3.yaml'] }), (e: unknown) => e instanceof ConfigError && /name/.test(e.message) && e.location?.line === 2);
  assert.throws(() => load(dir, { files: ['number.yaml'] }), (e: unknown) => e instanceof ConfigError && e.location?.line === 1);
});
