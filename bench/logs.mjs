// Benchmark: `flotilla logs --no-color` against `docker-compose logs --no-color` (1.29.2) on the
// same containers: 5 services that have each printed 20,000 lines (then sleep), made once with
// docker-compose, read by both tools (output to /dev/null), and `docker logs` of the 5 containers
// at once as the engine's own floor. Before timing, each tool's output is read once and checked:
// 100,000 lines, every container's 20,000 lines present, in order, nothing lost or mangled.
//
//   node bench/logs.mjs [--runs N] [--lines N] [--services N] [--flotilla PATH]
//
// Target (flotilla / docker-compose): <= 0.15.
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compare, machineLoad, option, printComparison, projectContainers, removeProject, run, snapshotFlotilla, withCleanup } from './lib.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
// Run as users run it: the executable (bin/flotilla.js, with its code caches). By default a private
// copy of the current build (--flotilla PATH runs another executable).
let FLOTILLA = option('flotilla', undefined);
const runs = Number(option('runs', '5'));
const LINES = Number(option('lines', '20000'));
const SERVICES = Number(option('services', '5'));
const TARGET = 0.15;
const IMAGE = 'busybox:latest';

for (const [name, n] of [['runs', runs], ['lines', LINES], ['services', SERVICES]]) {
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
}

async function ensureImage() {
  try {
    run(['docker', 'image', 'inspect', IMAGE]);
    return;
  } catch {
    // made below
  }
  // No registry is reachable here: the tests' helper makes busybox from Debian's static binary.
  const helper = join(root, 'dist', 'test', 'helpers', 'images.js');
  if (!existsSync(helper)) throw new Error(`${IMAGE} is missing and ${helper} is not built: run node scripts/build.mjs`);
  (await import(helper)).ensureBusybox();
}

const names = Array.from({ length: SERVICES }, (_, i) => `svc${i + 1}`);

function composeFile() {
  let y = 'services:\n';
  for (const s of names) {
    y += `  ${s}:\n    image: ${IMAGE}\n    command: ["sh", "-c", "i=0; while [ $$i -lt ${LINES} ]; do echo line $$i of service; i=$$((i+1)); done; sleep 3600"]\n`;
  }
  return y;
}

/** Waits until every container has written its last line (lines come in order: the last one means all). */
function waitForAllLines(ids) {
  const deadline = Date.now() + 300_000;
  const pending = new Set(ids);
  while (pending.size > 0) {
    for (const id of [...pending]) {
      const last = run(['docker', 'logs', '--tail', '1', id]).trim();
      if (last === `line ${LINES - 1} of service`) pending.delete(id);
    }
    if (pending.size === 0) break;
    if (Date.now() > deadline) throw new Error(`${pending.size} containers have not written their ${LINES} lines after 5 minutes`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 250);
  }
}

/**
 * Checks a `logs --no-color` output: `<service>_1  | line N of service` lines, each container's
 * N running 0..LINES-1 in order (docker-compose's `Attaching to` line aside). Returns a description of what is wrong, or null.
 */
function checkPrefixed(tool, output) {
  const seen = new Map();
  const other = [];
  for (const line of output.split('\n')) {
    // docker-compose 1.29.2 starts with one `Attaching to a, b, ...` line.
    if (line === '' || line.startsWith('Attaching to ')) continue;
    const m = /^(\S+)\s+\| line (\d+) of service$/.exec(line);
    if (!m) {
      other.push(line);
      continue;
    }
    const list = seen.get(m[1]) ?? [];
    list.push(Number(m[2]));
    seen.set(m[1], list);
  }
  const problems = [];
  const total = [...seen.values()].reduce((n, l) => n + l.length, 0);
  if (total !== LINES * SERVICES) problems.push(`${total} log lines, expected ${LINES * SERVICES}`);
  for (const s of names) {
    const list = seen.get(`${s}_1`);
    if (!list) {
      problems.push(`no lines of ${s}_1`);
      continue;
    }
    const bad = list.findIndex((n, i) => n !== i);
    if (list.length !== LINES || bad !== -1) problems.push(`${s}_1: ${list.length} lines${bad !== -1 ? `, line ${bad} reads ${list[bad]}` : ''}`);
  }
  if (other.length > 0) problems.push(`${other.length} other lines, first: ${JSON.stringify(other[0])}`);
  return problems.length === 0 ? null : `${tool}: ${problems.join('; ')}`;
}

const dir = mkdtempSync(join(tmpdir(), 'flotilla-bench-logs-'));
const project = `fbench-logs-${process.pid}`;

await withCleanup(
  () => {
    const removed = removeProject(project);
    if (removed.length > 0) console.error(`cleanup: removed ${removed.join(', ')} of ${project}`);
    rmSync(dir, { recursive: true, force: true });
  },
  async () => {
    await ensureImage();
    FLOTILLA ??= snapshotFlotilla(root, dir);
    const file = join(dir, 'docker-compose.yml');
    writeFileSync(file, composeFile());
    // Both tools on dockerd (Flotilla's default engine is its own).
    const env = { PATH: process.env.PATH, HOME: dir, LANG: 'C.UTF-8', FLOTILLA_ENGINE: 'docker' };
    if (process.env.DOCKER_HOST) env.DOCKER_HOST = process.env.DOCKER_HOST;
    const base = ['-p', project, '-f', file];

    console.error(`making ${SERVICES} containers that print ${LINES} lines each (docker-compose up -d)`);
    run(['docker-compose', ...base, 'up', '-d'], { env, cwd: dir });
    const ids = projectContainers(project);
    if (ids.length !== SERVICES) throw new Error(`${ids.length} containers running, expected ${SERVICES}`);
    waitForAllLines(ids);

    const commands = [
      { name: 'flotilla logs', argv: [FLOTILLA, ...base, 'logs', '--no-color'] },
      { name: 'docker-compose logs', argv: ['docker-compose', ...base, 'logs', '--no-color'] },
      // The engine's floor: the Docker CLI reading the 5 logs at once.
      { name: `docker logs (${SERVICES} at once)`, argv: ['sh', '-c', `${ids.map((id) => `docker logs ${id} &`).join(' ')} wait`] },
    ];

    // Nothing lost: each tool's whole output, checked once before the timed runs.
    for (const c of commands.slice(0, 2)) {
      const problem = checkPrefixed(c.name, run(c.argv, { env, cwd: dir }));
      if (problem) throw new Error(problem);
    }
    const floorLines = run(commands[2].argv, { env, cwd: dir }).split('\n').filter((l) => l !== '').length;
    if (floorLines !== LINES * SERVICES) throw new Error(`docker logs: ${floorLines} lines, expected ${LINES * SERVICES}`);
    console.error(`output checked: ${LINES * SERVICES} lines from each tool, every container's lines complete and in order`);

    const before = machineLoad();
    const started = new Date();
    const devnull = openSync('/dev/null', 'w');
    let results;
    try {
      results = compare(commands, runs, { env, cwd: dir, stdio: ['ignore', devnull, 'pipe'] });
    } finally {
      closeSync(devnull);
    }
    printComparison(
      `logs --no-color, ${SERVICES} containers x ${LINES} lines, output to /dev/null: medians of ${runs} runs`,
      results,
      'docker-compose logs',
      { 'flotilla logs': TARGET },
    );
    const flo = results[0];
    const dc = results[1];
    const floor = results[2];
    const ratio = flo.median / dc.median;
    console.log(`\nMarkdown summary (${started.toISOString()}, ${runs} runs; before: ${before}; after: ${machineLoad()})`);
    console.log('| command | flotilla (s) | docker-compose (s) | docker logs (s) | ratio | target | |');
    console.log('|---|---|---|---|---|---|---|');
    console.log(`| logs --no-color | ${flo.median.toFixed(2)} | ${dc.median.toFixed(2)} | ${floor.median.toFixed(2)} | ${ratio.toFixed(3)} | ${TARGET} | ${ratio <= TARGET ? 'met' : 'missed'} |`);
  },
);
