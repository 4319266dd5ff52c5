// `include` in version-less files: golden `config` output written from the Compose Specification
// (include.md) and compose-go's loader (loader/include.go: ApplyInclude, importResources; the
// conflict rule is the one since compose-go 3d3411d, Nov 2025: the including file's definition is
// merged over the included one). docker compose v2 is not installable here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertCleanError, assertOk, flotilla } from '../helpers/cli.js';
import { projectDir } from '../helpers/tmp.js';

test('include: short and long form, own .env, env_file, project_directory, paths relative to the included project', (t) => {
  const dir = projectDir(t, {
    'compose.yaml': [
      'include:',
      '  - sub/compose.yaml',
      '  - path: [other/db.yaml, other/db.override.yaml]',
      '    env_file: other/custom.env',
      '  - path: lib/cache.yaml',
      '    project_directory: shared',
      'services:',
      '  web:',
      '    image: web:${TAG}',
      '    depends_on: [db, api, cache]',
      '',
    ].join('\n'),
    '.env': 'TAG=main\nSUBTAG=from-main-env\n',
    'sub/compose.yaml': 'services:\n  api:\n    image: api:${SUBTAG}-${OWN}\n    volumes: [./data:/data]\n    env_file: ./api.env\nsecrets:\n  token: {file: ./token.txt}\n',
    'sub/.env': 'SUBTAG=ignored\nOWN=sub\n',
    'sub/api.env': 'A=1\n',
    'other/db.yaml': 'services:\n  db:\n    image: db:${DBTAG}\n',
    'other/db.override.yaml': 'services:\n  db:\n    command: [run]\n',
    'other/custom.env': 'DBTAG=9\n',
    'other/.env': 'DBTAG=not-read\n',
    'lib/cache.yaml': 'services:\n  cache:\n    image: cache\n    volumes: [./state:/state]\nvolumes:\n  cachevol: {}\n',
  });
  const r = assertOk(flotilla(['config'], { cwd: dir }));
  assert.equal(
    r.stdout,
    [
      'secrets:',
      '  token:',
      `    file: ${dir}/sub/token.txt`,
      'services:',
      '  api:',
      '    environment:',
      '      A: "1"',
      // The including project's variables win over the included project's own .env.
      '    image: api:from-main-env-sub',
      '    volumes:',
      `    - ${dir}/sub/data:/data:rw`,
      '  cache:',
      '    image: cache',
      '    volumes:',
      `    - ${dir}/shared/state:/state:rw`,
      '  db:',
      '    command:',
      '    - run',
      '    image: db:9',
      '  web:',
      '    depends_on:',
      '      api:',
      '        condition: service_started',
      '      cache:',
      '        condition: service_started',
      '      db:',
      '        condition: service_started',
      '    image: web:main',
      'version: "3.9"',
      'volumes:',
      '  cachevol: {}',
      '',
    ].join('\n'),
  );
});

test('include: a service the including file also defines is merged over the included one, as an override file is', (t) => {
  const dir = projectDir(t, {
    'compose.yaml': 'include: [inc.yaml]\nservices:\n  db:\n    environment: [B=2]\n    ports: ["5433:5432"]\nnetworks:\n  back: {driver: overlay}\n',
    'inc.yaml': 'services:\n  db:\n    image: db\n    environment: [A=1, B=1]\n    pull_policy: always\nnetworks:\n  back: {driver: bridge, internal: true}\n',
  });
  const out = JSON.parse(assertOk(flotilla(['config', '--format', 'json'], { cwd: dir })).stdout);
  assert.deepEqual(out.services.db, {
    environment: { A: '1', B: '2' },
    image: 'db',
    ports: [{ target: 5432, published: 5433 }],
    pull_policy: 'always',
  });
  // A network, volume, secret or config is replaced whole by a later definition (1.29.2's rule for -f files).
  assert.deepEqual(out.networks.back, { driver: 'overlay' });
});

test('include: an override file can change an included service; extends finds a service of an included file', (t) => {
  const dir = projectDir(t, {
    'compose.yaml': 'include: [lib/base.yaml]\nservices:\n  app:\n    extends: base\n    command: [serve]\n',
    'compose.override.yaml': 'services:\n  base:\n    environment: [OVERRIDDEN=1]\n',
    'lib/base.yaml': 'services:\n  base:\n    image: base\n    volumes: [./conf:/conf]\n  other:\n    extends: base\n    user: nobody\n',
  });
  const out = JSON.parse(assertOk(flotilla(['config', '--format', 'json'], { cwd: dir })).stdout);
  assert.deepEqual(out.services.base, { environment: { OVERRIDDEN: '1' }, image: 'base', volumes: [`${dir}/lib/conf:/conf:rw`] });
  assert.deepEqual(out.services.app, { command: ['serve'], image: 'base', volumes: [`${dir}/lib/conf:/conf:rw`] });
  assert.deepEqual(out.services.other, { image: 'base', user: 'nobody', volumes: [`${dir}/lib/conf:/conf:rw`] });
});

test('include: cycles, missing files and env files, v1 files and bad entries are one-line located errors', (t) => {
  const dir = projectDir(t, {
    'cycle.yaml': 'include: [a/one.yaml]\nservices:\n  x: {image: x}\n',
    'a/one.yaml': 'include: [../b/two.yaml]\nservices:\n  y: {image: y}\n',
    'b/two.yaml': 'include: [../cycle.yaml]\nservices:\n  z: {image: z}\n',
    'missing.yaml': 'services:\n  x: {image: x}\ninclude:\n  - nothere.yaml\n',
    'envmissing.yaml': 'include:\n  - path: inc.yaml\n    env_file: nothere.env\n',
    'inc.yaml': 'services:\n  i: {image: i}\n',
    'v1.yaml': 'include: [old.yaml]\nservices:\n  x: {image: x}\n',
    'old.yaml': 'web:\n  image: old\n',
    'badkey.yaml': 'include:\n  - path: inc.yaml\n    file: x\n',
    'versioned.yaml': 'version: "3.8"\ninclude: [inc.yaml]\nservices:\n  x: {image: x}\n',
  });
  assertCleanError(flotilla(['-f', 'cycle.yaml', 'config'], { cwd: dir }), new RegExp(`b/two\\.yaml:1:\\d+: .*include cycle: ${dir}/cycle\\.yaml includes ${dir}/a/one\\.yaml includes ${dir}/b/two\\.yaml includes ${dir}/cycle\\.yaml`));
  assertCleanError(flotilla(['-f', 'missing.yaml', 'config'], { cwd: dir }), /missing\.yaml:4:5: .*cannot include .*nothere\.yaml/);
  assertCleanError(flotilla(['-f', 'envmissing.yaml', 'config'], { cwd: dir }), /envmissing\.yaml:3:5: .*nothere\.env does not exist/);
  assertCleanError(flotilla(['-f', 'v1.yaml', 'config'], { cwd: dir }), /v1\.yaml:1:\d+: .*old\.yaml: it is a v1 file/);
  assertCleanError(flotilla(['-f', 'badkey.yaml', 'config'], { cwd: dir }), /badkey\.yaml:3:5: /);
  // A versioned file keeps docker-compose 1.29.2's refusal of the key.
  assertCleanError(flotilla(['-f', 'versioned.yaml', 'config'], { cwd: dir }), /versioned\.yaml:2:1: .*include/);
});
