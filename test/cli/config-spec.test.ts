// `config` on version-less files, golden output of the Compose Specification keys Compose v2 reads.
// docker compose v2 is not installable here: expected output is written from the Specification and
// compose-go's loader (the file for each rule is named in the test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertCleanError, flotilla } from '../helpers/cli.js';
import { projectDir } from '../helpers/tmp.js';

// The version line is docker-compose 1.29.2's for version-less files, kept for every version-less file.
const GOLDEN_NAMED = 'name: shop\nservices:\n  web:\n    image: x\nversion: "3.9"\n';

test('config prints a declared top-level name first (compose-go loader.go projectName); none is printed otherwise', (t) => {
  const dir = projectDir(t, {
    'compose.yaml': 'name: "${APP:-Shop}"\nservices:\n  web:\n    image: x\n',
    'plain.yaml': 'services:\n  web:\n    image: x\n',
  });
  const r = flotilla(['config'], { cwd: dir });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, GOLDEN_NAMED);
  assert.match(r.stdout, /^name: shop\n/);
  const p = flotilla(['-p', 'Given', 'config'], { cwd: dir });
  assert.match(p.stdout, /^name: given\n/);
  const plain = flotilla(['-f', 'plain.yaml', 'config'], { cwd: dir });
  assert.doesNotMatch(plain.stdout, /^name:/m);
});

test('--env-file is repeatable: later files win (compose-go dotenv GetEnvFromFile)', (t) => {
  const dir = projectDir(t, {
    'compose.yaml': 'services:\n  web:\n    image: "${IMG}:${TAG}"\n',
    'a.env': 'IMG=a\nTAG=1\n',
    'b.env': 'TAG=2\n',
  });
  const r = flotilla(['--env-file', 'a.env', '--env-file', 'b.env', 'config', '--format', 'json'], { cwd: dir });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).services.web.image, 'a:2');
  assertCleanError(flotilla(['--env-file', 'a.env', '--env-file', 'nope.env', 'config'], { cwd: dir }), /nope\.env/);
});

test('config --networks, --images (image, else the name a build is tagged with)', (t) => {
  const dir = projectDir(t, {
    'compose.yaml':
      'services:\n  web:\n    image: nginx:1\n    networks: [front]\n  app:\n    build: .\n    networks: [front, back]\nnetworks:\n  front: {}\n  back: {}\n',
    Dockerfile: 'FROM scratch\n',
  }, 'shop');
  assert.equal(flotilla(['config', '--networks'], { cwd: dir }).stdout, 'front\nback\n');
  assert.equal(flotilla(['config', '--images'], { cwd: dir }).stdout, 'nginx:1\nshop_app\n');
});

test('config --variables: every variable of the files\' values, with default, alternative and required (compose-go template/variables.go)', (t) => {
  const dir = projectDir(t, {
    'compose.yaml':
      'services:\n  web:\n    image: "${IMG:-nginx}:${TAG?tag needed}"\n    command: echo $$NOT_A_VAR ${X:+on} $PLAIN\n    environment:\n      A: "${OUTER:-${INNER-in}}"\n',
  });
  const table = flotilla(['config', '--variables'], { cwd: dir, env: { TAG: '1' } });
  assert.equal(table.status, 0, table.stderr);
  const pad = (s: string) => s.padEnd(20);
  const row = (a: string, b: string, c: string, d: string) => `${pad(a)}${pad(b)}${pad(c)}${d}`;
  assert.equal(
    table.stdout,
    [
      row('NAME', 'REQUIRED', 'DEFAULT VALUE', 'ALTERNATE VALUE'),
      row('IMG', 'false', 'nginx', ''),
      row('INNER', 'false', 'in', ''),
      row('OUTER', 'false', '${INNER-in}', ''),
      row('PLAIN', 'false', '', ''),
      row('TAG', 'true', '', ''),
      row('X', 'false', '', 'on'),
    ].join('\n') + '\n',
  );
  const json = JSON.parse(flotilla(['config', '--variables', '--format', 'json'], { cwd: dir, env: { TAG: '1' } }).stdout);
  assert.deepEqual(json.TAG, { Name: 'TAG', DefaultValue: '', PresenceValue: '', Required: true });
  assert.equal(Object.keys(json).length, 6);
});

test('config --environment: each variable with where its value came from, and the used ones nothing sets', (t) => {
  const dir = projectDir(t, {
    'compose.yaml': 'services:\n  web:\n    image: "${IMG}:${TAG:-latest}"\n    command: ["${MISSING}"]\n',
    '.env': '# comment\nIMG=fromdotenv\nSHELLWINS=file\n',
    'one.env': 'IMG=fromone\n',
  });
  const r = flotilla(['config', '--environment'], { cwd: dir, env: { SHELLWINS: 'shell' } });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n').filter((l) => /^(IMG|TAG|MISSING|SHELLWINS)=/.test(l));
  assert.deepEqual(lines, [
    'IMG=fromdotenv  # .env .env:2',
    'MISSING=  # not set (used in compose.yaml:4)',
    'SHELLWINS=shell  # shell',
    'TAG=latest  # default in compose.yaml:3',
  ]);
  const withFile = flotilla(['--env-file', 'one.env', 'config', '--environment', '--format', 'json'], { cwd: dir, env: {} });
  const img = (JSON.parse(withFile.stdout) as { name: string }[]).find((e) => e.name === 'IMG');
  assert.deepEqual(img, { name: 'IMG', value: 'fromone', source: 'env-file', file: 'one.env', line: 1 });
});

test('config -o FILE writes the document whole to the file; an unwritable path is a one-line error', (t) => {
  const dir = projectDir(t, { 'compose.yaml': 'services:\n  web:\n    image: x\n' });
  const r = flotilla(['config', '-o', 'out.yaml'], { cwd: dir });
  assert.deepEqual([r.status, r.stdout], [0, '']);
  assert.equal(readFileSync(join(dir, 'out.yaml'), 'utf8'), 'services:\n  web:\n    image: x\nversion: "3.9"\n');
  assertCleanError(flotilla(['config', '-o', 'no/such/dir/out.yaml'], { cwd: dir }), /cannot write .*no\/such\/dir\/out\.yaml: ENOENT/);
  assert.deepEqual(readdirSync(dir).sort(), ['compose.yaml', 'out.yaml']);
});
