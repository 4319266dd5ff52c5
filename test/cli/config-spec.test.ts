// `config` on version-less files, golden output of the Compose Specification keys Compose v2 reads.
// docker compose v2 is not installable here: expected output is written from the Specification and
// compose-go's loader (the file for each rule is named in the test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
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
