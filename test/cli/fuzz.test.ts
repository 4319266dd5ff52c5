/**
 * The guard that stays: a few hundred mutations of the example project and of the test seeds, run
 * through the executable with the `config` variants (YAML, JSON, hashes, names, no interpolation).
 * Every run must exit 0 or 1, print no stack trace and use under 5 s of CPU time (a guard against
 * runaway work with a wide margin, not a speed check: CPU time, because a busy machine stretches
 * wall time many times over); a run blocked for a minute is a hang. Seeded: FUZZ_SEED and
 * FUZZ_RUNS reproduce a failure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FLOTILLA, ROOT } from '../helpers/cli.js';
import { documents, pick, prng, SEEDS, SUPPORT_FILES } from '../helpers/fuzz.js';
import { projectDir } from '../helpers/tmp.js';

const seed = Number(process.env['FUZZ_SEED'] ?? 20261207);
const runs = Number(process.env['FUZZ_RUNS'] ?? 300);
const CPU_LIMIT_MS = 5000;
const HANG_MS = 60_000;
const TICK_MS = 10; // /proc reports CPU time in clock ticks of 10 ms (USER_HZ 100)

const VARIANTS = [
  ['config'],
  ['config', '--format', 'json'],
  ['config', '--hash', '*'],
  ['config', '--services'],
  ['config', '--no-interpolate'],
  ['config', '-q'],
  ['--env-file', 'a.env', 'config'],
  ['--profile', 'x', 'config', '--volumes'],
];

interface Outcome {
  status: number | null;
  stderr: string;
  /** CPU time (user + system) last seen in /proc, and whether the run was killed as a hang. */
  cpuMs: number;
  hung: boolean;
}

/** CPU time of a running process so far, from /proc/PID/stat (fields 14 and 15, after the name). */
async function cpuTime(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return undefined;
  }
}

function runCli(args: string[], cwd: string, input: string): Promise<Outcome> {
  return new Promise((resolve) => {
    // The executable's shell line execs Node, so the process keeps its pid.
    const child = spawn(FLOTILLA, args, {
      cwd,
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: cwd, LANG: 'C.UTF-8', FLOTILLA_ENGINE: 'docker' },
    });
    let stderr = '';
    let cpuMs = 0;
    let hung = false;
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.resume();
    const sample = setInterval(() => {
      if (child.pid !== undefined) void cpuTime(child.pid).then((ms) => (cpuMs = Math.max(cpuMs, ms ?? 0)));
      // Past the limit it is already a failure: stop it rather than let it run on.
      if (cpuMs > CPU_LIMIT_MS) child.kill('SIGKILL');
    }, 50);
    const hang = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, HANG_MS);
    child.on('close', (status) => {
      clearInterval(sample);
      clearTimeout(hang);
      resolve({ status, stderr, cpuMs, hung });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}

test(`the executable on ${runs} fuzzed projects: exit 0 or 1, no stack trace, under 5 s of CPU each (seed ${seed})`, async (t) => {
  const dir = projectDir(t, { ...SUPPORT_FILES, 'www/index.html': 'hi\n' });
  execFileSync('mkfifo', [join(dir, 'fifo')]);
  const example = readFileSync(join(ROOT, 'examples', 'hello', 'compose.yaml'), 'utf8');
  const docs = documents(seed, runs, [example, example, ...SEEDS]);
  const rand = prng(seed);
  const jobs = docs.map((text, i) => ({ i, text, args: ['-f', '-', ...pick(rand, VARIANTS)] }));
  const failures: string[] = [];
  const counts = { 0: 0, 1: 0 } as Record<number, number>;
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const job = jobs[next++] as (typeof jobs)[number];
      const r = await runCli(job.args, dir, job.text);
      const problem =
        r.hung ? `no exit after ${HANG_MS / 1000} s` :
        r.cpuMs > CPU_LIMIT_MS ? `${r.cpuMs} ms of CPU time` :
        r.status !== 0 && r.status !== 1 ? `exit ${String(r.status)}` :
        /^\s+at .+:\d+:\d+\)?$/m.test(r.stderr) || /internal error/.test(r.stderr) ? 'a stack trace or internal error' : undefined;
      if (problem) failures.push(`document ${job.i} (FUZZ_SEED=${seed}), flotilla ${job.args.join(' ')}: ${problem}\n${r.stderr.slice(0, 2000)}\n--- input ---\n${job.text.slice(0, 4000)}`);
      else counts[r.status as number] = (counts[r.status as number] ?? 0) + 1;
    }
  };
  await Promise.all([worker(), worker(), worker()]);
  assert.deepEqual(failures, []);
  // Both outcomes must occur, or the generator is not exercising anything.
  assert.ok((counts[0] ?? 0) > runs / 20 && (counts[1] ?? 0) > runs / 10, `exit 0: ${counts[0]}, exit 1: ${counts[1]}`);
});
