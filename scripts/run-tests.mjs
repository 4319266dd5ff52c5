// Runs the test suite: every dist/test/**/*.test.js with node's test runner. Unit tests run in
// parallel; files under test/e2e (they share dockerd) and test/embedded (each runs a daemon with
// its containers) run one at a time.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const testRoot = join(root, 'dist', 'test');

function find(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...find(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const only = process.argv.slice(2);
const all = find(testRoot).filter((f) => only.length === 0 || only.some((o) => relative(root, f).includes(o)));
const serial = all.filter((f) => ['e2e', 'embedded'].some((d) => f.includes(`${join('dist', 'test', d)}/`)));
const parallel = all.filter((f) => !serial.includes(f));

let failed = false;
for (const [files, concurrency] of [[parallel, 2], [serial, 1]]) {
  if (files.length === 0) continue;
  const r = spawnSync(process.execPath, ['--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files], {
    stdio: 'inherit',
    cwd: root,
  });
  if (r.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
