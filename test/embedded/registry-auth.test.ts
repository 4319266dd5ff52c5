/**
 * Registry credentials as Docker keeps them, against a registry with token auth, on the embedded
 * engine through the CLI:
 *  - docker-registry configured with `auth: token:` trusts a token service the test runs
 *    (./helpers/token-service.ts signs JWTs with a key it makes); the registry verifies every
 *    token itself, so a wrong scope, issuer, audience or signature fails the push or pull.
 *  - credential helpers are real executables (`docker-credential-<name>` in a PATH folder of the
 *    test's own) called as Docker calls them: `get` and `erase` with the server on standard input,
 *    `store` with JSON, JSON out, "credentials not found" with exit 1. `credsStore` serves every
 *    registry; a `credHelpers` entry wins for its registry (here with an identity token, which
 *    goes to the token service as a refresh token).
 *  - no password, refresh token or registry token is printed, logged by the daemon or written to
 *    the Docker config.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { assertCleanError, flotilla, type CliResult } from '../helpers/cli.js';
import { succeeded } from '../helpers/embedded-cli.js';
import { useTestDaemon } from '../helpers/embedded-daemon.js';
import { haveRegistry, startRegistry } from '../helpers/registry.js';
import { requireRoot } from '../helpers/root.js';
import { projectDir } from '../helpers/tmp.js';
import { startTokenService } from '../helpers/token-service.js';

const testDaemon = useTestDaemon();

function scratch(t: TestContext, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A credential helper as the docker-credential-helpers programs behave: credentials kept in
 * <dir>/<name>.json by server URL; each call recorded in <dir>/calls (action and server, never
 * the secret).
 */
function writeHelper(dir: string, name: string): void {
  const path = join(dir, `docker-credential-${name}`);
  writeFileSync(
    path,
    `#!${process.execPath}
const fs = require('fs');
const path = require('path');
const store = path.join(${JSON.stringify(dir)}, ${JSON.stringify(`${name}.json`)});
const action = process.argv[2];
const input = fs.readFileSync(0, 'utf8');
const data = fs.existsSync(store) ? JSON.parse(fs.readFileSync(store, 'utf8')) : {};
const server = action === 'store' ? JSON.parse(input).ServerURL : input.trim();
fs.appendFileSync(path.join(${JSON.stringify(dir)}, 'calls'), ${JSON.stringify(name)} + ' ' + action + ' ' + server + '\\n');
if (action === 'store') {
  const c = JSON.parse(input);
  data[c.ServerURL] = { Username: c.Username, Secret: c.Secret };
  fs.writeFileSync(store, JSON.stringify(data));
} else if (action === 'get') {
  if (!data[server]) {
    process.stdout.write('credentials not found in native keychain\\n');
    process.exit(1);
  }
  process.stdout.write(JSON.stringify({ ServerURL: server, ...data[server] }));
} else if (action === 'erase') {
  if (!data[server]) {
    process.stdout.write('credentials not found in native keychain\\n');
    process.exit(1);
  }
  delete data[server];
  fs.writeFileSync(store, JSON.stringify(data));
} else {
  process.stderr.write('unknown action ' + action + '\\n');
  process.exit(2);
}
`,
  );
  chmodSync(path, 0o755);
}

/** Refused by the registry: the progress lines printed before the refusal, then one clean error. */
function refusedAfterProgress(r: CliResult): void {
  assertCleanError({ ...r, stdout: r.stdout.replace(/^(The push refers to .*|[0-9a-f]{12}: Preparing|1: Pulling from .*)\n/gm, '') }, /^ERROR: .*unauthorized.*flotilla login 127\.0\.0\.1:\d+\n$/);
}

describe('registry credentials on the embedded engine', () => {
  it('token auth verified by the registry: login stores through credsStore, push and pull fetch tokens with the helper\'s credentials, a credHelpers identity token is a refresh token, logout erases; no secret printed, logged or filed', async (t) => {
    const daemon = testDaemon();
    if (!requireRoot(t) || !daemon) return;
    if (!haveRegistry()) {
      if (process.env['FLOTILLA_CI'] === '1') assert.fail('docker-registry, curl and openssl are needed (scripts/install-deps)');
      t.skip('needs docker-registry, curl and openssl');
      return;
    }
    const password = `pw-${randomBytes(8).toString('hex')}`;
    const refresh = `refresh-${randomBytes(8).toString('hex')}`;
    const tokens = await startTokenService(t, { tester: password }, { [refresh]: 'robot' });
    const reg = await startRegistry(t, { token: tokens });
    const host = reg.host;
    const bin = scratch(t, 'flt-cred-helpers-');
    writeHelper(bin, 'flttest');
    writeHelper(bin, 'fltother');
    const dockerConfig = scratch(t, 'flt-docker-config-');
    const configFile = join(dockerConfig, 'config.json');
    writeFileSync(configFile, JSON.stringify({ credsStore: 'flttest' }));
    const cwd = projectDir(t, { 'compose.yaml': 'services: {}\n' }, `flt-token-${randomBytes(3).toString('hex')}`);
    const outputs: string[] = [];
    const run = (args: string[], input?: string): CliResult => {
      const r = flotilla(args, { cwd, env: { ...daemon.env, FLOTILLA_ENGINE: 'embedded', DOCKER_CONFIG: dockerConfig, PATH: `${bin}:${daemon.env['PATH'] ?? ''}` }, timeoutMs: 180_000, ...(input === undefined ? {} : { input }) });
      outputs.push(r.stdout, r.stderr);
      return r;
    };
    const calls = (): string[] => (existsSync(join(bin, 'calls')) ? readFileSync(join(bin, 'calls'), 'utf8').trim().split('\n') : []);
    const grants = (): string[] => tokens.requests().map((r) => `${r.method} ${r.grant} ${r.user ?? '-'} ${r.scopes.join(' ')}`);

    // An image of the test's own: a one-file root filesystem, imported, then named for the registry.
    const rootfs = scratch(t, 'flt-token-rootfs-');
    mkdirSync(join(rootfs, 'fs'));
    const content = `pushed with a token ${randomBytes(4).toString('hex')}\n`;
    writeFileSync(join(rootfs, 'fs', 'marker'), content);
    // GNU tar makes the layer, not the code under test.
    assert.equal(spawnSync('tar', ['-C', join(rootfs, 'fs'), '-cf', join(rootfs, 'rootfs.tar'), '.']).status, 0);
    const image = `${host}/e2e/token:1`;
    const imported = succeeded(run(['image', 'import', join(rootfs, 'rootfs.tar'), image]), 'import').trim();
    const idOf = (ref: string): string => (JSON.parse(succeeded(run(['image', 'inspect', ref]), 'inspect')) as { Id: string }[])[0]?.Id ?? '';
    assert.equal(idOf(image), imported);

    // Nothing stored yet: the helper is asked, says not found; the registry refuses the anonymous token.
    refusedAfterProgress(run(['image', 'push', image]));
    assert.ok(calls().includes(`flttest get ${host}`), calls().join('\n'));
    assert.ok(grants().some((g) => g.startsWith('GET anonymous - repository:e2e/token:')), grants().join('\n'));

    // A wrong password: refused by the token service, nothing stored.
    assertCleanError(run(['login', '-u', 'tester', '--password-stdin', host], 'not-the-password\n'), /^ERROR: 127\.0\.0\.1:\d+: unauthorized/);
    assert.ok(!calls().some((c) => c.includes(' store ')), 'nothing stored after a refused login');
    // The right one: checked with a token, stored through the helper; the config names the registry only.
    const login = succeeded(run(['login', '-u', 'tester', '--password-stdin', host], `${password}\n`), 'login');
    assert.match(login, /^Login Succeeded \(credentials of 127\.0\.0\.1:\d+ stored in the credential helper docker-credential-flttest\)\n$/);
    assert.equal(calls().at(-1), `flttest store ${host}`);
    assert.deepEqual(JSON.parse(readFileSync(join(bin, 'flttest.json'), 'utf8')), { [host]: { Username: 'tester', Secret: password } });
    assert.deepEqual(JSON.parse(readFileSync(configFile, 'utf8')), { credsStore: 'flttest', auths: { [host]: {} } });

    // Push, then pull it back into an empty place: tokens for pull,push then pull, of the user the helper named.
    const pushed = succeeded(run(['image', 'push', image]), 'push');
    assert.match(pushed, /1: digest: sha256:[0-9a-f]{64} size: \d+\n$/);
    assert.ok(grants().some((g) => /^GET basic tester .*repository:e2e\/token:(pull,push|push,pull)/.test(g)), grants().join('\n'));
    succeeded(run(['image', 'rm', image]), 'rm');
    const before = tokens.requests().length;
    const pulled = succeeded(run(['image', 'pull', image]), 'pull');
    assert.match(pulled, /: Pull complete\n/);
    assert.ok(grants().slice(before).some((g) => g === 'GET basic tester repository:e2e/token:pull'), grants().slice(before).join('\n'));

    // credHelpers names another helper for this registry, which holds an identity token: it is sent
    // to the token service as a refresh token (POST), and the tokens it gives are the robot's.
    writeFileSync(join(bin, 'fltother.json'), JSON.stringify({ [host]: { Username: '<token>', Secret: refresh } }));
    writeFileSync(configFile, JSON.stringify({ credsStore: 'flttest', credHelpers: { [host]: 'fltother' }, auths: { [host]: {} } }));
    succeeded(run(['image', 'rm', image]), 'rm');
    const beforeRefresh = tokens.requests().length;
    const calledBefore = calls().length;
    assert.match(succeeded(run(['image', 'pull', image]), 'pull with an identity token'), /: Pull complete\n/);
    assert.deepEqual(calls().slice(calledBefore), [`fltother get ${host}`]);
    assert.deepEqual(grants().slice(beforeRefresh), ['POST refresh robot repository:e2e/token:pull']);
    assert.equal(idOf(image), imported, 'the image pulled back is the one pushed');

    // logout erases through the helper that holds the registry; then the registry refuses again.
    writeFileSync(configFile, JSON.stringify({ credsStore: 'flttest', auths: { [host]: {} } }));
    assert.equal(succeeded(run(['logout', host]), 'logout'), `Removing login credentials for ${host}\n`);
    assert.equal(calls().at(-1), `flttest erase ${host}`);
    assert.deepEqual(JSON.parse(readFileSync(join(bin, 'flttest.json'), 'utf8')), {});
    assert.deepEqual(JSON.parse(readFileSync(configFile, 'utf8')), { credsStore: 'flttest', auths: {} });
    succeeded(run(['image', 'rm', image]), 'rm');
    refusedAfterProgress(run(['image', 'pull', image]));

    // No secret anywhere a user or an operator would see it.
    const secrets = [password, refresh, ...tokens.requests().flatMap((r) => (r.token ? [r.token] : []))];
    assert.ok(secrets.length > 4, `${secrets.length} secrets`);
    const seen = { outputs: outputs.join('\n'), daemonLog: readFileSync(daemon.paths.log, 'utf8'), dockerConfig: readFileSync(configFile, 'utf8') };
    for (const [where, text] of Object.entries(seen)) {
      for (const s of secrets) assert.ok(!text.includes(s) && !text.includes(Buffer.from(s).toString('base64')), `a secret in ${where}`);
    }
  });
});
