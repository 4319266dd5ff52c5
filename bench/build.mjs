// Benchmark of the embedded engine's builder (run as root): `flotilla image build` of
// examples/build against `DOCKER_BUILDKIT=1 docker build` (Debian's CLI, dockerd 20.10's
// BuildKit) of the same context, in the same run, the tools taking turns:
//   cold    every step run (--no-cache on both; the base image present on both)
//   cached  nothing changed since the last build (every step from the cache)
//   edit    one source file changed: the steps from its COPY on run again
// The daemon runs on a state root of its own; the images each tool made are removed at the end.
//
//   node bench/build.mjs [--runs N]
//
// Targets: cached rebuild <= 0.5 of BuildKit's, cold <= 1.0.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineLoad, median, option, printComparison, run, snapshotFlotilla, timeRun, startEmbeddedDaemon, withCleanup } from './lib.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const runs = Number(option('runs', '5'));
const TARGETS = { cold: 1.0, cached: 0.5 };
const DOCKER = '/usr/bin/docker';

if (process.getuid?.() !== 0) throw new Error('the embedded engine needs root: run with sudo');
if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');

const dist = (p) => join(root, 'dist', p);
const { daemonPaths } = await import(dist('src/daemon/paths.js'));
const { DAEMON_NODE_OPTIONS } = await import(dist('src/contract/location.js'));
const { probeSocket } = await import(dist('src/contract/probe.js'));
const { purgeHost } = await import(dist('test/helpers/embedded-daemon.js'));

const dir = mkdtempSync(join(tmpdir(), 'flotilla-bench-build-'));
const env = { PATH: process.env.PATH, HOME: dir, LANG: 'C.UTF-8', FLOTILLA_ROOT: join(dir, 'state') };
const paths = daemonPaths(env);
const tag = `flotilla-bench-build-${process.pid}`;
const base = `${tag}-busybox:latest`;
let daemon = null;

await withCleanup(
  () => {
    try {
      run([DOCKER, 'image', 'rm', '-f', `${tag}:docker`, base]);
    } catch {
      // not made
    }
    if (daemon && daemon.exitCode === null) daemon.kill('SIGKILL');
    purgeHost(paths);
    rmSync(dir, { recursive: true, force: true });
  },
  async () => {
    const FLOTILLA = snapshotFlotilla(root, dir);
    daemon = await startEmbeddedDaemon(FLOTILLA, env, paths, probeSocket, DAEMON_NODE_OPTIONS);
    // The same busybox on both sides: busybox:latest for flotilla, a name of our own on dockerd.
    run(['sh', '-c', `"${join(root, 'scripts', 'busybox-image')}" - | "${FLOTILLA}" image load -q`], { env });
    run(['sh', '-c', `TAG=${base} "${join(root, 'scripts', 'busybox-image')}" - | "${DOCKER}" load -q`]);
    const context = join(dir, 'context');
    cpSync(join(root, 'examples', 'build'), context, { recursive: true });

    const flotilla = (extra) => [FLOTILLA, 'image', 'build', '-q', '-t', `${tag}:flotilla`, ...extra, context];
    const buildkit = (extra) => [DOCKER, 'build', '-q', '-t', `${tag}:docker`, '--build-arg', `BASE=${base}`, ...extra, context];
    const dockerEnv = { ...process.env, DOCKER_BUILDKIT: '1' };
    const time = (who, extra) => (who === 'flotilla' ? timeRun(flotilla(extra), { env }) : timeRun(buildkit(extra), { env: dockerEnv }));

    const times = { cold: {}, cached: {}, edit: {} };
    for (const phase of Object.keys(times)) times[phase] = { flotilla: [], 'docker buildkit': [] };
    const started = new Date();
    const before = machineLoad();
    for (let i = 0; i <= runs; i++) {
      const record = i > 0; // round 0 warms up
      const order = i % 2 === 0 ? ['flotilla', 'docker buildkit'] : ['docker buildkit', 'flotilla'];
      console.error(`round ${i} of ${runs}${record ? '' : ' (warm-up)'}`);
      for (const who of order) {
        const cold = time(who, ['--no-cache']);
        const cached = time(who, []);
        writeFileSync(join(context, 'src', 'cache.txt'), `edited in round ${i} by ${who}\n`);
        const edit = time(who, []);
        if (record) {
          times.cold[who].push(cold);
          times.cached[who].push(cached);
          times.edit[who].push(edit);
        }
      }
    }
    const after = machineLoad();
    const result = (phase) => Object.entries(times[phase]).map(([name, t]) => ({ name, runs: t, median: median(t) }));
    console.log(`\nBuilder benchmark (examples/build), ${started.toISOString()}; ${before} before, ${after} after`);
    printComparison(`cold build (--no-cache): medians of ${runs} runs`, result('cold'), 'docker buildkit', { flotilla: TARGETS.cold });
    printComparison(`cached rebuild (nothing changed): medians of ${runs} runs`, result('cached'), 'docker buildkit', { flotilla: TARGETS.cached });
    printComparison(`rebuild after editing one source file: medians of ${runs} runs`, result('edit'), 'docker buildkit');

    const stop = new Promise((resolve) => daemon.once('exit', resolve));
    daemon.kill('SIGTERM');
    await stop;
  },
);
