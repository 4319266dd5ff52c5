// Shared helpers for the benchmarks: time whole commands, take medians, print ratios.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';

/** Wall time of one run in seconds; throws if the command fails (a benchmark of a failure is meaningless). */
export function timeRun(argv, options = {}) {
  const started = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], ...options });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${String(r.stderr).slice(-500)}`);
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

// ---- Helpers for the benchmarks that drive dockerd (compose-up.mjs, logs.mjs) ----

/** Runs a command to completion and returns its stdout; throws (with stderr) if it fails. */
export function run(argv, options = {}) {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, ...options });
  if (r.error) throw new Error(`${argv.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${String(r.stderr).slice(0, 1000)}`);
  return r.stdout;
}

/** Ids printed by a `docker ... -q` listing, one per line. */
export function dockerIds(args) {
  return run(['docker', ...args]).split('\n').filter((l) => l !== '');
}

/** Running (`all` false) or all containers of a Compose project, found by its label. */
export function projectContainers(project, all = false) {
  return dockerIds(['ps', '-q', ...(all ? ['-a'] : []), '--no-trunc', '--filter', `label=com.docker.compose.project=${project}`]);
}

export function projectNetworks(project) {
  return dockerIds(['network', 'ls', '-q', '--filter', `label=com.docker.compose.project=${project}`]);
}

/**
 * Removes everything a project left on dockerd, by label (whichever tool made it, whatever state
 * the run stopped in): containers, networks, volumes. Never throws; returns what it removed.
 */
export function removeProject(project) {
  const removed = [];
  const quiet = (argv) => spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const ids = (args) => String(quiet(['docker', ...args]).stdout ?? '').split('\n').filter((l) => l !== '');
  const label = `label=com.docker.compose.project=${project}`;
  const containers = ids(['ps', '-aq', '--filter', label]);
  if (containers.length > 0 && quiet(['docker', 'rm', '-f', '-v', ...containers]).status === 0) removed.push(`${containers.length} containers`);
  const networks = ids(['network', 'ls', '-q', '--filter', label]);
  if (networks.length > 0 && quiet(['docker', 'network', 'rm', ...networks]).status === 0) removed.push(`${networks.length} networks`);
  const volumes = ids(['volume', 'ls', '-q', '--filter', label]);
  if (volumes.length > 0 && quiet(['docker', 'volume', 'rm', '-f', ...volumes]).status === 0) removed.push(`${volumes.length} volumes`);
  return removed;
}

/**
 * Runs `fn` and then `cleanup`, also when `fn` throws or the process is interrupted (SIGINT,
 * SIGTERM, SIGHUP): what a benchmark creates on dockerd never outlives it.
 */
export async function withCleanup(cleanup, fn) {
  let cleaned = false;
  const once = () => {
    if (cleaned) return;
    cleaned = true;
    cleanup();
  };
  const onSignal = (signal) => {
    console.error(`\n${signal}: cleaning up`);
    once();
    process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGHUP' ? 1 : 15));
  };
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(s, onSignal);
  process.on('exit', once);
  try {
    return await fn();
  } finally {
    once();
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.off(s, onSignal);
    process.off('exit', once);
  }
}

/** `--name value` from the command line, or `fallback`. */
export function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

export function flag(name) {
  return process.argv.includes(`--${name}`);
}

/** `uptime`'s load averages (1, 5, 15 minutes) and the CPU count, for the record. */
export function machineLoad() {
  const [a, b, c] = loadavg();
  return `load average ${a.toFixed(2)}, ${b.toFixed(2)}, ${c.toFixed(2)} on ${cpus().length} CPUs`;
}

/** Prints medians, every run and the ratios to the baseline, each against its target when one is given. */
export function printComparison(title, results, baselineName, targets = {}) {
  const base = results.find((r) => r.name === baselineName);
  console.log(`\n${title}`);
  for (const r of results) {
    const ratio = base ? r.median / base.median : NaN;
    const target = targets[r.name];
    const verdict = target === undefined ? '' : ratio <= target ? `  target <= ${target}: met` : `  target <= ${target}: MISSED`;
    const all = r.runs.map((t) => t.toFixed(3)).join(' ');
    console.log(`  ${r.name.padEnd(34)} median ${r.median.toFixed(3)} s   ratio ${Number.isNaN(ratio) ? '-' : ratio.toFixed(3)}${verdict}   (runs: ${all})`);
  }
}

/**
 * A private copy of the built CLI (bin/, dist/bundle/ with its code caches, the code-cache loader
 * bin/ imports, dist/schemas/, schemas/, proto/, package.json;
 * node_modules linked) in `dir`: other engineers rebuilding dist/ mid-run (the build deletes it
 * first) would otherwise break or change what is measured. Returns the copy's executable.
 */
export function snapshotFlotilla(root, dir) {
  const snap = join(dir, 'flotilla');
  for (let attempt = 1; ; attempt++) {
    try {
      const bundle = join(root, 'dist', 'bundle');
      if (!existsSync(join(bundle, 'main.cjs'))) throw new Error(`${bundle}/main.cjs is missing: run node scripts/build.mjs`);
      mkdirSync(join(snap, 'dist', 'src', 'util'), { recursive: true });
      cpSync(join(root, 'bin'), join(snap, 'bin'), { recursive: true });
      cpSync(join(root, 'dist', 'src', 'util', 'code-cache.js'), join(snap, 'dist', 'src', 'util', 'code-cache.js'));
      cpSync(bundle, join(snap, 'dist', 'bundle'), { recursive: true });
      cpSync(join(root, 'dist', 'schemas'), join(snap, 'dist', 'schemas'), { recursive: true });
      cpSync(join(root, 'schemas'), join(snap, 'schemas'), { recursive: true });
      cpSync(join(root, 'package.json'), join(snap, 'package.json'));
      // The embedded engine's daemon and client load the API's service from the build's JSON form of its proto.
      cpSync(join(root, 'dist', 'proto'), join(snap, 'dist', 'proto'), { recursive: true });
      cpSync(join(root, 'proto'), join(snap, 'proto'), { recursive: true });
      symlinkSync(join(root, 'node_modules'), join(snap, 'node_modules'));
      return join(snap, 'bin', 'flotilla.js');
    } catch (e) {
      // A build in progress elsewhere: wait for it (up to a minute).
      rmSync(snap, { recursive: true, force: true });
      if (attempt >= 30) throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2000);
    }
  }
}

/**
 * Starts `flotilla daemon` (the snapshot's executable) as the CLI starts it and waits for its
 * socket; `probeSocket` and `nodeOptions` come from the build (dist/src/contract/probe.js,
 * dist/src/daemon/paths.js). Returns the child process.
 */
export async function startEmbeddedDaemon(flotilla, env, paths, probeSocket, nodeOptions) {
  const daemon = spawn(process.execPath, [...nodeOptions, flotilla, 'daemon'], { env, stdio: 'ignore' });
  for (let i = 0; (await probeSocket(paths.socket, 500)) !== null; i++) {
    if (i > 1200 || daemon.exitCode !== null) {
      // The caller has no handle on it yet: a daemon slow to start (a loaded machine) would outlive the benchmark.
      if (daemon.exitCode === null) daemon.kill('SIGKILL');
      throw new Error(`flotilla daemon did not start; see ${paths.log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return daemon;
}
