// How the daemon removes its trees (src/daemon/state/remove-tree.ts) against the two other ways it
// could: Node's fs.rm (recursive), and a spawned `rm -rf --one-file-system` (GNU rm walks with
// directory file descriptors). Trees: a container's directory as the daemon leaves it (about a dozen
// entries), a busybox root filesystem (400 entries), a wide tree (6,000 files in 300 folders), and a
// path 3,000 levels deep (fs.rm fails on it with ENAMETOOLONG). Each removal works on a fresh copy
// (made outside the timing); the figure is the CPU time of this process plus its children (user +
// system), since the machine is shared, with the wall time beside it.
//
//   node bench/remove-tree.mjs [--runs N]
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineLoad, median, option } from './lib.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const { removeTree } = await import(join(root, 'dist/src/daemon/state/remove-tree.js'));
const runs = Number(option('runs', '20'));

const TICK_MS = 10; // /proc clock ticks (USER_HZ 100)

/** CPU milliseconds used so far by this process and the children it has waited for. */
function cpuMs() {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  // after "pid (comm) ": state is field 0, utime 11, stime 12, cutime 13, cstime 14
  const ticks = Number(fields[13]) + Number(fields[14]);
  const self = process.cpuUsage();
  return (self.user + self.system) / 1000 + ticks * TICK_MS;
}

const work = mkdtempSync(join(tmpdir(), 'flt-bench-rm-'));

function containerTree(dir) {
  mkdirSync(join(dir, 'bundle', 'upper', 'etc'), { recursive: true });
  mkdirSync(join(dir, 'bundle', 'upper', 'tmp'), { recursive: true });
  mkdirSync(join(dir, 'bundle', 'work', 'work'), { recursive: true });
  mkdirSync(join(dir, 'bundle', 'rootfs'), { recursive: true });
  for (const f of ['config.json', 'runtime.json']) writeFileSync(join(dir, 'bundle', f), '{}'.padEnd(4000, ' '));
  for (const f of ['hosts', 'resolv.conf', 'hostname', 'container.json', 'ctr.log']) writeFileSync(join(dir, f), 'x\n');
  writeFileSync(join(dir, 'bundle', 'upper', 'tmp', 'scratch'), 'data');
}

function busyboxTree(dir) {
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'tmp', 'root', 'var/run', 'proc', 'sys', 'dev']) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, 'bin', 'busybox'), Buffer.alloc(2_000_000));
  for (let i = 0; i < 390; i++) symlinkSync('/bin/busybox', join(dir, ['bin', 'sbin', 'usr/bin', 'usr/sbin'][i % 4], `applet${i}`));
  writeFileSync(join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
}

function wideTree(dir) {
  for (let d = 0; d < 300; d++) {
    const sub = join(dir, `d${d % 10}`, `d${d}`);
    mkdirSync(sub, { recursive: true });
    for (let f = 0; f < 20; f++) writeFileSync(join(sub, `f${f}`), 'x');
  }
}

/** `mkdir d && cd d` 3,000 times: a relative walk, since no single path that long can be passed to the kernel. */
function deepTree(dir) {
  mkdirSync(dir);
  const back = process.cwd();
  try {
    process.chdir(dir);
    for (let i = 0; i < 3000; i++) {
      mkdirSync('d');
      process.chdir('d');
    }
    writeFileSync('f', 'x');
  } finally {
    process.chdir(back);
  }
}

const trees = [
  { name: 'container directory', make: containerTree, runs },
  { name: 'busybox rootfs', make: busyboxTree, runs },
  { name: 'wide (6,000 files)', make: wideTree, runs: Math.max(3, Math.ceil(runs / 4)) },
  // cp cannot copy past PATH_MAX either: each copy is made anew.
  { name: 'deep (3,000 levels)', make: deepTree, runs: Math.max(3, Math.ceil(runs / 4)), fresh: true },
];

const methods = [
  { name: 'removeTree (ours)', remove: (p) => removeTree(p) },
  { name: 'fs.rm recursive', remove: (p) => rm(p, { recursive: true, force: true }) },
  {
    name: 'spawn rm -rf',
    remove: (p) =>
      new Promise((resolve, reject) => {
        const c = spawn('rm', ['-rf', '--one-file-system', p], { stdio: 'ignore' });
        c.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`rm exited ${code}`))));
      }),
  },
];

/** Each method on fresh copies of one tree: median CPU and wall milliseconds, or why it failed. */
async function measure(tree) {
  const template = join(work, `template-${tree.name.replace(/\W+/g, '-')}`);
  if (!tree.fresh) tree.make(template);
  const results = [];
  for (const m of methods) {
    const cpu = [];
    const wall = [];
    let failed = null;
    for (let i = 0; i < tree.runs && !failed; i++) {
      const copy = join(work, `copy-${i}`);
      if (tree.fresh) tree.make(copy);
      else await new Promise((r) => spawn('cp', ['-a', template, copy], { stdio: 'inherit' }).on('exit', r));
      const c0 = cpuMs();
      const w0 = performance.now();
      try {
        await m.remove(copy);
        cpu.push(cpuMs() - c0);
        wall.push(performance.now() - w0);
      } catch (e) {
        failed = e.code ?? e.message;
      }
      await removeTree(copy);
    }
    results.push({ name: m.name, cpu: failed ? null : median(cpu), wall: failed ? null : median(wall), failed });
  }
  return results;
}

console.log(`remove-tree: ${runs} runs per small tree; load ${machineLoad()}`);
try {
  for (const tree of trees) {
    const results = await measure(tree);
    console.log(`\n${tree.name}`);
    const base = results[0].cpu;
    for (const r of results) {
      if (r.failed) console.log(`  ${r.name.padEnd(20)} fails: ${r.failed}`);
      else console.log(`  ${r.name.padEnd(20)} CPU ${r.cpu.toFixed(2).padStart(8)} ms   wall ${r.wall.toFixed(2).padStart(8)} ms   CPU vs ours ${(r.cpu / base).toFixed(2)}`);
    }
  }
} finally {
  await removeTree(work);
}
