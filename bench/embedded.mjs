// Benchmark of the embedded engine (run as root): `flotilla up -d` and `flotilla down -t 0` of 30
// independent services (busybox:latest running `sleep 3600`) on Flotilla's own daemon, against
// docker-compose 1.29.2 on dockerd in the same run (the tools take turns, the order alternating);
// a one-service `up -d` on each; the latency of one container's create + start through the
// embedded engine's API; the daemon's CPU time for up and down (its own, and that of the processes
// it waited for: runc, mount, ip; conmon and runc create detach from it); and the daemon's
// resident memory idle and with 30 containers running.
// After every up the 30 containers must be running, after every down none may remain, or the
// run fails. The daemon runs on a state root of its own, removed at the end with all it made.
//
//   node bench/embedded.mjs [--runs N] [--no-compose]
//
// Targets: up -d <= 0.25 of docker-compose on dockerd; daemon RSS <= 80 MB with 30 containers.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { flag, machineLoad, median, option, printComparison, projectContainers, removeProject, run, snapshotFlotilla, timeRun, startEmbeddedDaemon, withCleanup } from './lib.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const runs = Number(option('runs', '5'));
const withCompose = !flag('no-compose');
const SERVICES = 30;
const TARGETS = { up: 0.25, rssMb: 80 };

if (process.getuid?.() !== 0) throw new Error('the embedded engine needs root: run with sudo');
if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');

const dist = (p) => join(root, 'dist', p);
const { daemonPaths } = await import(dist('src/daemon/paths.js'));
const { DAEMON_NODE_OPTIONS } = await import(dist('src/contract/location.js'));
const { EmbeddedEngine } = await import(dist('src/engine/embedded/client.js'));
const { probeSocket } = await import(dist('src/contract/probe.js'));
const { purgeHost, leftovers } = await import(dist('test/helpers/embedded-daemon.js'));
const { bareSpec } = await import(dist('test/helpers/container-spec.js'));

function composeFile(count) {
  let y = 'services:\n';
  for (let i = 0; i < count; i++) y += `  s${String(i).padStart(2, '0')}:\n    image: busybox:latest\n    command: ["sleep", "3600"]\n`;
  return y;
}

/** CPU seconds of the daemon itself and of the children it waited for (runc, mount, ip...), from /proc. */
function cpuSeconds(pid) {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const ticks = (i) => Number(fields[i - 3]) / 100; // USER_HZ
  return { self: ticks(14) + ticks(15), children: ticks(16) + ticks(17) };
}

function rssMb(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

const dir = mkdtempSync(join(tmpdir(), 'flotilla-bench-embedded-'));
const stateRoot = join(dir, 'state');
const env = { PATH: process.env.PATH, HOME: dir, LANG: 'C.UTF-8', FLOTILLA_ROOT: stateRoot };
const paths = daemonPaths(env);
// docker-compose gives up on a dockerd slower than 60 s to answer (its default), as on a loaded machine.
const dockerEnv = { PATH: process.env.PATH, HOME: dir, LANG: 'C.UTF-8', COMPOSE_HTTP_TIMEOUT: '600' };
let daemon = null;
const dcProjects = [];

await withCleanup(
  () => {
    for (const p of dcProjects) removeProject(p);
    if (daemon && daemon.exitCode === null) daemon.kill('SIGKILL');
    purgeHost(paths);
    rmSync(dir, { recursive: true, force: true });
  },
  async () => {
    const FLOTILLA = snapshotFlotilla(root, dir);
    // Started as the CLI starts it (src/engine/embedded/autostart.ts).
    daemon = await startEmbeddedDaemon(FLOTILLA, env, paths, probeSocket, DAEMON_NODE_OPTIONS);
    run(['sh', '-c', `"${join(root, 'scripts', 'busybox-image')}" - | "${FLOTILLA}" image load -q`], { env });
    if (withCompose) {
      if (run(['docker', 'image', 'ls', '-q', 'busybox:latest']).trim() === '') (await import(dist('test/helpers/images.js'))).ensureBusybox();
    }
    const big = join(dir, 'thirty');
    const one = join(dir, 'one');
    for (const [d, n] of [[big, SERVICES], [one, 1]]) {
      run(['mkdir', '-p', d]);
      writeFileSync(join(d, 'compose.yaml'), composeFile(n));
    }
    const flo = (_cwd, project, args) => [FLOTILLA, '-p', project, ...args];
    const dc = (project, args) => ['docker-compose', '-p', project, ...args];
    const engine = new EmbeddedEngine(paths.socket);
    const running = async (project) =>
      (await engine.listContainers({ labels: { 'com.docker.compose.project': project }, all: false })).length;

    const idleRss = rssMb(daemon.pid);
    const started = new Date();
    const before = machineLoad();
    const times = { up: { flotilla: [], 'docker-compose': [] }, down: { flotilla: [], 'docker-compose': [] }, one: { flotilla: [], 'docker-compose': [] } };
    const cpu = { up: { self: [], children: [] }, down: { self: [], children: [] } };
    const spent = (phase, before, after) => {
      cpu[phase].self.push(after.self - before.self);
      cpu[phase].children.push(after.children - before.children);
    };
    let rss30 = 0;
    for (let i = 0; i <= runs; i++) {
      const record = i > 0; // round 0 warms up
      const order = i % 2 === 0 ? ['flotilla', 'docker-compose'] : ['docker-compose', 'flotilla'];
      console.error(`round ${i} of ${runs}${record ? '' : ' (warm-up)'}`);
      for (const who of order) {
        if (who === 'docker-compose' && !withCompose) continue;
        // Names of this run's own: a network an earlier run left on dockerd (a stale endpoint) must not be reused.
        const project = `fbemb${process.pid}r${i}${who === 'flotilla' ? 'f' : 'd'}`;
        if (who === 'docker-compose') dcProjects.push(project, `${project}1`);
        const e = who === 'flotilla' ? env : dockerEnv;
        const cpuBeforeUp = cpuSeconds(daemon.pid);
        const up = timeRun(who === 'flotilla' ? flo(big, project, ['up', '-d']) : dc(project, ['up', '-d']), { env: e, cwd: big });
        const n = who === 'flotilla' ? await running(project) : projectContainers(project).length;
        if (n !== SERVICES) throw new Error(`${who}: ${n} of ${SERVICES} containers running after up -d`);
        if (who === 'flotilla') rss30 = Math.max(rss30, rssMb(daemon.pid));
        const cpuBeforeDown = cpuSeconds(daemon.pid);
        const down = timeRun(who === 'flotilla' ? flo(big, project, ['down', '-t', '0']) : dc(project, ['down', '-t', '0']), { env: e, cwd: big });
        const left = who === 'flotilla' ? (await engine.listContainers({ labels: { 'com.docker.compose.project': project }, all: true })).length : projectContainers(project, true).length;
        if (left !== 0) throw new Error(`${who}: ${left} containers left after down`);
        if (record && who === 'flotilla') {
          // The daemon does nothing else meanwhile: what it spent went to up and down (and one list call each).
          spent('up', cpuBeforeUp, cpuBeforeDown);
          spent('down', cpuBeforeDown, cpuSeconds(daemon.pid));
        }
        const single = timeRun(who === 'flotilla' ? flo(one, `${project}1`, ['up', '-d']) : dc(`${project}1`, ['up', '-d']), { env: e, cwd: one });
        timeRun(who === 'flotilla' ? flo(one, `${project}1`, ['down', '-t', '0']) : dc(`${project}1`, ['down', '-t', '0']), { env: e, cwd: one });
        if (record) {
          times.up[who].push(up);
          times.down[who].push(down);
          times.one[who].push(single);
          // Each round's figures as they come: a later failure (docker-compose under load) keeps them.
          console.error(`round ${i} ${who}: up -d ${up.toFixed(3)} s, down -t 0 ${down.toFixed(3)} s, 1 service ${single.toFixed(3)} s; ${machineLoad()}`);
        }
      }
    }

    // One container's create + start through the API (no CLI start-up, no project logic).
    const latencies = [];
    for (let i = 0; i < 10; i++) {
      const name = `fbemb-latency-${i}`;
      const spec = bareSpec(name, { command: ['sleep', '3600'] });
      const t0 = process.hrtime.bigint();
      const id = await engine.createContainer(spec);
      await engine.startContainer(id);
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      await engine.removeContainer(id, { force: true });
    }
    engine.close();

    const after = machineLoad();
    const result = (phase) =>
      Object.entries(times[phase])
        .filter(([, t]) => t.length > 0)
        .map(([name, t]) => ({ name, runs: t, median: median(t) }));
    console.log(`\nEmbedded engine benchmark, ${started.toISOString()}; ${before} before, ${after} after`);
    printComparison(`30 independent services, up -d: medians of ${runs} runs`, result('up'), 'docker-compose', { flotilla: TARGETS.up });
    printComparison(`30 independent services, down -t 0: medians of ${runs} runs`, result('down'), 'docker-compose');
    printComparison(`1 service, up -d: medians of ${runs} runs`, result('one'), 'docker-compose');
    console.log(`\none container's create + start through the embedded engine's API: median ${median(latencies).toFixed(1)} ms (runs: ${latencies.map((l) => l.toFixed(1)).join(' ')})`);
    for (const phase of ['up', 'down']) {
      const { self, children } = cpu[phase];
      console.log(`daemon CPU for ${phase === 'up' ? 'up -d' : 'down -t 0'} of ${SERVICES} services: median ${median(self).toFixed(2)} s itself + ${median(children).toFixed(2)} s in the processes it waited for (runs: ${self.map((v, i) => `${v.toFixed(2)}+${children[i].toFixed(2)}`).join(' ')})`);
    }
    const verdict = rss30 <= TARGETS.rssMb ? 'met' : 'MISSED';
    console.log(`daemon resident memory: idle ${idleRss.toFixed(1)} MB, with ${SERVICES} containers running ${rss30.toFixed(1)} MB (target <= ${TARGETS.rssMb} MB: ${verdict})`);

    const stop = new Promise((resolve) => daemon.once('exit', resolve));
    daemon.kill('SIGTERM');
    await stop;
    const left = leftovers(paths, null).filter((l) => !l.startsWith('links') && !l.startsWith('iptables'));
    if (left.length > 0) console.error(`left by the daemon before the purge: ${left.join('; ')}`);
  },
);
