// Runs the test suite: every dist/test/**/*.test.js with node's test runner. Unit tests run in
// parallel; files under test/e2e (they share dockerd), test/embedded (each runs a daemon with
// its containers), test/swarm (each makes a swarm of dockerds: two at once would starve each
// other on two cores) and the dockerd contract runs run one at a time.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
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
// The two runs of the Engine contract on dockerd (direct, and through the embedded engine's wire)
// build and remove images: at once, one's cleanup can delete a layer the other's build is using.
const ONE_AT_A_TIME = [join('dist', 'test', 'engine', 'docker.test.js'), join('dist', 'test', 'engine', 'embedded', 'contract-docker.test.js')];
const serial = all.filter((f) => ['e2e', 'embedded', 'swarm'].some((d) => f.includes(`${join('dist', 'test', d)}/`)) || ONE_AT_A_TIME.some((o) => f.endsWith(o)));
const parallel = all.filter((f) => !serial.includes(f));

// These e2e files run a second time on the embedded engine (FLOTILLA_E2E_ENGINE, see test/e2e/lib.ts);
// the others still look at results with the docker CLI.
const ON_BOTH = ['attached', 'commands', 'deps', 'faults', 'lifecycle', 'logs', 'order', 'scale', 'spec-runtime', 'up-down', 'watch'].map((n) => join('dist', 'test', 'e2e', `${n}.test.js`));
const onEmbedded = serial.filter((f) => ON_BOTH.some((b) => f.endsWith(b)));

let failed = false;
// Each file's wall time, to print the slowest at the end (scripts/file-times-reporter.mjs); kept in
// dist/ so that a run killed by a timeout leaves nothing in /tmp.
const timesDir = mkdtempSync(join(testRoot, '..', '.test-times-'));
const times = [];
for (const [phase, [files, concurrency, env]] of [[parallel, 2, {}], [serial, 1, {}], [onEmbedded, 1, { FLOTILLA_E2E_ENGINE: 'embedded' }]].entries()) {
  if (files.length === 0) continue;
  if (env.FLOTILLA_E2E_ENGINE) console.log(`\n# e2e again on the embedded engine: ${files.map((f) => relative(root, f)).join(' ')}`);
  const timesFile = join(timesDir, `${phase}.tsv`);
  const reporters = ['--test-reporter=spec', '--test-reporter-destination=stdout', `--test-reporter=${join(root, 'scripts', 'file-times-reporter.mjs')}`, `--test-reporter-destination=${timesFile}`];
  const r = spawnSync(process.execPath, ['--test', `--test-concurrency=${concurrency}`, ...reporters, ...files], {
    stdio: 'inherit',
    cwd: root,
    env: { ...process.env, ...env },
  });
  if (r.status !== 0) failed = true;
  const suffix = env.FLOTILLA_E2E_ENGINE ? ' (embedded)' : '';
  try {
    for (const line of readFileSync(timesFile, 'utf8').split('\n').filter(Boolean)) {
      const [ms, file] = line.split('\t');
      times.push({ ms: Number(ms), file: `${relative(join(root, 'dist'), file).replace(/\.js$/, '.ts')}${suffix}` });
    }
  } catch {
    // the runner wrote nothing (it failed before any file ran)
  }
}
rmSync(timesDir, { recursive: true, force: true });
const slowest = times.sort((a, b) => b.ms - a.ms).slice(0, 15);
if (slowest.length > 1) {
  console.log(`\n# the ${slowest.length} slowest test files (wall time; ${times.length} files):`);
  for (const t of slowest) console.log(`# ${(t.ms / 1000).toFixed(1).padStart(7)} s  ${t.file}`);
}
process.exit(failed ? 1 : 0);
