/**
 * `flotilla image build` on the embedded engine with a registry and secrets: a base image the
 * store lacks is pulled with the Docker config's credentials (and the build fails at its FROM
 * line without them), `--pull` takes the registry's newer image under the same tag, `--secret`
 * reaches `RUN --mount=type=secret` and no layer, `builder prune` frees the build cache (dangling
 * steps, or with -a all of it), and a platform other than the engine's own is refused on the
 * command line and in `FROM --platform`.
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
import { digestOf, requireRegistry, seedImage, startRegistry } from '../helpers/registry.js';
import { requireRoot } from '../helpers/root.js';
import { projectDir } from '../helpers/tmp.js';

const testDaemon = useTestDaemon();

function cli(cwd: string, args: string[], env: Record<string, string>): CliResult {
  const daemon = testDaemon();
  assert.ok(daemon);
  return flotilla(args, { cwd, env: { ...daemon.env, FLOTILLA_ENGINE: 'embedded', ...env }, timeoutMs: 300_000 });
}

/** Every regular file's contents in the image, by path. */
function files(id: string): Map<string, string> {
  const out = new Map<string, string>();
  withImageView(testDaemon()!.paths.images, id, (root) => {
    for (const [path, record] of walkTree(root)) if (record.type === 'file') out.set(path, readFileSync(join(root, path), 'latin1'));
  });
  return out;
}

describe('image build with a registry and secrets on the embedded engine', () => {
  it('pulls a missing base with stored credentials, --pull takes a newer one, --secret reaches RUN only, other platforms are refused', async (t) => {
    if (!requireRoot(t) || !testDaemon()) return;
    if (!requireRegistry(t)) return;
    const reg = await startRegistry(t, { auth: true });
    const rootfs = readFileSync(await busyboxRootfsTar());
    const layer = { blob: gzipSync(rootfs), diffId: digestOf(rootfs) };
    const repo = `base${process.pid}/bb`;
    seedImage(reg, repo, 'v', [layer], { config: { Env: ['PATH=/bin', 'GEN=one'] } });

    const secret = `open sesame ${process.pid}`;
    const dir = projectDir(t, {
      Dockerfile: `FROM ${reg.host}/${repo}:v\nRUN --mount=type=secret,id=tok test "$(cat /run/secrets/tok)" = "${secret}" && echo "gen=$GEN" > /gen\nCMD ["cat", "/gen"]\n`,
      'tok.txt': secret,
    });
    const noCredentials = mkdtempSync(join(tmpdir(), 'flt-docker-config-'));
    const withCredentials = mkdtempSync(join(tmpdir(), 'flt-docker-config-'));
    t.after(() => {
      rmSync(noCredentials, { recursive: true, force: true });
      rmSync(withCredentials, { recursive: true, force: true });
    });
    writeFileSync(join(withCredentials, 'config.json'), JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from(`${reg.user}:${reg.password}`).toString('base64') } } }));
    const tag = `flt-built-${process.pid}:1`;

    // Without credentials the pull of the base fails, located at the FROM line; nothing is tagged.
    const refused = cli(dir, ['image', 'build', '-q', '-t', tag, '--secret', 'id=tok,src=tok.txt', '.'], { DOCKER_CONFIG: noCredentials });
    assertCleanError(refused, /Dockerfile:1: FROM: .*unauthorized/i);
    assert.equal(cli(dir, ['image', 'inspect', tag], { DOCKER_CONFIG: noCredentials }).status, 1, 'nothing tagged');

    const built = cli(dir, ['image', 'build', '-q', '-t', tag, '--secret', 'id=tok,src=tok.txt', '.'], { DOCKER_CONFIG: withCredentials });
    assert.equal(built.status, 0, built.stderr);
    const first = files(built.stdout.trim());
    assert.equal(first.get('gen'), 'gen=one\n', 'RUN saw the secret (its test passed) and the pulled base');
    for (const [path, content] of first) assert.ok(!content.includes(secret), `the secret is in no layer (found in ${path})`);
    assert.doesNotMatch(built.stdout + built.stderr, new RegExp(reg.password!), 'the password is never printed');

    // The registry gets a newer image under the tag: a build finds the stored one, --pull the new one.
    seedImage(reg, repo, 'v', [layer], { config: { Env: ['PATH=/bin', 'GEN=two'] } });
    const again = cli(dir, ['image', 'build', '-q', '--secret', 'id=tok,src=tok.txt', '.'], { DOCKER_CONFIG: withCredentials });
    assert.equal(again.status, 0, again.stderr);
    assert.equal(again.stdout.trim(), built.stdout.trim(), 'without --pull the stored base is used');
    const pulled = cli(dir, ['image', 'build', '-q', '--pull', '--secret', 'id=tok,src=tok.txt', '.'], { DOCKER_CONFIG: withCredentials });
    assert.equal(pulled.status, 0, pulled.stderr);
    assert.equal(files(pulled.stdout.trim()).get('gen'), 'gen=two\n');

    // A secret from the environment, and a missing one refused before anything runs.
    const fromEnv = cli(dir, ['image', 'build', '-q', '--no-cache', '--secret', 'id=tok,env=FLT_TOKEN', '.'], { DOCKER_CONFIG: withCredentials, FLT_TOKEN: secret });
    assert.equal(fromEnv.status, 0, fromEnv.stderr);
    const missing = cli(dir, ['image', 'build', '-q', '--secret', 'id=tok,src=nowhere.txt', '.'], { DOCKER_CONFIG: withCredentials });
    assertCleanError(missing, /--secret tok: cannot read nowhere\.txt: no such file/);

    // builder prune: without -a, the steps whose layers stored images have stay (a rebuild finds
    // them) and the context copies go; with -a, every step goes and the rebuild runs them all.
    const env = { DOCKER_CONFIG: withCredentials };
    const dangling = cli(dir, ['builder', 'prune', '-f'], env);
    assert.equal(dangling.status, 0, dangling.stderr);
    assert.match(dangling.stdout, /^Deleted build cache objects:\n(.*\n)*context copies\n\nTotal reclaimed space: [\d.]+ [kMG]?B\n$/);
    const stillCached = cli(dir, ['image', 'build', '--secret', 'id=tok,src=tok.txt', '.'], env);
    assert.equal(stillCached.status, 0, stillCached.stderr);
    assert.match(stillCached.stderr, /#\d+ \[[^\]]*\] RUN --mount=type=secret[^\n]*\n#\d+ CACHED\n/, stillCached.stderr);
    const everything = cli(dir, ['builder', 'prune', '-a', '-f'], env);
    assert.equal(everything.status, 0, everything.stderr);
    assert.match(everything.stdout, /^Deleted build cache objects:\n[0-9a-f]{64}\n/);
    assert.doesNotMatch(everything.stdout, /Total reclaimed space: 0 B\n/);
    const again2 = cli(dir, ['builder', 'prune', '-a', '-f'], env);
    assert.equal(again2.stdout, 'Total reclaimed space: 0 B\n', 'nothing is left to prune');
    const rebuilt = cli(dir, ['image', 'build', '--secret', 'id=tok,src=tok.txt', '.'], env);
    assert.equal(rebuilt.status, 0, rebuilt.stderr);
    assert.doesNotMatch(rebuilt.stderr, /CACHED/, 'every step runs again');
    const unconfirmed = cli(dir, ['builder', 'prune'], env);
    assertCleanError(unconfirmed, /confirm with -f/);

    // Another platform: refused on the command line and in FROM --platform, at its line.
    const platform = cli(dir, ['image', 'build', '-q', '--platform', 'linux/arm64', '.'], { DOCKER_CONFIG: withCredentials });
    assertCleanError(platform, /platform linux\/arm64 is not supported: the embedded engine builds for linux\/amd64 only/);
    writeFileSync(join(dir, 'Dockerfile'), `FROM ${reg.host}/${repo}:v\nFROM --platform=linux/s390x ${reg.host}/${repo}:v\n`);
    const fromPlatform = cli(dir, ['image', 'build', '-q', '.'], { DOCKER_CONFIG: withCredentials });
    assertCleanError(fromPlatform, /Dockerfile:2: FROM: platform linux\/s390x is not supported/);

    for (const ref of [tag, built.stdout.trim(), pulled.stdout.trim(), fromEnv.stdout.trim(), `${reg.host}/${repo}:v`]) cli(dir, ['image', 'rm', '-f', ref], { DOCKER_CONFIG: withCredentials });
  });
});
