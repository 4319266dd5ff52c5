// Benchmark of the embedded engine's swarm core (run as root): a 30-replica service deployed until
// all 30 tasks run (converge), a rolling update of the 30 (parallelism 5, delay 0, a changed
// container label) until all 30 running tasks are of the new spec and no old one runs, and a
// scale-down 30 → 1 until one task runs; on Flotilla's own daemon (a state root of its own)
// against Docker Swarm, one node made for the run by scripts/swarm-lab (never the machine's own
// dockerd, which others use), in the same run, the engines taking turns, the order alternating.
// Both are driven by the same CLI (flotilla: DOCKER_HOST names the lab's node), so what differs
// is the engine; each figure is the wall time from the command's start until the state is seen,
// polled every 50 ms through each engine's API (the running containers of the service, by label).
// Also the daemon's resident memory with 30 tasks running.
//
//   sudo node bench/swarm-core.mjs [--runs N] [--replicas N] [--docker PATH] [--before ROOT] [--no-swarm] [--cpu-prof DIR]
//
// --before ROOT measures another built checkout (e.g. a worktree of main) as a third side, on a
// daemon of its own, in the same rounds: a change's before and after in one run. --no-swarm
// leaves Docker Swarm out (with --before, the ratios are to the build before); --cpu-prof writes
// the daemons' CPU profiles to DIR when they stop.
//
// Targets: converge <= 0.2, update <= 0.3, scale-down <= 0.3 of Docker Swarm; RSS <= 90 MB.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { flag, machineLoad, median, option, printComparison, run, snapshotFlotilla, startEmbeddedDaemon, withCleanup } from './lib.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const runs = Number(option('runs', '3'));
const replicas = Number(option('replicas', '30'));
const dockerCli = option('docker', '/usr/local/bin/docker');
const TARGETS = { converge: 0.2, update: 0.3, scaleDown: 0.3, rssMb: 90 };
const POLL_MS = 50;
const withSwarm = !flag('no-swarm');
const cpuProf = option('cpu-prof', '');
const beforeRoot = option('before', '');

if (process.getuid?.() !== 0) throw new Error('the embedded engine and the swarm lab need root: run with sudo');
if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');
if (!Number.isInteger(replicas) || replicas < 2) throw new Error('--replicas must be an integer of 2 or more');

const dist = (p) => join(root, 'dist', p);
const { daemonPaths } = await import(dist('src/daemon/paths.js'));
const { DAEMON_NODE_OPTIONS } = await import(dist('src/contract/location.js'));
const { EmbeddedEngine } = await import(dist('src/engine/embedded/client.js'));
const { probeSocket } = await import(dist('src/contract/probe.js'));
const { purgeHost } = await import(dist('test/helpers/embedded-daemon.js'));

function stackFile(image, generation) {
  return `version: "3.8"
services:
  web:
    image: ${image}
    command: ["sleep", "3600"]
    init: true
    stop_grace_period: 1s
    labels: {bench.generation: "${generation}"}
    deploy:
      replicas: ${replicas}
      update_config: {parallelism: 5, delay: 0s, order: stop-first}
`;
}

function rssMb(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** GET on a dockerd's unix socket, the JSON answer. */
function dockerGet(socketPath, path) {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'GET' }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) reject(new Error(`GET ${path}: ${res.statusCode} ${body.slice(0, 300)}`));
        else resolve(JSON.parse(body));
      });
    });
    req.on('error', reject);
    req.end();
  });
}

const dir = mkdtempSync(join(tmpdir(), 'flotilla-bench-swarm-'));
const labDir = mkdtempSync('/tmp/fsw.');
const lab = join(root, 'scripts', 'swarm-lab');
const labSocket = `${labDir}/n1/docker.sock`;
const swarmEnv = { PATH: process.env.PATH, HOME: dir, LANG: 'C.UTF-8', DOCKER_HOST: `unix://${labSocket}` };
/** The embedded daemons: this build's, and with --before another build's (its own state root). */
const embedded = [];

/** A built Flotilla (its snapshot) on a daemon of its own, as one side of the comparison. */
async function embeddedSide(name, from, tag) {
  const stateRoot = join(dir, `state-${tag}`);
  const env = { PATH: process.env.PATH, HOME: dir, LANG: 'C.UTF-8', FLOTILLA_ROOT: stateRoot };
  const side = { name, env, image: 'busybox:latest', paths: daemonPaths(env), daemon: null, engine: null };
  embedded.push(side);
  mkdirSync(join(dir, tag));
  side.flotilla = snapshotFlotilla(from, join(dir, tag));
  side.daemon = await startEmbeddedDaemon(side.flotilla, env, side.paths, probeSocket, [...DAEMON_NODE_OPTIONS, ...(cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${cpuProf}`] : [])]);
  run(['sh', '-c', `"${join(root, 'scripts', 'busybox-image')}" - | "${side.flotilla}" image load -q`], { env });
  side.engine = new EmbeddedEngine(side.paths.socket);
  side.running = async (stack) => (await side.engine.listContainers({ labels: { 'com.docker.swarm.service.name': `${stack}_web` }, all: false })).filter((c) => c.state === 'running').map((c) => c.labels);
  side.all = async (stack) => (await side.engine.listContainers({ labels: { 'com.docker.stack.namespace': stack }, all: true })).length;
  return side;
}

await withCleanup(
  () => {
    spawnSync(lab, ['down', labDir], { stdio: 'inherit' });
    for (const side of embedded) {
      side.engine?.close();
      if (side.daemon && side.daemon.exitCode === null) side.daemon.kill('SIGKILL');
      purgeHost(side.paths);
    }
    rmSync(dir, { recursive: true, force: true });
  },
  async () => {
    const sides = { embedded: await embeddedSide('flotilla (embedded core)', root, 'now') };
    const FLOTILLA = sides.embedded.flotilla;
    if (beforeRoot) sides.before = await embeddedSide(`flotilla before (${beforeRoot})`, beforeRoot, 'before');
    if (withSwarm) {
      const up = spawnSync(lab, ['up', labDir, '1'], { encoding: 'utf8', env: { ...process.env, DOCKER: dockerCli } });
      if (up.status !== 0) throw new Error(`swarm-lab up failed: ${up.stderr}`);
      const label = (stack) => `com.docker.swarm.service.name=${stack}_web`;
      sides.swarm = {
        name: 'Docker Swarm',
        env: swarmEnv,
        image: 'flotilla-lab/busybox:1',
        running: async (stack) => (await dockerGet(labSocket, `/containers/json?filters=${encodeURIComponent(JSON.stringify({ label: [label(stack)], status: ['running'] }))}`)).map((c) => c.Labels),
        all: async (stack) => (await dockerGet(labSocket, `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ label: [`com.docker.stack.namespace=${stack}`] }))}`)).length,
      };
    }
    const keys = Object.keys(sides);

    /** Seconds from `argv`'s start until `done` holds for the service's running tasks' labels. */
    async function timed(side, stack, argv, what, done) {
      const t0 = process.hrtime.bigint();
      run([side.flotilla ?? FLOTILLA, ...argv], { env: side.env, cwd: dir });
      for (;;) {
        const labels = await side.running(stack);
        if (done(labels)) return Number(process.hrtime.bigint() - t0) / 1e9;
        if (Number(process.hrtime.bigint() - t0) / 1e9 > 300) throw new Error(`${side.name}: ${what} did not happen in 300 s (${labels.length} running)`);
        await sleep(POLL_MS);
      }
    }

    const times = Object.fromEntries(['converge', 'update', 'scaleDown'].map((phase) => [phase, Object.fromEntries(keys.map((k) => [k, []]))]));
    let rss30 = 0;
    const daemon = sides.embedded.daemon;
    const idleRss = rssMb(daemon.pid);
    const started = new Date();
    const before = machineLoad();
    console.log(`swarm core: ${replicas} replicas, ${runs} runs (+1 warm-up); ${before}`);
    for (let round = 0; round <= runs; round++) {
      const order = round % 2 === 0 ? keys : [...keys].reverse();
      for (const key of order) {
        const side = sides[key];
        const stack = `fbsw${round}${key.slice(0, 2)}`;
        const file = join(dir, `${key}.yml`);
        writeFileSync(file, stackFile(side.image, 1));
        const deploy = ['stack', 'deploy', '--resolve-image', 'never', '-q', '-c', file, stack];
        const converge = await timed(side, stack, deploy, `${replicas} tasks running`, (l) => l.length === replicas);
        if (key === 'embedded') rss30 = Math.max(rss30, rssMb(daemon.pid));
        writeFileSync(file, stackFile(side.image, 2));
        const update = await timed(side, stack, deploy, 'the rolling update', (l) => l.length === replicas && l.every((x) => x['bench.generation'] === '2'));
        const scaleDown = await timed(side, stack, ['service', 'scale', '--detach=true', `${stack}_web=1`], 'the scale-down', (l) => l.length === 1);
        console.log(`  ${round === 0 ? 'warm-up' : `run ${round}`}: ${side.name}: converge ${converge.toFixed(3)} s, update ${update.toFixed(3)} s, scale-down ${scaleDown.toFixed(3)} s`);
        if (round > 0) {
          times.converge[key].push(converge);
          times.update[key].push(update);
          times.scaleDown[key].push(scaleDown);
        }
        run([side.flotilla ?? FLOTILLA, 'stack', 'rm', stack], { env: side.env });
        for (let i = 0; (await side.all(stack)) > 0; i++) {
          if (i > 1200) throw new Error(`${side.name}: stack ${stack} did not go away`);
          await sleep(100);
        }
      }
    }
    const after = machineLoad();
    console.log(`\nSwarm core benchmark, ${started.toISOString()}; ${before} before, ${after} after`);
    const titles = { converge: `${replicas} replicas: deploy until all run`, update: `rolling update of ${replicas} (parallelism 5, delay 0)`, scaleDown: `scale-down ${replicas} → 1` };
    for (const phase of ['converge', 'update', 'scaleDown']) {
      const results = Object.entries(times[phase]).map(([k, t]) => ({ name: sides[k].name, runs: t, median: median(t) }));
      if (withSwarm) printComparison(`${titles[phase]}: medians of ${runs} runs`, results, sides.swarm.name, { [sides.embedded.name]: TARGETS[phase] });
      else printComparison(`${titles[phase]}: medians of ${runs} runs (against the build before)`, results, sides.before?.name ?? '');
    }
    const verdict = rss30 <= TARGETS.rssMb ? 'met' : 'MISSED';
    console.log(`\ndaemon resident memory: idle ${idleRss.toFixed(1)} MB, with ${replicas} tasks running ${rss30.toFixed(1)} MB (target <= ${TARGETS.rssMb} MB: ${verdict})`);
    for (const side of embedded) {
      side.engine.close();
      side.engine = null;
      const stop = new Promise((resolve) => side.daemon.once('exit', resolve));
      side.daemon.kill('SIGTERM');
      await stop;
    }
  },
);
