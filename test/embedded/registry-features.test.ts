/**
 * The embedded engine with a registry that wants credentials (htpasswd): `bundle` pins an image
 * the engine lacks to the digest the registry has, asking with the Docker config's credentials
 * as a pull does (and fails, naming the service, without them).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { assertCleanError, flotilla, type CliResult } from '../helpers/cli.js';
import { useTestDaemon } from '../helpers/embedded-daemon.js';
import { busyboxRootfsTar } from '../helpers/embedded-images.js';
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
});
