/** `flotilla version` as Compose v2 prints its own: plain, `--short`, `--format json`. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, assertCleanError, assertOk, flotilla } from '../helpers/cli.js';
import { projectDir } from '../helpers/tmp.js';

test('version: plain, --short, --format json; no Compose file or engine needed', (t) => {
  const cwd = projectDir(t, {});
  const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  // A COMPOSE_FILE that does not exist and an engine that cannot be reached change nothing.
  const env = { COMPOSE_FILE: 'missing.yml', DOCKER_HOST: 'unix:///nonexistent.sock' };
  assert.equal(assertOk(flotilla(['version'], { cwd, env })).stdout, `flotilla version ${version}\n`);
  assert.equal(assertOk(flotilla(['version', '--short'], { cwd, env })).stdout, `${version}\n`);
  assert.equal(assertOk(flotilla(['version', '--format', 'json'], { cwd, env })).stdout, `{"version":"${version}"}\n`);
  assert.equal(assertOk(flotilla(['version', '-f', 'JSON'], { cwd, env })).stdout, `{"version":"${version}"}\n`);
  assert.equal(assertOk(flotilla(['--version'], { cwd, env })).stdout, `flotilla version ${version}\n`);
  assertCleanError(flotilla(['version', '--format', 'xml'], { cwd, env }), /--format must be pretty or json/);
});
