// Benchmark: `extends` at scale. A chain (each service extends the one before) and a star (every
// service extends one base), resolved in-process at several sizes to show the work grows linearly
// (time per service stays flat), then `flotilla config -q` against `docker-compose config -q` on
// a chain of 200 and a star of 500 services (docker-compose stops with a RecursionError on a
// chain of 500).
//   node bench/extends.mjs [--runs N]
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compare, median, option, printTable } from './lib.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const { loadProject } = await import(join(root, 'dist', 'src', 'compose', 'load.js'));
const runs = Number(option('--runs', '7'));

const IMAGE = 'flotilla-bench/busybox:never-pulled';
const chain = (n) =>
  `services:\n  s0:\n    image: ${IMAGE}\n    environment: [A=0]\n` +
  Array.from({ length: n - 1 }, (_, i) => `  s${i + 1}:\n    extends: s${i}\n`).join('');
const star = (n) =>
  `services:\n  base:\n    image: ${IMAGE}\n    environment: [A=0]\n` +
  Array.from({ length: n - 1 }, (_, i) => `  s${i + 1}:\n    extends: base\n    environment: [B=${i}]\n`).join('');

const dir = mkdtempSync(join(tmpdir(), 'flotilla-bench-'));
try {
  for (const [shape, make] of [['chain', chain], ['star', star]]) {
    console.log(`\n${shape}: loadProject in-process, medians of ${runs} runs`);
    let first;
    for (const n of [250, 500, 1000, 2000, 4000]) {
      const cwd = join(dir, `${shape}-${n}`);
      mkdirSync(cwd);
      writeFileSync(join(cwd, 'compose.yml'), make(n));
      const times = [];
      for (let r = 0; r < runs; r++) {
        const started = process.hrtime.bigint();
        loadProject({ cwd, shell: { HOME: dir } });
        times.push(Number(process.hrtime.bigint() - started) / 1e6);
      }
      const ms = median(times);
      first ??= ms / n;
      console.log(`  ${String(n).padStart(5)} services  ${ms.toFixed(1).padStart(8)} ms  ${((ms / n) * 1000).toFixed(0).padStart(5)} us/service  x${(ms / n / first).toFixed(2)} of the 250-service cost per service`);
    }
  }
  const env = { PATH: process.env.PATH, HOME: dir, LANG: 'C.UTF-8' };
  for (const [shape, n] of [['chain', 200], ['star', 500]]) {
    const cwd = join(dir, `${shape}-${n}-cli`);
    mkdirSync(cwd);
    writeFileSync(join(cwd, 'compose.yml'), (shape === 'chain' ? chain : star)(n));
    const results = compare(
      [
        { name: 'flotilla config -q', argv: [join(root, 'bin', 'flotilla.js'), 'config', '-q'] },
        { name: 'docker-compose config -q', argv: ['docker-compose', 'config', '-q'] },
      ],
      Math.max(3, Math.ceil(runs / 2)),
      { cwd, env },
    );
    printTable(`${shape} of ${n} services: medians`, results, 'docker-compose config -q');
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
