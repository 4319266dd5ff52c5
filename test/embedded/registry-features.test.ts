/**
 * The embedded engine with a registry that wants credentials (htpasswd): `bundle` pins an image
 * the engine lacks to the digest the registry has, asking with the Docker config's credentials
 * as a pull does (and fails, naming the service, without them); a build with `cache_from` (and
 * `image build --cache-from`) pulls the pushed image and takes its steps from it on a clean
 * store and build cache, running no RUN, and runs them again once the context changes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { walkTree } from '../helpers/buildkit.js';
import { assertCleanError, flotilla, type CliResult } from '../helpers/cli.js';
import { useTestDaemon } from '../helpers/embedded-daemon.js';
import { busyboxRootfsTar, withImageView } from '../helpers/embedded-images.js';
import { digestOf, requireRegistry, seedImage, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { requireRoot } from '../helpers/root.js';
import { projectDir } from '../helpers/tmp.js';
import type { TestContext } from 'node:test';

const testDaemon = useTestDaemon();

function cli(cwd: string, args: string[], env: Record<string, string>): CliResult {
  const daemon = testDaemon();
  assert.ok(daemon);
  return flotilla(args, { cwd, env: { ...daemon.env, FLOTILLA_ENGINE: 'embedded', ...env }, timeoutMs: 300_000 });
}

/** A Docker config folder with the registry's credentials in `auths`, and one with none. */
function dockerConfigs(t: TestContext, reg: TestRegistry): { withCredentials: string; noCredentials: string } {
  const withCredentials = mkdtempSync(join(tmpdir(), 'flt-docker-config-'));
  const noCredentials = mkdtempSync(join(tmpdir(), 'flt-docker-config-'));
  t.after(() => {
    rmSync(withCredentials, { recursive: true, force: true });
    rmSync(noCredentials, { recursive: true, force: true });
  });
  writeFileSync(join(withCredentials, 'config.json'), JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from(`${reg.user}:${reg.password}`).toString('base64') } } }));
  return { withCredentials, noCredentials };
}

describe('the embedded engine and a registry with credentials', () => {
  it('bundle resolves a digest with the Docker config credentials', async (t) => {
    if (!requireRoot(t) || !testDaemon()) return;
    if (!requireRegistry(t)) return;
    const reg = await startRegistry(t, { auth: true });
    const { withCredentials, noCredentials } = dockerConfigs(t, reg);
    const rootfs = readFileSync(await busyboxRootfsTar());
    const repo = `bundle${process.pid}/app`;
    const seeded = seedImage(reg, repo, 'v1', [{ blob: gzipSync(rootfs), diffId: digestOf(rootfs) }]);
    const ref = `${reg.host}/${repo}:v1`;
    const dir = projectDir(t, { 'compose.yaml': `services:\n  app:\n    image: ${ref}\n` });

    const refused = cli(dir, ['-p', `fltbundle${process.pid}`, 'bundle', '-o', 'app.dab'], { DOCKER_CONFIG: noCredentials });
    assertCleanError(refused, /digest not found for service 'app'/);

    const bundled = cli(dir, ['-p', `fltbundle${process.pid}`, 'bundle', '-o', 'app.dab'], { DOCKER_CONFIG: withCredentials });
    assert.equal(bundled.status, 0, bundled.stderr);
    const dab = JSON.parse(readFileSync(join(dir, 'app.dab'), 'utf8')) as { Services: Record<string, { Image: string }> };
    assert.equal(dab.Services['app']?.Image, `${ref}@${seeded.manifestDigest}`);
    assert.doesNotMatch(bundled.stdout + bundled.stderr, new RegExp(reg.password!), 'the password is never printed');
  });

  it('cache_from: a rebuild on a clean store takes the steps of the pulled image instead of running them', async (t) => {
    if (!requireRoot(t) || !testDaemon()) return;
    if (!requireRegistry(t)) return;
    const reg = await startRegistry(t, { auth: true });
    const { withCredentials } = dockerConfigs(t, reg);
    const env = { DOCKER_CONFIG: withCredentials };
    const rootfs = readFileSync(await busyboxRootfsTar());
    const baseRef = `${reg.host}/cachebase${process.pid}/bb:v`;
    seedImage(reg, `cachebase${process.pid}/bb`, 'v', [{ blob: gzipSync(rootfs), diffId: digestOf(rootfs) }]);
    const appRef = `${reg.host}/cacheapp${process.pid}/app:cache`;
    const project = `fltcache${process.pid}`;
    // The RUN prints a marker its own text does not contain, and leaves a stamp no rerun repeats.
    const dir = projectDir(t, {
      Dockerfile: `FROM ${baseRef}\nWORKDIR /app\nCOPY a.txt .\nRUN printf 'ran%s\\n' -marker && cat /proc/sys/kernel/random/uuid > /app/stamp\nENV MODE=cached\nCMD ["cat", "/app/stamp"]\n`,
      'a.txt': 'one\n',
      'compose.yaml': `services:\n  app:\n    build:\n      context: .\n      cache_from:\n        - ${appRef}\n    image: ${appRef}\n`,
    });
    const stamp = (ref: string): string => {
      const id = (JSON.parse(cli(dir, ['image', 'inspect', ref], env).stdout) as { Id: string }[])[0]!.Id;
      return withImageView(testDaemon()!.paths.images, id, (root) => (walkTree(root).has('app/stamp') ? readFileSync(join(root, 'app/stamp'), 'utf8') : ''));
    };
    const clean = () => {
      for (const ref of [appRef, baseRef]) cli(dir, ['image', 'rm', '-f', ref], env);
      assert.equal(cli(dir, ['builder', 'prune', '-a', '-f'], env).status, 0);
      assert.notEqual(cli(dir, ['image', 'inspect', appRef], env).status, 0, 'the built image is gone');
    };

    const first = cli(dir, ['-p', project, 'build'], env);
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /^#\d+ ran-marker$/m, 'the first build runs the RUN');
    assert.match(first.stdout, /cache_from .* is not used/, 'the cache image is not in the registry yet');
    const builtId = (JSON.parse(cli(dir, ['image', 'inspect', appRef], env).stdout) as { Id: string; Config: Record<string, unknown> }[])[0]!;
    assert.deepEqual(Object.keys(builtId.Config).filter((k) => /cache/i.test(k)), [], 'image inspect\'s Config carries no cache keys');
    const firstStamp = stamp(appRef);
    assert.match(firstStamp, /^[0-9a-f-]{36}\n$/);
    assert.equal(cli(dir, ['-p', project, 'push'], env).status, 0, 'push');

    // A clean store and build cache: the base and the cache image are pulled, no step runs.
    clean();
    const rebuilt = cli(dir, ['-p', project, 'build'], env);
    assert.equal(rebuilt.status, 0, rebuilt.stderr);
    assert.match(rebuilt.stdout, new RegExp(`importing cache manifest from ${appRef.replace(/[.]/g, '\\.')}`));
    assert.doesNotMatch(rebuilt.stdout, /ran-marker/, `no RUN ran:\n${rebuilt.stdout}`);
    const steps = rebuilt.stdout.split('\n').filter((l) => /^#\d+ \[/.test(l)).length;
    assert.equal(rebuilt.stdout.split('\n').filter((l) => /^#\d+ CACHED$/.test(l)).length, steps, rebuilt.stdout);
    assert.equal(stamp(appRef), firstStamp, 'the layer is the pushed one');
    assert.equal((JSON.parse(cli(dir, ['image', 'inspect', appRef], env).stdout) as { Id: string }[])[0]!.Id, builtId.Id, 'the same image');

    // image build --cache-from on a clean store; a changed file runs the steps from its COPY on.
    clean();
    const byFlag = cli(dir, ['image', 'build', '-t', `flt-cache-${process.pid}:1`, '--cache-from', appRef, '.'], env);
    assert.equal(byFlag.status, 0, byFlag.stderr);
    assert.doesNotMatch(byFlag.stderr, /ran-marker/, byFlag.stderr);
    assert.equal(stamp(`flt-cache-${process.pid}:1`), firstStamp);
    writeFileSync(join(dir, 'a.txt'), 'two\n');
    const changed = cli(dir, ['image', 'build', '-t', `flt-cache-${process.pid}:1`, '--cache-from', appRef, '.'], env);
    assert.equal(changed.status, 0, changed.stderr);
    assert.match(changed.stderr, /^#\d+ ran-marker$/m, 'a changed context runs the RUN again');
    assert.notEqual(stamp(`flt-cache-${process.pid}:1`), firstStamp);
    for (const ref of [appRef, baseRef, `flt-cache-${process.pid}:1`]) cli(dir, ['image', 'rm', '-f', ref], env);
  });
});
