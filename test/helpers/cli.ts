/** Runs the built `flotilla` executable, as a user would. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const FLOTILLA = join(ROOT, 'bin', 'flotilla.js');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function flotilla(args: string[], options: { cwd: string; env?: Record<string, string>; input?: string; timeoutMs?: number }): CliResult {
  const r = spawnSync(FLOTILLA, args, {
    cwd: options.cwd,
    // Docker unless a test says otherwise: a test must never start the machine's own embedded daemon.
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: options.cwd, LANG: 'C.UTF-8', FLOTILLA_ENGINE: 'docker', ...options.env },
    input: options.input ?? '',
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 30_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** One clean error: exit 1, every stderr line starts with ERROR: or WARNING:, and no stack trace. */
export function assertCleanError(r: CliResult, pattern: RegExp): void {
  assert.equal(r.status, 1, `exit status (stderr: ${r.stderr})`);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trimEnd().split('\n');
  for (const line of lines) assert.match(line, /^(ERROR|WARNING): /, `unexpected output line: ${line}`);
  assert.ok(!/\n\s+at /.test(r.stderr), 'no stack trace');
  assert.match(r.stderr, pattern);
}

/** The run exited 0; otherwise the assertion shows its exit status and both outputs. */
export function assertOk(r: CliResult): CliResult {
  assert.equal(r.status, 0, `exit ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

/** One JSON object per line, as `--format json` prints lists. */
export function jsonLines(text: string): Record<string, string>[] {
  return text.trim() === '' ? [] : text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
}
