/**
 * Tests that need a real dockerd (and docker-compose, the reference) call requireDocker(t). In CI
 * (FLOTILLA_CI=1, set by .ci/run) a missing engine fails the test; elsewhere the test is skipped
 * with a message saying how to run it.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { TestContext } from 'node:test';

// These ask whether the tools are there, not how fast they are. Running `docker-compose version` took
// 20-90+ s at load 35-50 (a CI run beside other suites), and the check failed whole e2e files; so
// docker-compose is looked up on PATH (the tests that run it report its own failures), and dockerd's
// answer gets a timeout that only a hang reaches.
let available: boolean | undefined;
let composeAvailable: boolean | undefined;

/** docker-compose, the reference, is an executable on PATH (looked up once per process). */
export function dockerComposeAvailable(): boolean {
  composeAvailable ??= (process.env['PATH'] ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir || '.', 'docker-compose'), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
  return composeAvailable;
}

export function dockerAvailable(): boolean {
  if (available === undefined) {
    available =
      existsSync('/var/run/docker.sock') &&
      spawnSync('docker', ['version', '--format', '{{.Server.Version}}'], { encoding: 'utf8', timeout: 300_000 }).status === 0 &&
      dockerComposeAvailable();
  }
  return available;
}

/** Returns false (after marking the test skipped) when the engine is missing outside CI. */
export function requireDocker(t: TestContext): boolean {
  if (dockerAvailable()) return true;
  if (process.env['FLOTILLA_CI'] === '1') {
    throw new Error('dockerd and docker-compose are required in CI (.ci/run starts dockerd)');
  }
  t.skip('needs a running dockerd and docker-compose (sudo scripts/install-deps; sudo dockerd &)');
  return false;
}
