/**
 * The CLI and a registry on the embedded engine: `image pull` with the credentials `docker login`
 * stores (~/.docker/config.json), a one-line error without them, and `up` pulling a service's
 * missing image from the registry and running it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { FLOTILLA, flotilla, type CliResult } from '../helpers/cli.js';
import { busyboxRootfsTar } from '../helpers/embedded-images.js';
import { useTestDaemon } from '../helpers/embedded-daemon.js';
import { curl, digestOf, haveRegistry, requireRegistry, seedImage, startRegistry, url } from '../helpers/registry.js';
import { requireRoot } from '../helpers/root.js';
import { projectDir } from '../helpers/tmp.js';
import { dir, file, tar } from '../daemon/images/tarball.js';

const testDaemon = useTestDaemon();

function cli(cwd: string, args: string[], env: Record<string, string> = {}): CliResult {
  const daemon = testDaemon();
  assert.ok(daemon);
  return flotilla(args, { cwd, env: { ...daemon.env, FLOTILLA_ENGINE: 'embedded', ...env }, timeoutMs: 180_000 });
}

describe('registries on the embedded engine', () => {
  it('image pull with stored credentials, refused without; up pulls what is missing and runs it', async (t) => {
    const daemon = testDaemon();
    if (!requireRoot(t) || !daemon) return;
    if (!requireRegistry(t)) return;
    const reg = await startRegistry(t, { auth: true });
    const rootfs = readFileSync(await busyboxRootfsTar());
    const layer = { blob: gzipSync(rootfs), diffId: digestOf(rootfs) };
    seedImage(reg, 'e2e/bb', '1', [layer], { config: { Cmd: ['sh', '-c', 'echo from-the-registry; sleep 3600'] } });
    seedImage(reg, 'e2e/bb', '2', [layer], { config: { Cmd: ['sh', '-c', 'echo pulled-by-up; sleep 3600'] } });

    const cwd = projectDir(t, { 'compose.yaml': `services:\n  app:\n    image: ${reg.host}/e2e/bb:2\n` }, `flt-reg-${process.pid}`);
    // No credentials: one line naming the registry, exit 1.
    const empty = mkdtempSync(join(tmpdir(), 'flt-docker-config-'));
    t.after(() => rmSync(empty, { recursive: true, force: true }));
    const refused = cli(cwd, ['image', 'pull', `${reg.host}/e2e/bb:1`], { DOCKER_CONFIG: empty });
    assert.equal(refused.status, 1, refused.stderr);
    assert.match(refused.stderr, /^ERROR: .*unauthorized.*flotilla login 127\.0\.0\.1:\d+\n$/);

    // The credentials as docker login writes them.
    const config = join(daemon.env['HOME'] ?? '', '.docker');
    mkdirSync(config, { recursive: true });
    writeFileSync(join(config, 'config.json'), JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from(`${reg.user}:${reg.password}`).toString('base64') } } }));
    const pulled = cli(cwd, ['image', 'pull', `${reg.host}/e2e/bb:1`]);
    assert.equal(pulled.status, 0, pulled.stderr);
    assert.match(pulled.stdout, /: Pull complete\n/);
    assert.match(pulled.stdout, new RegExp(`Status: Downloaded newer image for ${reg.host.replace(/\./g, '\\.')}/e2e/bb:1\\n$`));
    assert.doesNotMatch(pulled.stdout + pulled.stderr, new RegExp(reg.password ?? 'never'), 'the password is never printed');
    const quiet = cli(cwd, ['image', 'pull', '-q', `${reg.host}/e2e/bb:1`]);
    assert.equal(quiet.stdout, `${reg.host}/e2e/bb:1\n`);
    const listed = cli(cwd, ['image', 'ls']);
    assert.match(listed.stdout, new RegExp(`${reg.host.replace(/\./g, '\\.')}/e2e/bb +1 `));

    // up pulls the service's image (tag 2 shares the layer: only its config is new).
    const up = cli(cwd, ['up', '-d']);
    t.after(() => void cli(cwd, ['down', '-v']));
    assert.equal(up.status, 0, up.stderr);
    let logs = '';
    for (let i = 0; i < 50 && !logs.includes('pulled-by-up'); i++) {
      logs = cli(cwd, ['logs', '--no-color', 'app']).stdout;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.match(logs, /pulled-by-up/);
    const down = cli(cwd, ['down', '-v']);
    assert.equal(down.status, 0, down.stderr);

    // inspect and history of what was pulled.
    const inspected = JSON.parse(cli(cwd, ['image', 'inspect', `${reg.host}/e2e/bb:2`]).stdout) as { Id: string; RepoTags: string[]; RepoDigests: string[]; Config: { Cmd: string[] }; RootFS: { Type: string; Layers: string[] }; Os: string; Size: number }[];
    assert.equal(inspected.length, 1);
    const [info] = inspected;
    assert.deepEqual([info?.RepoTags, info?.Config.Cmd, info?.RootFS, info?.Os], [[`${reg.host}/e2e/bb:2`], ['sh', '-c', 'echo pulled-by-up; sleep 3600'], { Type: 'layers', Layers: [layer.diffId] }, 'linux']);
    assert.match(info?.RepoDigests[0] ?? '', new RegExp(`^${reg.host.replace(/\./g, '\\.')}/e2e/bb@sha256:[0-9a-f]{64}$`));
    const missing = cli(cwd, ['image', 'inspect', 'no-such-image:1']);
    assert.equal(missing.status, 1);
    assert.equal(missing.stdout, '[]\n');
    const history = cli(cwd, ['image', 'history', `${reg.host}/e2e/bb:2`]).stdout.trim().split('\n');
    assert.match(history[0] ?? '', /^IMAGE +CREATED +CREATED BY +SIZE +COMMENT$/);
    assert.equal(history.length, 2);
    assert.match(history[1] ?? '', new RegExp(`^${info?.Id.slice(7, 19)} `));

    // A tag moved away leaves the old image dangling: prune removes it, and only it.
    const old = JSON.parse(cli(cwd, ['image', 'inspect', `${reg.host}/e2e/bb:1`]).stdout) as { Id: string }[];
    assert.equal(cli(cwd, ['image', 'tag', `${reg.host}/e2e/bb:2`, `${reg.host}/e2e/bb:1`]).status, 0);
    const unconfirmed = cli(cwd, ['image', 'prune']);
    assert.equal(unconfirmed.status, 1, 'no TTY: -f is needed');
    const pruned = cli(cwd, ['image', 'prune', '-f']);
    assert.equal(pruned.status, 0, pruned.stderr);
    assert.match(pruned.stdout, new RegExp(`^Deleted Images:\n(untagged: .*\n)*deleted: ${old[0]?.Id}\n\nTotal reclaimed space: `));
    assert.equal(cli(cwd, ['image', 'inspect', old[0]?.Id ?? '']).status, 1);
    assert.equal(cli(cwd, ['image', 'inspect', 'busybox:latest']).status, 0, 'named images stay');
  });
});

/**
 * What a terminal shows after `raw` is written to it: text, \r, \n, cursor up and down (ESC[nA,
 * ESC[nB) and clearing a line (ESC[2K), the only controls the pull progress writes.
 */
function screen(raw: string): string[] {
  const lines: string[] = [''];
  let row = 0;
  let col = 0;
  for (const m of raw.matchAll(/\x1b\[(\d*)([AB])|\x1b\[2K|\r|\n|[^\x1b\r\n]+/g)) {
    const token = m[0];
    if (m[2] === 'A') row = Math.max(0, row - Number(m[1] || 1));
    else if (m[2] === 'B') row += Number(m[1] || 1);
    else if (token === '\x1b[2K') lines[row] = '';
    else if (token === '\r') col = 0;
    else if (token === '\n') {
      row++;
      col = 0;
    } else {
      const line = lines[row] ?? '';
      lines[row] = line.slice(0, col).padEnd(col) + token + line.slice(col + token.length);
      col += token.length;
    }
    for (let i = 0; i <= row; i++) lines[i] ??= '';
  }
  while (lines.length > 0 && lines.at(-1) === '') lines.pop();
  return lines;
}

describe('pull progress', () => {
  it('on a terminal a line per layer redrawn in place; piped one line per event without byte counts; -q the name only', async (t) => {
    const daemon = testDaemon();
    if (!requireRoot(t) || !daemon) return;
    if (!haveRegistry() || spawnSync('script', ['--version']).status !== 0) {
      if (process.env['FLOTILLA_CI'] === '1') assert.fail('docker-registry, curl and script are needed (scripts/install-deps)');
      t.skip('needs docker-registry, curl and script');
      return;
    }
    const reg = await startRegistry(t);
    const layers = [tar([dir('big'), file('big/data', randomBytes(12 << 20))]), tar([dir('small'), file('small/f', 'small\n')])].map((plain) => ({ blob: gzipSync(plain), diffId: digestOf(plain) }));
    seedImage(reg, 'e2e/progress', '1', layers);
    const ref = `${reg.host}/e2e/progress:1`;
    const ids = layers.map((l) => digestOf(l.blob).slice(7, 19)).sort();
    const cwd = projectDir(t, { 'compose.yaml': 'services: {}\n' }, `flt-progress-${process.pid}`);
    const env = { ...daemon.env, HOME: cwd, LANG: 'C.UTF-8', FLOTILLA_ENGINE: 'embedded' };

    // A pseudo-terminal (script), as a user at a terminal sees it.
    const onTty = spawnSync('script', ['-qec', `'${FLOTILLA}' image pull '${ref}'`, '/dev/null'], { cwd, env, encoding: 'utf8', timeout: 180_000 });
    assert.equal(onTty.status, 0, onTty.stdout + onTty.stderr);
    const shown = screen(onTty.stdout);
    assert.equal(shown[0], `1: Pulling from ${reg.host}/e2e/progress`);
    assert.deepEqual(shown.slice(1, 3).map((l) => l.split(':')[0]).sort(), ids, shown.join('\n'));
    for (const l of shown.slice(1, 3)) assert.match(l, /^[0-9a-f]{12}: Pull complete$/, 'each layer ends on one line of its own');
    assert.match(shown[3] ?? '', /^Digest: sha256:[0-9a-f]{64}$/);
    assert.equal(shown[4], `Status: Downloaded newer image for ${ref}`);
    assert.equal(shown.length, 5, shown.join('\n'));
    assert.match(onTty.stdout, /\x1b\[\d+A\r\x1b\[2K[0-9a-f]{12}: Downloading/, 'lines are redrawn in place with the bytes downloaded');

    // Piped: one line per event, no control characters, no byte counts.
    assert.equal(cli(cwd, ['image', 'rm', ref]).status, 0);
    const piped = cli(cwd, ['image', 'pull', ref]);
    assert.equal(piped.status, 0, piped.stderr);
    assert.doesNotMatch(piped.stdout, /\x1b|Downloading/);
    const lines = piped.stdout.trimEnd().split('\n');
    assert.equal(lines[0], `1: Pulling from ${reg.host}/e2e/progress`);
    assert.deepEqual(lines.filter((l) => l.endsWith(': Pull complete')).map((l) => l.split(':')[0]).sort(), ids);
    assert.equal(lines.at(-1), `Status: Downloaded newer image for ${ref}`);

    assert.equal(cli(cwd, ['image', 'rm', ref]).status, 0);
    const quiet = cli(cwd, ['image', 'pull', '-q', ref]);
    assert.deepEqual([quiet.status, quiet.stdout], [0, `${ref}\n`]);
  });
});

describe('login, push and logout through the CLI', () => {
  it('login checks and stores the credentials; image push prints the registry digest; logout removes them', async (t) => {
    const daemon = testDaemon();
    if (!requireRoot(t) || !daemon) return;
    if (!requireRegistry(t)) return;
    const reg = await startRegistry(t, { auth: true });
    const cwd = projectDir(t, { 'compose.yaml': 'services: {}\n' }, `flt-login-${process.pid}`);
    const dockerConfig = mkdtempSync(join(tmpdir(), 'flt-docker-config-'));
    t.after(() => rmSync(dockerConfig, { recursive: true, force: true }));
    const env = { DOCKER_CONFIG: dockerConfig };
    const wrong = flotilla(['login', '-u', reg.user ?? '', '--password-stdin', reg.host], { cwd, env: { ...daemon.env, ...env }, input: 'not-the-password\n' });
    assert.equal(wrong.status, 1, wrong.stderr);
    assert.match(wrong.stderr, /^ERROR: 127\.0\.0\.1:\d+: unauthorized/);
    const ok = flotilla(['login', '-u', reg.user ?? '', '--password-stdin', reg.host], { cwd, env: { ...daemon.env, ...env }, input: `${reg.password}\n` });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /^Login Succeeded/);
    const stored = JSON.parse(readFileSync(join(dockerConfig, 'config.json'), 'utf8')) as { auths: Record<string, { auth: string }> };
    assert.equal(Buffer.from(stored.auths[reg.host]?.auth ?? '', 'base64').toString(), `${reg.user}:${reg.password}`);

    // busybox (loaded by the test daemon) pushed under the registry's name.
    assert.equal(cli(cwd, ['image', 'tag', 'busybox:latest', `${reg.host}/e2e/pushed:1`], env).status, 0);
    const pushed = cli(cwd, ['image', 'push', `${reg.host}/e2e/pushed:1`], env);
    assert.equal(pushed.status, 0, pushed.stderr);
    const digest = /1: digest: (sha256:[0-9a-f]{64}) size: \d+/.exec(pushed.stdout)?.[1];
    assert.ok(digest, pushed.stdout);
    const head = curl(reg, ['-sS', '-I', '-H', 'Accept: application/vnd.docker.distribution.manifest.v2+json', `${url(reg)}/v2/e2e/pushed/manifests/1`]).stdout.toString();
    assert.match(head, new RegExp(`docker-content-digest: ${digest}`, 'i'));
    assert.doesNotMatch(pushed.stdout + pushed.stderr + ok.stdout + ok.stderr, new RegExp(reg.password ?? 'never'));

    const out = flotilla(['logout', reg.host], { cwd, env: { ...daemon.env, ...env } });
    assert.equal(out.stdout, `Removing login credentials for ${reg.host}\n`);
    const after = JSON.parse(readFileSync(join(dockerConfig, 'config.json'), 'utf8')) as { auths: Record<string, unknown> };
    assert.equal(after.auths[reg.host], undefined);
  });
});
