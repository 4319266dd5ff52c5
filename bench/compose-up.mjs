// Benchmark: `flotilla up -d`, a no-op `flotilla up -d` (everything up to date) and
// `flotilla down -t 0` against docker-compose 1.29.2's, on the same dockerd in the same run, for
//   (a) 30 independent services,
//   (b) a 30-service dependency chain (each depends_on the previous, condition service_started),
// every service busybox:latest running `sleep 3600`. Each tool has its own project name; the tools
// take turns (the order alternating from run to run) so machine load affects both alike. After
// every up the 30 containers must be running (after the no-op, the very same containers); after
// every down none of the project's containers or networks may remain: the run fails otherwise.
// The engine's own floor (the same containers made with bare Engine API calls from this process,
// no CLI start-up) is measured alongside unless --no-floor.
//
//   node bench/compose-up.mjs [--runs N] [--only independent|chain] [--no-floor] [--flotilla PATH]
//
// Targets (flotilla / docker-compose): up -d <= 0.33, no-op up -d <= 0.25, down -t 0 <= 0.5.
import { request, Agent } from 'node:http';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  flag,
  snapshotFlotilla,
  machineLoad,
  median,
  option,
  printComparison,
  projectContainers,
  projectNetworks,
  removeProject,
  run,
  timeRun,
  withCleanup,
} from './lib.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
// Run as users run it: the executable (bin/flotilla.js, with its code caches). By default a private
// copy of the current build (--flotilla PATH runs another executable).
let FLOTILLA = option('flotilla', undefined);
const runs = Number(option('runs', '5'));
const only = option('only', undefined);
const withFloor = !flag('no-floor');
const SERVICES = 30;
const TARGETS = { up: 0.33, noop: 0.25, down: 0.5 };
const IMAGE = 'busybox:latest';

if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');
if (only !== undefined && only !== 'independent' && only !== 'chain') throw new Error('--only independent|chain');

async function ensureImage() {
  if (spawnOk(['docker', 'image', 'inspect', IMAGE])) return;
  // No registry is reachable here: the tests' helper makes busybox from Debian's static binary.
  const helper = join(root, 'dist', 'test', 'helpers', 'images.js');
  if (!existsSync(helper)) throw new Error(`${IMAGE} is missing and ${helper} is not built: run node scripts/build.mjs`);
  (await import(helper)).ensureBusybox();
}

function spawnOk(argv) {
  try {
    run(argv);
    return true;
  } catch {
    return false;
  }
}

function composeFile(chain) {
  let y = 'services:\n';
  for (let i = 0; i < SERVICES; i++) {
    y += `  ${svc(i)}:\n    image: ${IMAGE}\n    command: ["sleep", "3600"]\n`;
    if (chain && i > 0) y += `    depends_on:\n      ${svc(i - 1)}:\n        condition: service_started\n`;
  }
  return y;
}

const svc = (i) => `s${String(i).padStart(2, '0')}`;

// ---- The subjects: the two CLIs, and the engine floor ----

function cliSubject(name, argv0, project, file, env, cwd) {
  const cmd = (...args) => [...argv0, '-p', project, '-f', file, ...args];
  const opts = { env, cwd };
  return {
    name,
    project,
    up: async () => timeRun(cmd('up', '-d'), opts),
    noop: async () => timeRun(cmd('up', '-d'), opts),
    down: async () => timeRun(cmd('down', '-t', '0'), opts),
  };
}

/** The Docker socket, when DOCKER_HOST names a local one (the floor needs it). */
function dockerSocket() {
  const host = process.env.DOCKER_HOST;
  if (host === undefined || host === '') return '/var/run/docker.sock';
  return host.startsWith('unix://') ? host.slice('unix://'.length) : null;
}

function engineApi(socketPath) {
  const agent = new Agent({ keepAlive: true, maxSockets: 128 });
  const call = (method, path, body) =>
    new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : JSON.stringify(body);
      const headers = data === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) };
      const req = request({ socketPath, agent, method, path, headers }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode >= 400) reject(new Error(`${method} ${path}: HTTP ${res.statusCode} ${text.trim()}`));
          else resolve(text === '' ? null : JSON.parse(text));
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      if (data !== undefined) req.write(data);
      req.end();
    });
  return { call, close: () => agent.destroy() };
}

/**
 * The same containers made with bare Engine API calls from this process: a network, then per
 * service a create (labelled, on the network, aliased) and a start; down is a stop (t=0) and a
 * remove per container, then the network. `createAllFirst` creates every container at once and
 * then starts them in order (the least a dependency chain with service_started needs);
 * `removeAllAtOnce` stops in reverse order, then removes every container at once.
 */
function floorSubject(name, api, project, chain, { createAllFirst = false, removeAllAtOnce = false } = {}) {
  const net = `${project}_default`;
  const labels = (s) => ({ 'com.docker.compose.project': project, 'com.docker.compose.service': s, 'com.docker.compose.container-number': '1', 'com.docker.compose.oneoff': 'False' });
  const create = (s) =>
    api.call('POST', `/containers/create?name=${project}_${s}_1`, {
      Image: IMAGE,
      Cmd: ['sleep', '3600'],
      Labels: labels(s),
      HostConfig: { NetworkMode: net },
      NetworkingConfig: { EndpointsConfig: { [net]: { Aliases: [s] } } },
    }).then((r) => r.Id);
  const start = (id) => api.call('POST', `/containers/${id}/start`);
  const names = Array.from({ length: SERVICES }, (_, i) => svc(i));
  const timed = async (fn) => {
    const t0 = process.hrtime.bigint();
    await fn();
    return Number(process.hrtime.bigint() - t0) / 1e9;
  };
  const list = () =>
    api.call('GET', `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ label: [`com.docker.compose.project=${project}`] }))}`);
  return {
    name,
    project,
    up: () =>
      timed(async () => {
        await api.call('POST', '/networks/create', { Name: net, Driver: 'bridge', CheckDuplicate: true, Labels: { 'com.docker.compose.project': project, 'com.docker.compose.network': 'default' } });
        if (!chain) {
          await Promise.all(names.map(async (s) => start(await create(s))));
        } else if (createAllFirst) {
          const ids = await Promise.all(names.map(create));
          for (const id of ids) await start(id);
        } else {
          for (const s of names) await start(await create(s));
        }
      }),
    // The least a no-op up must ask: the project's containers (the CLIs also start a process and read the file).
    noop: () => timed(list),
    down: () =>
      timed(async () => {
        const containers = await list();
        const byName = new Map(containers.map((c) => [c.Labels['com.docker.compose.service'], c.Id]));
        const ids = names.map((s) => byName.get(s)).filter((id) => id !== undefined);
        const stopRemove = async (id) => {
          await api.call('POST', `/containers/${id}/stop?t=0`);
          await api.call('DELETE', `/containers/${id}?v=1&force=1`);
        };
        if (!chain) {
          await Promise.all(ids.map(stopRemove));
        } else if (removeAllAtOnce) {
          for (const id of [...ids].reverse()) await api.call('POST', `/containers/${id}/stop?t=0`);
          await Promise.all(ids.map((id) => api.call('DELETE', `/containers/${id}?v=1&force=1`)));
        } else {
          for (const id of [...ids].reverse()) await stopRemove(id);
        }
        await api.call('DELETE', `/networks/${net}`);
      }),
  };
}

// ---- Checks between the timed commands (not timed) ----

function expectRunning(subject) {
  const ids = projectContainers(subject.project);
  if (ids.length !== SERVICES) {
    throw new Error(`${subject.name}: ${ids.length} containers of project ${subject.project} running after up, expected ${SERVICES}`);
  }
  return ids.sort();
}

function expectGone(subject) {
  const left = projectContainers(subject.project, true);
  const nets = projectNetworks(subject.project);
  if (left.length > 0 || nets.length > 0) {
    throw new Error(`${subject.name}: ${left.length} containers and ${nets.length} networks of project ${subject.project} remain after down`);
  }
}

/** One round: every subject's up, then every no-op up, then every down, in `order`. */
async function round(order, record) {
  const ids = new Map();
  for (const s of order) {
    const t = await s.up();
    ids.set(s.name, expectRunning(s));
    record?.(s.name, 'up', t);
  }
  for (const s of order) {
    const t = await s.noop();
    const after = expectRunning(s);
    if (after.join() !== ids.get(s.name).join()) throw new Error(`${s.name}: the no-op up replaced containers`);
    record?.(s.name, 'noop', t);
  }
  for (const s of order) {
    const t = await s.down();
    expectGone(s);
    record?.(s.name, 'down', t);
  }
}

async function scenario(title, chain, dir, env, api, projects) {
  const file = join(dir, `${chain ? 'chain' : 'independent'}.yml`);
  writeFileSync(file, composeFile(chain));
  const tag = chain ? 'chain' : 'indep';
  const p = (who) => {
    const name = `fbench-up-${process.pid}-${tag}-${who}`;
    projects.push(name);
    return name;
  };
  const subjects = [
    cliSubject('flotilla', [FLOTILLA], p('flo'), file, env, dir),
    cliSubject('docker-compose', ['docker-compose'], p('dc'), file, env, dir),
  ];
  if (api) {
    if (chain) {
      subjects.push(floorSubject('engine API floor (serial)', api, p('api'), true));
      subjects.push(floorSubject('engine API floor (parallel part)', api, p('api2'), true, { createAllFirst: true, removeAllAtOnce: true }));
    } else {
      subjects.push(floorSubject('engine API floor', api, p('api'), false));
    }
  }
  const times = new Map(subjects.map((s) => [s.name, { up: [], noop: [], down: [] }]));
  console.error(`${title}: warm-up round`);
  await round(subjects, undefined);
  for (let i = 0; i < runs; i++) {
    // Alternate who goes first, so neither tool always runs next to the other's containers.
    const order = i % 2 === 0 ? subjects : [...subjects].reverse();
    console.error(`${title}: round ${i + 1} of ${runs} (${order.map((s) => s.name).join(', ')})`);
    await round(order, (name, phase, t) => times.get(name)[phase].push(t));
  }
  const results = {};
  for (const phase of ['up', 'noop', 'down']) {
    results[phase] = subjects.map((s) => ({ name: s.name, runs: times.get(s.name)[phase], median: median(times.get(s.name)[phase]) }));
  }
  const label = { up: 'up -d (fresh project)', noop: 'up -d again (no-op: all up to date)', down: 'down -t 0' };
  for (const phase of ['up', 'noop', 'down']) {
    printComparison(`${title}, ${label[phase]}: medians of ${runs} runs`, results[phase], 'docker-compose', { flotilla: TARGETS[phase] });
  }
  return results;
}

const dir = mkdtempSync(join(tmpdir(), 'flotilla-bench-up-'));
const projects = [];
const socket = withFloor ? dockerSocket() : null;
const api = socket ? engineApi(socket) : null;
if (withFloor && !socket) console.error('DOCKER_HOST is not a unix socket: no engine floor');

await withCleanup(
  () => {
    api?.close();
    for (const p of projects) {
      const removed = removeProject(p);
      if (removed.length > 0) console.error(`cleanup: removed ${removed.join(', ')} of ${p}`);
    }
    rmSync(dir, { recursive: true, force: true });
  },
  async () => {
    await ensureImage();
    FLOTILLA ??= snapshotFlotilla(root, dir);
    // Both tools on dockerd (Flotilla's default engine is its own).
    const env = { PATH: process.env.PATH, HOME: dir, LANG: 'C.UTF-8', FLOTILLA_ENGINE: 'docker' };
    if (process.env.DOCKER_HOST) env.DOCKER_HOST = process.env.DOCKER_HOST;
    const before = machineLoad();
    const started = new Date();
    const summary = [];
    for (const [title, chain] of [
      ['30 independent services', false],
      ['30-service dependency chain', true],
    ]) {
      if (only !== undefined && only !== (chain ? 'chain' : 'independent')) continue;
      const results = await scenario(title, chain, dir, env, api, projects);
      for (const phase of ['up', 'noop', 'down']) {
        const flo = results[phase].find((r) => r.name === 'flotilla');
        const dc = results[phase].find((r) => r.name === 'docker-compose');
        const ratio = flo.median / dc.median;
        summary.push(`| ${title} | ${phase} | ${flo.median.toFixed(2)} | ${dc.median.toFixed(2)} | ${ratio.toFixed(2)} | ${TARGETS[phase]} | ${ratio <= TARGETS[phase] ? 'met' : 'missed'} |`);
      }
    }
    console.log(`\nMarkdown summary (${started.toISOString()}, ${runs} runs; before: ${before}; after: ${machineLoad()})`);
    console.log('| project | command | flotilla (s) | docker-compose (s) | ratio | target | |');
    console.log('|---|---|---|---|---|---|---|');
    for (const line of summary) console.log(line);
  },
);
