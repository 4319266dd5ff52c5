// Benchmark of stacks on Docker Swarm (run as root): deploying a 20-service stack and waiting
// until it has converged, `flotilla stack deploy --wait` against `docker stack deploy
// --detach=false` (Docker CLI 28) on the same swarm, a lab of dockerds in namespaces made for the
// run (scripts/swarm-lab) and removed at the end with all it held. The tools take turns, the
// order alternating; each deploy starts from nothing (the previous stack removed and gone,
// outside the timing), and after each one all 20 services must have their task running, or the
// run fails. Both tools wait for each service's tasks to have run for 5 s (Docker's fixed
// monitor, Flotilla's default update_config.monitor).
//
//   sudo node bench/stack.mjs [--runs N] [--nodes N] [--services N] [--docker PATH]
//
// Target: flotilla <= 0.7 of docker stack deploy --detach=false.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { machineLoad, median, option, printComparison, run, snapshotFlotilla, timeRun, withCleanup } from './lib.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const runs = Number(option('runs', '3'));
const nodes = Number(option('nodes', '1'));
const services = Number(option('services', '20'));
const dockerCli = option('docker', '/usr/local/bin/docker');
const TARGET = 0.7;
const IMAGE = 'flotilla-lab/busybox:1';

if (process.getuid?.() !== 0) throw new Error('the swarm lab needs root: run with sudo');
for (const [name, n] of [['--runs', runs], ['--nodes', nodes], ['--services', services]]) {
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer`);
}

function stackFile(count) {
  let y = 'version: "3.8"\nservices:\n';
  for (let i = 0; i < count; i++) {
    y += `  s${String(i).padStart(2, '0')}:\n    image: ${IMAGE}\n    command: ["sh", "-c", "exec sleep 3600"]\n    init: true\n`;
  }
  return y;
}

const dir = mkdtempSync(join(tmpdir(), 'flotilla-bench-stack-'));
const labDir = mkdtempSync('/tmp/fsw.');
const lab = join(root, 'scripts', 'swarm-lab');
const env = { PATH: process.env.PATH, HOME: dir, LANG: 'C.UTF-8', DOCKER_HOST: `unix://${labDir}/n1/docker.sock` };

/** Services of the stack with their running and desired counts, as `docker service ls` has them. */
function replicas(stack) {
  const out = run([dockerCli, 'service', 'ls', '--filter', `label=com.docker.stack.namespace=${stack}`, '--format', '{{.Replicas}}'], { env });
  return out.split('\n').filter((l) => l !== '');
}

async function removeStack(flotilla, stack) {
  run([flotilla, 'stack', 'rm', '--detach=false', stack], { env });
  for (let i = 0; replicas(stack).length > 0; i++) {
    if (i > 240) throw new Error(`stack ${stack} did not go away`);
    await sleep(500);
  }
}

await withCleanup(
  () => {
    spawnSync(lab, ['down', labDir], { stdio: 'inherit' });
    rmSync(dir, { recursive: true, force: true });
  },
  async () => {
    const FLOTILLA = snapshotFlotilla(root, dir);
    const up = spawnSync(lab, ['up', labDir, String(nodes)], { encoding: 'utf8', env: { ...process.env, DOCKER: dockerCli } });
    if (up.status !== 0) throw new Error(`swarm-lab up failed: ${up.stderr}`);
    const file = join(dir, 'stack.yml');
    writeFileSync(file, stackFile(services));
    const tools = [
      { name: 'flotilla stack deploy --wait', argv: (s) => [FLOTILLA, 'stack', 'deploy', '--wait', '--resolve-image', 'never', '-q', '-c', file, s] },
      { name: 'docker stack deploy --detach=false', argv: (s) => [dockerCli, 'stack', 'deploy', '--detach=false', '--resolve-image', 'never', '-q', '-c', file, s] },
    ];
    const times = tools.map(() => []);
    console.log(`stack deploy + wait of ${services} services on a ${nodes}-node swarm, ${runs} runs (+1 warm-up); ${machineLoad()}`);
    for (let round = 0; round <= runs; round++) {
      const order = round % 2 === 0 ? [0, 1] : [1, 0];
      for (const j of order) {
        const stack = `bench${round}${j}`;
        const seconds = timeRun(tools[j].argv(stack), { env });
        const counts = replicas(stack);
        if (counts.length !== services || counts.some((c) => !/^1\/1/.test(c))) throw new Error(`${tools[j].name}: not every service runs: ${counts.join(' ')}`);
        if (round > 0) times[j].push(seconds);
        console.log(`  ${round === 0 ? 'warm-up' : `run ${round}`}: ${tools[j].name} ${seconds.toFixed(3)} s`);
        await removeStack(FLOTILLA, stack);
      }
    }
    const results = tools.map((t, j) => ({ name: t.name, runs: times[j], median: median(times[j]) }));
    printComparison(`stack deploy of ${services} services until converged`, results, 'docker stack deploy --detach=false', { 'flotilla stack deploy --wait': TARGET });
  },
);
