/**
 * Tests of the embedded engine need root and the host tools it drives (runc, conmon, ip,
 * iptables, ...). requireRoot(t, tools) returns false after marking the test skipped when one is
 * missing outside CI; in CI (FLOTILLA_CI=1) a missing one fails the test, so nothing is silently
 * skipped there.
 */
import { spawnSync } from 'node:child_process';
import type { TestContext } from 'node:test';

const found = new Map<string, boolean>();

function hasTool(tool: string): boolean {
  let ok = found.get(tool);
  if (ok === undefined) {
    ok = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).status === 0;
    found.set(tool, ok);
  }
  return ok;
}

export const ENGINE_TOOLS = ['runc', 'conmon', 'tini-static', 'ip', 'iptables', 'nsenter', 'unshare', 'mount', 'script'];

export function requireRoot(t: TestContext, tools: readonly string[] = ENGINE_TOOLS): boolean {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root');
  for (const tool of tools) if (!hasTool(tool)) missing.push(tool);
  if (missing.length === 0) return true;
  const why = `needs ${missing.join(', ')} (run as root after sudo scripts/install-deps)`;
  if (process.env['FLOTILLA_CI'] === '1') throw new Error(`${why}: required in CI`);
  t.skip(why);
  return false;
}
