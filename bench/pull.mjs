// Benchmark of the embedded engine's pull (run as root): `flotilla image pull` of a multi-layer
// image from a docker-registry on 127.0.0.1 against `docker pull` on the shared dockerd from the
// same registry, in the same run, the tools taking turns, plus the floor:
//   cold    nothing of the image on the engine (removed after each pull: its layers go with it)
//   cached  the image already there (the manifest is asked for, nothing else)
//   floor   one process doing only the unavoidable work on the same blobs from local files:
//           sha256 of each compressed blob, gunzip, sha256 of the tar, and its files written
//           (tar-stream), the layers at once as the pull's three downloads go
// The image: a Debian bookworm base made by `mmdebstrap --variant=minbase` (the test cache's,
// test/helpers/debian-base.ts; a file unique to this run added, so that no layer dockerd already
// has from elsewhere is skipped), then three layers: 3,000 small text files, one 24 MiB file of
// random bytes, and a few files with owners, a symlink and a hard link.
// The registry and the daemon run on state of their own; every image they hold is removed at the end.
//
//   node bench/pull.mjs [--runs N]
//
// Target: cold pull <= 0.8 of docker pull's.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chownSync, linkSync, symlinkSync, chmodSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { gzipSync, createGunzip } from 'node:zlib';
import { machineLoad, median, option, printComparison, run, snapshotFlotilla, startEmbeddedDaemon, timeRun, withCleanup } from './lib.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = (p) => join(root, 'dist', p);
const DOCKER = '/usr/bin/docker';
const TARGET = 0.8;

// ---- the floor, run as a child process: `node bench/pull.mjs --floor OUT BLOB...` ----

async function floor(out, blobs) {
  const { extract } = (await import('tar-stream')).default ?? (await import('tar-stream'));
  await Promise.all(
    blobs.map(async (blob, n) => {
      const dir = join(out, String(n));
      await mkdir(dir, { recursive: true });
      const compressed = createHash('sha256');
      const plain = createHash('sha256');
      const x = extract();
      x.on('entry', (h, body, next) => {
        const path = join(dir, h.name);
        const done = (e) => (e ? x.destroy(e) : next());
        if (h.type === 'directory') {
          mkdirSync(path, { recursive: true, mode: h.mode });
          body.resume();
          body.on('end', () => done());
        } else if (h.type === 'file') {
          mkdirSync(dirname(path), { recursive: true });
          pipeline(body, createWriteStream(path, { mode: h.mode })).then(() => {
            chownSync(path, h.uid, h.gid);
            done();
          }, done);
        } else {
          mkdirSync(dirname(path), { recursive: true });
          if (h.type === 'symlink') symlinkSync(h.linkname, path);
          else if (h.type === 'link') linkSync(join(dir, h.linkname), path);
          body.resume();
          body.on('end', () => done());
        }
      });
      const source = createReadStream(blob, { highWaterMark: 1 << 20 });
      source.on('data', (c) => compressed.update(c));
      const gunzip = createGunzip();
      gunzip.on('data', (c) => plain.update(c));
      await pipeline(source, gunzip, x);
      process.stdout.write(`${compressed.digest('hex')} ${plain.digest('hex')}\n`);
    }),
  );
}

if (process.argv[2] === '--floor') {
  await floor(process.argv[3], process.argv.slice(4));
  process.exit(0);
}

// ---- the benchmark ----

const runs = Number(option('runs', '5'));
if (process.getuid?.() !== 0) throw new Error('the embedded engine needs root: run with sudo');
if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');

const { daemonPaths } = await import(dist('src/daemon/paths.js'));
const { DAEMON_NODE_OPTIONS } = await import(dist('src/contract/location.js'));
const { probeSocket } = await import(dist('src/contract/probe.js'));
const { purgeHost } = await import(dist('test/helpers/embedded-daemon.js'));
const { startRegistry, seedImage, digestOf } = await import(dist('test/helpers/registry.js'));
const { debianBaseTar } = await import(dist('test/helpers/debian-base.js'));
const { tar, dir: tarDir, file, symlink, hardlink } = await import(dist('test/daemon/images/tarball.js'));

const work = mkdtempSync(join(tmpdir(), 'flotilla-bench-pull-'));
const env = { PATH: process.env.PATH, HOME: work, LANG: 'C.UTF-8', FLOTILLA_ROOT: join(work, 'state') };
const paths = daemonPaths(env);
const cleanups = [];
let daemon = null;
let ref = null;

function layerOf(plain) {
  return { blob: gzipSync(plain), diffId: digestOf(plain) };
}

/** The base: the Debian tarball with a file unique to this run appended (GNU tar --append). */
async function baseLayer() {
  const debian = await debianBaseTar();
  const copy = join(work, 'base.tar');
  run(['cp', debian, copy]);
  mkdirSync(join(work, 'unique', 'etc'), { recursive: true });
  writeFileSync(join(work, 'unique', 'etc', 'flotilla-bench-run'), `${randomBytes(16).toString('hex')}\n`);
  run(['tar', '--append', '--numeric-owner', '-f', copy, '-C', join(work, 'unique'), 'etc/flotilla-bench-run']);
  return layerOf(readFileSync(copy));
}

function appLayers() {
  const small = [tarDir('srv'), tarDir('srv/static')];
  for (let i = 0; i < 3000; i++) small.push(file(`srv/static/page-${i}.html`, `<p>page ${i}</p>\n`.repeat(40)));
  const big = [tarDir('opt'), file('opt/model.bin', randomBytes(24 << 20))];
  const config = [tarDir('etc'), tarDir('etc/app'), file('etc/app/app.conf', 'listen = 8080\n', { uid: 1000, gid: 1000 }), file('etc/app/secret', 'x\n', { mode: 0o600, uid: 1000, gid: 1000 }), symlink('etc/app/current', 'app.conf'), hardlink('etc/app/again', 'etc/app/app.conf')];
  return [layerOf(tar(small)), layerOf(tar(big)), layerOf(tar(config))];
}

await withCleanup(
  () => {
    if (ref !== null) spawnSync(DOCKER, ['image', 'rm', '-f', ref], { stdio: 'ignore' });
    if (daemon && daemon.exitCode === null) daemon.kill('SIGKILL');
    for (const c of cleanups.reverse()) c();
    purgeHost(paths);
    rmSync(work, { recursive: true, force: true });
  },
  async () => {
    console.error('making the image (a Debian base and three layers)');
    const layers = [await baseLayer(), ...appLayers()];
    const registry = await startRegistry({ after: (fn) => cleanups.push(fn) });
    const repo = `bench/pull-${process.pid}`;
    seedImage(registry, repo, '1', layers, { config: { Cmd: ['sh'] } });
    ref = `${registry.host}/${repo}:1`;
    const blobs = layers.map((l, n) => {
      const path = join(work, `layer-${n}.tar.gz`);
      writeFileSync(path, l.blob);
      return path;
    });
    const sizes = layers.map((l) => `${(l.blob.length / 1048576).toFixed(1)} MiB`).join(' + ');

    const FLOTILLA = snapshotFlotilla(root, work);
    daemon = await startEmbeddedDaemon(FLOTILLA, env, paths, probeSocket, DAEMON_NODE_OPTIONS);
    const flotilla = (args) => [FLOTILLA, ...args];
    const remove = {
      flotilla: () => run(flotilla(['image', 'rm', ref]), { env }),
      'docker pull': () => run([DOCKER, 'image', 'rm', ref]),
    };
    const pull = {
      flotilla: () => timeRun(flotilla(['image', 'pull', '-q', ref]), { env }),
      'docker pull': () => timeRun([DOCKER, 'pull', '-q', ref]),
    };
    const floorDir = join(work, 'floor');
    const floorRun = () => {
      rmSync(floorDir, { recursive: true, force: true });
      const t = timeRun([process.execPath, fileURLToPath(import.meta.url), '--floor', floorDir, ...blobs]);
      return t;
    };
    // The floor's digests must be the layers' (it did the same work, not less).
    const check = run([process.execPath, fileURLToPath(import.meta.url), '--floor', floorDir, ...blobs]).trim().split('\n').sort();
    const expected = layers.map((l) => `${digestOf(l.blob).slice(7)} ${l.diffId.slice(7)}`).sort();
    if (JSON.stringify(check) !== JSON.stringify(expected)) throw new Error(`the floor's digests differ: ${check.join(', ')}`);

    const times = { cold: { flotilla: [], 'docker pull': [], floor: [] }, cached: { flotilla: [], 'docker pull': [] } };
    const started = new Date();
    const before = machineLoad();
    for (let i = 0; i <= runs; i++) {
      const record = i > 0; // round 0 warms up
      const order = i % 2 === 0 ? ['flotilla', 'docker pull'] : ['docker pull', 'flotilla'];
      console.error(`round ${i} of ${runs}${record ? '' : ' (warm-up)'}`);
      for (const who of order) {
        const cold = pull[who]();
        const cached = pull[who]();
        remove[who]();
        if (record) {
          times.cold[who].push(cold);
          times.cached[who].push(cached);
        }
      }
      const f = floorRun();
      if (record) times.cold.floor.push(f);
    }
    const after = machineLoad();
    const result = (phase) => Object.entries(times[phase]).map(([name, t]) => ({ name, runs: t, median: median(t) }));
    console.log(`\nPull benchmark (${layers.length} layers: ${sizes} compressed), ${started.toISOString()}; ${before} before, ${after} after`);
    printComparison(`cold pull (nothing of the image on the engine): medians of ${runs} runs`, result('cold'), 'docker pull', { flotilla: TARGET });
    printComparison(`cached pull (the image already there): medians of ${runs} runs`, result('cached'), 'docker pull');

    const stop = new Promise((resolve) => daemon.once('exit', resolve));
    daemon.kill('SIGTERM');
    await stop;
  },
);
