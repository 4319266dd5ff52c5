/**
 * The Docker backend sends the Docker config's registry credentials (as the docker CLI does, in
 * X-Registry-Auth) on push, pull and the registry digest look-up (`config --resolve-image-digests`,
 * `bundle`), against a loopback docker-registry with htpasswd auth: with the credentials each
 * works, without them the registry refuses. Images and the registry are removed at the end.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { flotilla, type CliResult } from '../helpers/cli.js';
import { requireDocker } from '../helpers/docker.js';
import { BUSYBOX, ensureBusybox } from '../helpers/images.js';
import { haveRegistry, startRegistry } from '../helpers/registry.js';
import { projectDir } from '../helpers/tmp.js';

const docker = (args: string[]) => spawnSync('docker', args, { encoding: 'utf8', timeout: 120_000 });

test('push, pull and the registry digest on dockerd use the Docker config\'s credentials', async (t) => {
  if (!requireDocker(t)) return;
  if (!haveRegistry()) {
    if (process.env['FLOTILLA_CI'] === '1') assert.fail('docker-registry and curl are needed (scripts/install-deps)');
    t.skip('needs docker-registry and curl');
    return;
  }
  ensureBusybox();
  const reg = await startRegistry(t, { auth: true });
  const run = randomBytes(4).toString('hex');
  const image = `${reg.host}/flotilla-auth-${run}/app:1`;
  const marker = `org.flotilla.registry-auth=${run}`;
  t.after(() => {
    docker(['rmi', '-f', image]);
    for (const id of new Set(docker(['images', '-q', '--filter', `label=${marker}`]).stdout.split('\n').filter(Boolean))) docker(['rmi', '-f', id]);
  });
  const withCreds = mkdtempSync(join(tmpdir(), 'flt-docker-config-'));
  const without = mkdtempSync(join(tmpdir(), 'flt-docker-config-'));
  t.after(() => {
    rmSync(withCreds, { recursive: true, force: true });
    rmSync(without, { recursive: true, force: true });
  });
  writeFileSync(join(withCreds, 'config.json'), JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from(`${reg.user}:${reg.password}`).toString('base64') } } }));
  writeFileSync(join(without, 'config.json'), '{}');
  const dir = projectDir(t, {
    'compose.yaml': `services:\n  app:\n    build: .\n    image: ${image}\n`,
    'remote.yaml': `services:\n  remote:\n    image: ${image}\n`,
    Dockerfile: `FROM ${BUSYBOX}\nLABEL ${marker}\nRUN echo ${run} > /marker\n`,
  }, `flt-regauth-${run}`);
  const cli = (args: string[], config: string): CliResult => flotilla(args, { cwd: dir, env: { FLOTILLA_ENGINE: 'docker', DOCKER_CONFIG: config }, timeoutMs: 120_000 });
  const ok = (r: CliResult, what: string) => assert.equal(r.status, 0, `${what}:\n${r.stderr}\n${r.stdout}`);
  const refused = (r: CliResult, what: string) => {
    assert.equal(r.status, 1, `${what} should be refused:\n${r.stderr}`);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.match(r.stderr, /^ERROR: .*(unauthorized|authentication required|no basic auth)/im, what);
  };

  ok(cli(['build', '-q'], without), 'build');
  refused(cli(['push'], without), 'push without credentials');
  ok(cli(['push'], withCreds), 'push with credentials');
  const head = spawnSync('curl', ['-sS', '-o', '/dev/null', '-D', '-', '-u', `${reg.user}:${reg.password}`, '-H', 'Accept: application/vnd.docker.distribution.manifest.v2+json', `http://${reg.host}/v2/flotilla-auth-${run}/app/manifests/1`], { encoding: 'utf8' });
  const digest = /^docker-content-digest: (sha256:[0-9a-f]{64})/im.exec(head.stdout)?.[1];
  assert.ok(digest, `the registry has the pushed manifest:\n${head.stdout}`);

  // Not on the engine any more: the digest comes from the registry.
  assert.equal(docker(['rmi', image]).status, 0);
  const resolved = cli(['-f', 'remote.yaml', 'config', '--resolve-image-digests'], withCreds);
  ok(resolved, 'config --resolve-image-digests with credentials');
  assert.match(resolved.stdout, new RegExp(`image: ${reg.host}/flotilla-auth-${run}/app:1@${digest}\\n`));
  const noDigest = cli(['-f', 'remote.yaml', 'config', '--resolve-image-digests'], without);
  assert.equal(noDigest.status, 1, noDigest.stderr);
  assert.doesNotMatch(noDigest.stdout, new RegExp(digest));

  refused(cli(['-f', 'remote.yaml', 'pull'], without), 'pull without credentials');
  assert.notEqual(docker(['image', 'inspect', image]).status, 0);
  ok(cli(['-f', 'remote.yaml', 'pull'], withCreds), 'pull with credentials');
  const pulled = docker(['image', 'inspect', '--format', '{{json .RepoDigests}}', image]);
  assert.equal(pulled.status, 0, pulled.stderr);
  assert.deepEqual(JSON.parse(pulled.stdout), [`${reg.host}/flotilla-auth-${run}/app@${digest}`]);
});
