// Shared helpers for the benchmarks: time whole commands, take medians, print ratios.
import { spawnSync } from 'node:child_process';

/** Wall time of one run in seconds; throws if the command fails (a benchmark of a failure is meaningless). */
export function timeRun(argv, options = {}) {
  const started = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], ...options });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${String(r.stderr).slice(0, 500)}`);
  return seconds;
}

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Runs each command `runs` times, interleaved (so machine load affects both alike), after one warm-up each. */
export function compare(commands, runs, options = {}) {
  const times = commands.map(() => []);
  commands.forEach((c) => timeRun(c.argv, options));
  for (let i = 0; i < runs; i++) commands.forEach((c, j) => times[j].push(timeRun(c.argv, options)));
  return commands.map((c, j) => ({ name: c.name, runs: times[j], median: median(times[j]) }));
}

export function printTable(title, results, baselineName) {
  const base = results.find((r) => r.name === baselineName);
  console.log(`\n${title}`);
  for (const r of results) {
    const ratio = base ? (r.median / base.median).toFixed(3) : '-';
    const all = r.runs.map((t) => t.toFixed(3)).join(' ');
    console.log(`  ${r.name.padEnd(28)} median ${r.median.toFixed(3)} s   ratio ${ratio}   (runs: ${all})`);
  }
}
