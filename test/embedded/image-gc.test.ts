/**
 * The image store's garbage rules and interruptions, on a real daemon through the CLI:
 *  - `image rm` refuses the last name of an image a container uses unless forced; forced, it only
 *    untags, and the container goes on; once the container is gone the image can be deleted.
 *  - the daemon killed (SIGKILL) in the middle of a pull, some layers verified and one half
 *    downloaded: no image is visible, and after a restart the same pull fetches only the layer
 *    that was not finished, from where it stopped (Range), and gives the registry's image.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { gzipSync } from 'node:zlib';
import { FLOTILLA, assertCleanError, type CliResult } from '../helpers/cli.js';
import { embeddedCli, succeeded } from '../helpers/embedded-cli.js';
import { useTestDaemon } from '../helpers/embedded-daemon.js';
import { busyboxRootfsTar } from '../helpers/embedded-images.js';
import { digestOf, requireRegistry, seedImage, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { requireRoot } from '../helpers/root.js';
import { projectDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';
import { dir, file, tar } from '../daemon/images/tarball.js';

const testDaemon = useTestDaemon();
const cli = embeddedCli(testDaemon, 180_000);

/** The CLI run without blocking this process (the proxy below must go on answering meanwhile). */
function cliAsync(cwd: string, args: string[]): { done: Promise<CliResult> } {
  const daemon = testDaemon();
  assert.ok(daemon);
  const child = spawn(FLOTILLA, args, { cwd, env: { HOME: cwd, LANG: 'C.UTF-8', ...daemon.env, FLOTILLA_ENGINE: 'embedded' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return { done: new Promise((resolve) => child.once('close', (status) => resolve({ status, stdout, stderr }))) };
}

interface Seen {
  method: string;
  url: string;
  range?: string;
}

/**
 * A proxy in front of the registry that, while `stall.on`, sends half of the blob `stall.url`
 * and then nothing more, holding the connection open (a download caught in the middle).
 */
async function stallingProxy(t: TestContext, reg: TestRegistry, stall: { url: string; on: boolean; sent: number }): Promise<{ port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', ...(req.headers.range ? { range: req.headers.range } : {}) });
    const stalling = stall.on && req.method === 'GET' && req.url === stall.url;
    const up = request({ host: '127.0.0.1', port: Number(reg.host.split(':')[1]), method: req.method, path: req.url, headers: { ...req.headers, host: reg.host } }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      if (!stalling) {
        r.pipe(res);
        return;
      }
      const half = Number(r.headers['content-length'] ?? 0) / 2;
      r.on('data', (chunk: Buffer) => {
        const room = half - stall.sent;
        if (room <= 0) return;
        const part = chunk.subarray(0, room);
        stall.sent += part.length;
        res.write(part);
      });
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const addr = server.address();
  return { port: typeof addr === 'object' && addr ? addr.port : 0, seen };
}

/** A gzip layer of one directory holding `size` random (incompressible) bytes. */
function randomLayer(name: string, size: number): { blob: Buffer; diffId: string } {
  const plain = tar([dir(name), file(`${name}/data`, randomBytes(size))]);
  return { blob: gzipSync(plain), diffId: digestOf(plain) };
}

describe('image garbage and interruptions on the embedded engine', () => {
  it('image rm refuses the last name of an image a container uses without --force; forced, it untags and the container goes on', async (t) => {
    const daemon = testDaemon();
    if (!requireRoot(t) || !daemon) return;
    const suffix = randomBytes(3).toString('hex');
    const name = `flt-gc-${suffix}:1`;
    const cwd = projectDir(t, { 'compose.yaml': `services:\n  app:\n    image: ${name}\n    command: ["sleep", "3600"]\n` }, `flt-gc-${suffix}`);
    const id = succeeded(cli(cwd, ['image', 'import', await busyboxRootfsTar(), name]), 'import').trim();
    t.after(() => void cli(cwd, ['down', '-v']));
    succeeded(cli(cwd, ['up', '-d']), 'up');

    assertCleanError(cli(cwd, ['image', 'rm', name]), new RegExp(`^ERROR: .*unable to remove repository reference "${name}" \\(must force\\) - image ${id.slice(7, 19)} is used by a container\\n$`));
    assertCleanError(cli(cwd, ['image', 'rm', id]), /cannot be forced\) - image is used by a container/);
    assert.ok(succeeded(cli(cwd, ['image', 'inspect', name]), 'inspect').includes(id), 'still named');

    assert.equal(succeeded(cli(cwd, ['image', 'rm', '-f', name]), 'rm -f'), `Untagged: ${name}\n`);
    assert.match(succeeded(cli(cwd, ['ps']), 'ps'), / Up /, 'the container goes on');
    assert.deepEqual((JSON.parse(succeeded(cli(cwd, ['image', 'inspect', id]), 'inspect by id')) as { RepoTags: string[] }[])[0]?.RepoTags, [], 'the image stays, without a name');

    succeeded(cli(cwd, ['down', '-v']), 'down');
    assert.match(succeeded(cli(cwd, ['image', 'rm', id]), 'rm after down'), new RegExp(`^Deleted: ${id}\\n$`));
    assert.equal(cli(cwd, ['image', 'inspect', id]).status, 1);
  });

  it('a pull interrupted by SIGKILL of the daemon leaves no image; after a restart it fetches only the unfinished layer, from where it stopped', async (t) => {
    const daemon = testDaemon();
    if (!requireRoot(t) || !daemon || !requireRegistry(t)) return;
    const reg = await startRegistry(t);
    const layers = [randomLayer('one', 1 << 20), randomLayer('two', 1 << 20), randomLayer('three', 4 << 20)];
    const seeded = seedImage(reg, 'crash/app', '1', layers);
    const [done1, done2, stalled] = layers.map((l) => digestOf(l.blob));
    const stall = { url: `/v2/crash/app/blobs/${stalled}`, on: true, sent: 0 };
    const proxy = await stallingProxy(t, reg, stall);
    const ref = `127.0.0.1:${proxy.port}/crash/app:1`;
    const cwd = projectDir(t, { 'compose.yaml': 'services: {}\n' }, `flt-crash-${randomBytes(3).toString('hex')}`);
    const images = daemon.paths.images;
    const blob = (d: string | undefined): string => join(images, 'blobs', 'sha256', (d ?? '').slice(7));
    const partial = join(images, 'ingest', `${(stalled ?? '').slice(7)}.partial`);

    const pull = cliAsync(cwd, ['image', 'pull', ref]);
    await waitFor('two layers are verified and half of the third is sent', () => existsSync(blob(done1)) && existsSync(blob(done2)) && stall.sent >= layers[2]!.blob.length / 2 - 1, 60_000, 50);
    await waitFor('the daemon wrote some of the third layer', () => existsSync(partial) && statSync(partial).size > 0, 60_000, 50);
    await daemon.kill();
    const interrupted = await pull.done;
    assert.equal(interrupted.status, 1, interrupted.stdout + interrupted.stderr);
    assert.ok(!/\n\s+at /.test(interrupted.stderr), `no stack trace: ${interrupted.stderr}`);

    // Nothing half-visible: the index names no such image, and its config is no image.
    const index = readFileSync(join(images, 'index.json'), 'utf8');
    assert.ok(!index.includes(`crash/app`) && !index.includes(seeded.configDigest), index);
    const kept = statSync(partial).size;
    assert.ok(kept > 0);

    stall.on = false;
    await daemon.start();
    const none = cli(cwd, ['image', 'inspect', ref]);
    assert.deepEqual([none.status, none.stdout], [1, '[]\n'], 'no image after the restart either');
    const before = proxy.seen.length;
    const pulled = succeeded(await cliAsync(cwd, ['image', 'pull', ref]).done, 'pull after the restart');
    assert.match(pulled, new RegExp(`Status: Downloaded newer image for ${ref.replace(/\./g, '\\.')}\\n$`));
    const layerDigests = new Set(layers.map((l) => digestOf(l.blob)));
    const blobs = proxy.seen.slice(before).filter((s) => s.method === 'GET' && layerDigests.has(s.url.replace(/.*\/blobs\//, '')));
    // Of the layers, only the third is fetched again, from the end of what was kept.
    assert.deepEqual(blobs.map((s) => s.url.replace(/.*\/blobs\//, '')), [stalled], JSON.stringify(blobs));
    const resumed = blobs.find((s) => s.url.endsWith(stalled ?? ''));
    const from = Number(/^bytes=(\d+)-$/.exec(resumed?.range ?? '')?.[1] ?? -1);
    assert.ok(from > 0 && from <= kept, `resumed from ${from} (${kept} bytes kept, range ${resumed?.range})`);
    const inspected = JSON.parse(succeeded(cli(cwd, ['image', 'inspect', ref]), 'inspect')) as { Id: string; RootFS: { Layers: string[] } }[];
    assert.equal(inspected[0]?.Id, seeded.configDigest);
    assert.deepEqual(inspected[0]?.RootFS.Layers, layers.map((l) => l.diffId));
    assert.equal(existsSync(partial), false, 'the partial download became the blob');
  });
});
