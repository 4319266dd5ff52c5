// Benchmark of what a spawn by bare name costs the daemon against one by full path (issue 15,
// item 4): `runc --version`, `ip -V` and `mount -V` spawned N times each way, the two ways
// taking turns, from a process holding as much memory as the daemon does (~70 MB: fork copies
// its page tables). Prints the daemon-side figures that matter: wall time per spawn until the
// child exits, and this process's own CPU (the fork and the wait for the child's exec happen on
// its main thread), with the PATH the benchmark runs under (each entry before the tool's
// directory is one failed execve in the child).
//
//   node bench/spawn.mjs [--runs N]
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { machineLoad, median, option } from './lib.mjs';

const runs = Number(option('runs', '200'));
const ballast = Array.from({ length: 64 }, () => Buffer.alloc(1024 * 1024, 1));
const tools = [['runc', '--version'], ['ip', '-V'], ['mount', '-V']];
const dirs = (process.env.PATH ?? '').split(delimiter);
const full = (name) => {
  for (const d of dirs) {
    try {
      accessSync(join(d, name), constants.X_OK);
      return join(d, name);
    } catch {
      // not here
    }
  }
  throw new Error(`${name} not in PATH`);
};

function once(command, args) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const c0 = process.cpuUsage();
    const child = spawn(command, args, { stdio: 'ignore' });
    const spawnCpu = process.cpuUsage(c0);
    child.on('error', reject);
    child.on('close', () => resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, cpuMs: (spawnCpu.user + spawnCpu.system) / 1000 }));
  });
}

const result = { bare: { ms: [], cpuMs: [] }, path: { ms: [], cpuMs: [] } };
console.error(`PATH=${process.env.PATH}`);
const before = machineLoad();
for (let i = 0; i < runs; i++) {
  for (const way of i % 2 === 0 ? ['bare', 'path'] : ['path', 'bare']) {
    for (const [name, arg] of tools) {
      const r = await once(way === 'bare' ? name : full(name), [arg]);
      result[way].ms.push(r.ms);
      result[way].cpuMs.push(r.cpuMs);
    }
  }
}
console.log(`spawn by bare name vs full path, ${runs} x ${tools.map((t) => t[0]).join(', ')} each way (${ballast.length} MB held); ${before} before, ${machineLoad()} after`);
for (const way of ['bare', 'path']) {
  const { ms, cpuMs } = result[way];
  console.log(`  ${way === 'bare' ? 'bare name' : 'full path'}: median ${median(ms).toFixed(2)} ms to exit, main thread CPU in spawn() median ${median(cpuMs).toFixed(3)} ms, total ${cpuMs.reduce((a, b) => a + b, 0).toFixed(0)} ms`);
}
console.log(`  ratio full path / bare name: wall ${(median(result.path.ms) / median(result.bare.ms)).toFixed(3)}, spawn() CPU ${(median(result.path.cpuMs) / median(result.bare.cpuMs)).toFixed(3)}`);
