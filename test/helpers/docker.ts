/**
 * Tests that need a real dockerd (and docker-compose, the reference) call requireDocker(t). In CI
 * (FLOTILLA_CI=1, set by .ci/run) a missing engine fails the test; elsewhere the test is skipped
 * with a message saying how to run it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { TestContext } from 'node:test';

// Generous timeouts: this asks whether the tools are there, not how fast they are; at load 35 (a CI run
// beside other suites) `docker-compose version` took over 20 s and the check failed two e2e tests.
let available: boolean | undefined;

export function dockerAvailable(): boolean {
  if (available === undefined) {
    available =
      existsSync('/var/run/docker.sock') &&
      spawnSync('docker', ['version', '--format', '{{.Server.Version}}'], { encoding: 'utf8', timeout: 90_000 }).status === 0 &&
      spawnSync('docker-compose', ['version'], { encoding: 'utf8', timeout: 90_000 }).status === 0;
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
