/** Temporary project folders for tests, removed when the test ends (even if it fails). */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { TestContext } from 'node:test';

/** Creates a folder with the given files (path → content) and returns its real path. */
export function projectDir(t: TestContext, files: Record<string, string>, name = 'proj'): string {
  const base = mkdtempSync(join(tmpdir(), 'flotilla-test-'));
  t.after(() => rmSync(base, { recursive: true, force: true }));
  const dir = join(base, name);
  mkdirSync(dir, { recursive: true });
  for (const [path, content] of Object.entries(files)) {
    const full = join(dir, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content);
  }
  return dir;
}
