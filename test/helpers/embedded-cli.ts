/**
 * The CLI on a test daemon (./embedded-daemon.ts), for the files that drive it as a user would:
 * `embeddedCli(testDaemon)` runs `flotilla` with the daemon's environment on the embedded engine;
 * `succeeded` asserts a run exited 0 and gives its stdout.
 */
import assert from 'node:assert/strict';
import { flotilla, type CliResult } from './cli.js';
import type { TestDaemon } from './embedded-daemon.js';

export function embeddedCli(daemon: () => TestDaemon | undefined, defaultTimeoutMs = 120_000): (cwd: string, args: string[], timeoutMs?: number) => CliResult {
  return (cwd, args, timeoutMs = defaultTimeoutMs) => {
    const d = daemon();
    assert.ok(d, 'no test daemon (not root?)');
    return flotilla(args, { cwd, env: { ...d.env, FLOTILLA_ENGINE: 'embedded' }, timeoutMs });
  };
}

export function succeeded(r: CliResult, what: string): string {
  assert.equal(r.status, 0, `${what} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}
