/**
 * The Compose Specification's build keys, on both engines (the embedded engine's own test daemon,
 * and dockerd): `dockerfile_inline`, `tags` (every name applied), `no_cache` (RUN runs again),
 * `platforms` (linux/amd64 builds; another is refused, located), `secrets` (from the top-level
 * secrets' file and environment, read by RUN --mount=type=secret on the embedded engine; refused
 * on dockerd, whose build API takes them only through a BuildKit session), `additional_contexts`
 * (a directory for COPY --from and bind mounts, an image for FROM, on the embedded engine; refused
 * on dockerd likewise), `ssh` (the CLI's agent, a real ssh-agent, bound for RUN --mount=type=ssh on
 * the embedded engine; no agent or a key file refused, located). Then `--dry-run` for build, push, pull, run and exec: each prints what it would do
 * and nothing changes on the engine.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { flotilla, type CliResult } from '../helpers/cli.js';
import { requireDocker } from '../helpers/docker.js';
import { embeddedCli, succeeded } from '../helpers/embedded-cli.js';
import { useTestDaemon } from '../helpers/embedded-daemon.js';
import { withImageView } from '../helpers/embedded-images.js';
import { BUSYBOX, ensureBusybox } from '../helpers/images.js';
import { requireRoot } from '../helpers/root.js';
import { projectDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const testDaemon = useTestDaemon();
const embedded = embeddedCli(testDaemon, 300_000);
const ok = succeeded;
const RUN = randomBytes(4).toString('hex');
const MARKER = `org.flotilla.spec-build=${RUN}`;

const docker = (args: string[]) => spawnSync('docker', args, { encoding: 'utf8', timeout: 120_000 });
const onDocker = (cwd: string, args: string[]): CliResult => flotilla(args, { cwd, env: { FLOTILLA_ENGINE: 'docker' }, timeoutMs: 300_000 });

/** The project: an inline Dockerfile whose RUN stamps the build, extra tags, no_cache, platforms. */
function compose(image: string, extra: string, build: string[] = [], top = ''): string {
  return [
    'services:',
    '  app:',
    '    build:',
    '      context: .',
    '      dockerfile_inline: |',
    `        FROM ${BUSYBOX}`,
    `        LABEL ${MARKER}`,
    '        RUN cat /proc/sys/kernel/random/uuid > /stamp',
    ...build.map((l) => `        ${l}`),
    `      tags: ["${extra}"]`,
    '      no_cache: true',
    '      platforms: [linux/amd64]',
    `    image: ${image}`,
    '  sleeper:',
    `    image: ${BUSYBOX}`,
    '    command: [sleep, "300"]',
    top,
  ].join('\n');
}

/** `additional_contexts`: a directory read by COPY --from and a bind mount, an image as a FROM base. */
const contexts = (image: string, first = 'img') =>
  `services:\n  ctx:\n    build:\n      context: .\n      dockerfile_inline: |\n        FROM ${first}\n        LABEL ${MARKER}\n        COPY --from=extras hello.txt /hello.txt\n        RUN --mount=type=bind,from=extras,target=/mnt/x cat /mnt/x/hello.txt > /bound.txt\n      additional_contexts:\n        extras: ./extras\n        img: docker-image://${BUSYBOX}\n    image: ${image}\n`;

const REFUSED = {
  'arm.yaml': 'services:\n  app:\n    build:\n      context: .\n      platforms:\n        - linux/amd64\n        - linux/arm64\n    image: x\n',
  'ssh.yaml': 'services:\n  app:\n    build:\n      context: .\n      ssh: [default]\n    image: x\n',
  'sshkey.yaml': 'services:\n  app:\n    build:\n      context: .\n      ssh:\n        - key=./Dockerfile\n    image: x\n',
  'nosecret.yaml': 'services:\n  app:\n    build:\n      context: .\n      secrets: [absent]\n    image: x\n',
  Dockerfile: 'FROM busybox\n',
};

function assertRefusals(run: (args: string[]) => CliResult): void {
  const one = (r: CliResult, re: RegExp) => {
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, re);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  };
  one(run(['-f', 'arm.yaml', 'build']), /^ERROR: arm\.yaml:7:11: services\.app\.build\.platforms\[1\]: linux\/arm64 cannot be built here: Flotilla builds for linux\/amd64 only/m);
  one(run(['-f', 'arm.yaml', 'up', '-d']), /^ERROR: arm\.yaml:7:11: services\.app\.build\.platforms\[1\]: linux\/arm64 cannot be built here/m);
  one(run(['-f', 'ssh.yaml', 'build']), /^ERROR: ssh\.yaml:5:\d+: services\.app\.build\.ssh\[0\]: ssh default: no SSH agent: SSH_AUTH_SOCK is not set/m);
  one(run(['-f', 'sshkey.yaml', 'build']), /^ERROR: sshkey\.yaml:6:\d+: services\.app\.build\.ssh\[0\]: ssh key: \/.*\/Dockerfile is not an SSH agent socket \(key files are not forwarded/m);
  one(run(['-f', 'nosecret.yaml', 'build']), /^ERROR: nosecret\.yaml:5:\d+: services\.app\.build\.secrets\[0\]: service "app" refers to undefined build secret absent/m);
}

/** --dry-run of build, push, pull, run and exec: printed, and nothing changed (`state` before and after). */
function assertDryRuns(run: (args: string[]) => CliResult, image: string, project: string, state: () => string): void {
  const before = state();
  const build = ok(run(['--dry-run', 'build']), 'build --dry-run');
  assert.match(build, new RegExp(`^build ${image}, extra-${RUN}:1 for app: context .*, inline Dockerfile, without the cache$`, 'm'));
  assert.match(ok(run(['--dry-run', 'push']), 'push --dry-run'), new RegExp(`^push ${image} for app: --dry-run, not pushed$`, 'm'));
  assert.match(ok(run(['--dry-run', 'pull', 'sleeper']), 'pull --dry-run'), new RegExp(`^pull ${BUSYBOX} for sleeper: --dry-run, not pulled$`, 'm'));
  const oneOff = ok(run(['--dry-run', 'run', '--rm', 'sleeper', 'echo', 'hi']), 'run --dry-run');
  assert.match(oneOff, new RegExp(`^create ${project}_sleeper_run_[0-9a-f]+: one-off container of sleeper running \\["echo","hi"\\]$`, 'm'));
  assert.match(oneOff, /^start .*: attached to this terminal$/m);
  assert.equal(state(), before, 'nothing changed on the engine');
  ok(run(['up', '-d', 'sleeper']), 'up sleeper');
  const exec = ok(run(['--dry-run', 'exec', '-T', 'sleeper', 'touch', '/tmp/dry']), 'exec --dry-run');
  assert.equal(exec, `exec in ${project}_sleeper_1: ["touch","/tmp/dry"]\n`);
  assert.equal(run(['exec', '-T', 'sleeper', 'test', '-e', '/tmp/dry']).status, 1, 'the dry exec did not run');
  ok(run(['down', '-t', '0']), 'down');
}

describe('Compose Specification build keys', () => {
  it('embedded engine: inline Dockerfile, secrets from file and environment, tags, no_cache, additional contexts, ssh agent; refusals; --dry-run', async (t) => {
    if (!requireRoot(t) || !testDaemon()) return;
    const project = `fltspecbuild${RUN}`;
    const image = `flt-spec-${RUN}/app:1`;
    const dir = projectDir(t, {
      ...REFUSED,
      'compose.yaml': compose(image, `extra-${RUN}:1`, [
        'RUN --mount=type=secret,id=tok cat /run/secrets/tok > /tok.txt',
        'RUN --mount=type=secret,id=renamed cat /run/secrets/renamed > /file.txt',
      ], `secrets:\n  tok:\n    environment: FLT_TOKEN\n  fromfile:\n    file: ./secret.txt\n`).replace('      tags:', '      secrets:\n        - tok\n        - source: fromfile\n          target: renamed\n      tags:'),
      'secret.txt': `file secret ${RUN}\n`,
      'contexts.yaml': contexts(`flt-spec-${RUN}/ctx:1`),
      'fromdir.yaml': contexts(`flt-spec-${RUN}/ctx:2`, 'extras'),
      'extras/hello.txt': `from a named context ${RUN}\n`,
      'ssh-build.yaml': `services:\n  app:\n    build:\n      context: .\n      dockerfile_inline: |\n        FROM ${BUSYBOX}\n        RUN --mount=type=ssh test -S "$$SSH_AUTH_SOCK" && echo "socket at $$SSH_AUTH_SOCK" > /sock.txt\n      ssh: [default]\n    image: flt-spec-${RUN}/ssh:1\n`,
    }, project);
    const cli = (args: string[]) => flotilla(args, { cwd: dir, env: { ...testDaemon()!.env, FLOTILLA_ENGINE: 'embedded', FLT_TOKEN: `env secret ${RUN}` }, timeoutMs: 300_000 });
    const idOf = (ref: string) => (JSON.parse(ok(embedded(dir, ['image', 'inspect', ref]), `inspect ${ref}`)) as { Id: string }[])[0]!.Id;
    const fileOf = (id: string, path: string) => withImageView(testDaemon()!.paths.images, id, (root) => readFileSync(join(root, path), 'utf8'));
    t.after(() => {
      embedded(dir, ['down', '-t', '0']);
      embedded(dir, ['image', 'rm', '-f', image, `extra-${RUN}:1`, `flt-spec-${RUN}/ctx:1`, `flt-spec-${RUN}/ssh:1`]);
    });

    ok(cli(['build', '-q']), 'build');
    const id = idOf(image);
    assert.equal(idOf(`extra-${RUN}:1`), id, 'the extra tag names the same image');
    assert.equal(fileOf(id, 'tok.txt'), `env secret ${RUN}`, 'the secret from the environment');
    assert.equal(fileOf(id, 'file.txt'), `file secret ${RUN}\n`, 'the file secret under its target id');
    const stub = (() => {
      try {
        return fileOf(id, 'run/secrets/tok');
      } catch {
        return '';
      }
    })();
    assert.equal(stub, '', 'the secret is not in the image (at most its empty mount point)');
    ok(cli(['build', '-q']), 'build again');
    assert.notEqual(fileOf(idOf(image), 'stamp'), fileOf(id, 'stamp'), 'no_cache: RUN ran again');

    ok(cli(['-f', 'contexts.yaml', 'build', '-q']), 'build with additional contexts');
    const ctx = idOf(`flt-spec-${RUN}/ctx:1`);
    assert.equal(fileOf(ctx, 'hello.txt'), `from a named context ${RUN}\n`, 'COPY --from a directory context');
    assert.equal(fileOf(ctx, 'bound.txt'), `from a named context ${RUN}\n`, 'a bind mount from it');
    assert.ok(fileOf(ctx, 'bin/busybox').length > 0, 'FROM the docker-image:// context');
    const fromDir = cli(['-f', 'fromdir.yaml', 'build']);
    assert.equal(fromDir.status, 1);
    assert.match(fromDir.stderr, /^ERROR: service 'ctx' failed to build: Dockerfile:1: FROM: extras is a local build context: the embedded builder cannot start a stage FROM a directory/m);

    // ssh: the CLI's agent (a real ssh-agent holding a key), bound where SSH_AUTH_SOCK points in RUN.
    const agentDir = mkdtempSync(join(tmpdir(), 'flt-ssh-'));
    const sock = join(agentDir, 'agent.sock');
    const agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    t.after(() => {
      agent.kill('SIGKILL');
      rmSync(agentDir, { recursive: true, force: true });
    });
    await waitFor('the ssh-agent socket', () => existsSync(sock) || undefined);
    assert.equal(spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(agentDir, 'key')]).status, 0);
    const added = spawnSync('ssh-add', [join(agentDir, 'key')], { env: { SSH_AUTH_SOCK: sock }, encoding: 'utf8' });
    assert.equal(added.status, 0, added.stderr);
    const withAgent = flotilla(['-f', 'ssh-build.yaml', 'build', '-q'], { cwd: dir, env: { ...testDaemon()!.env, FLOTILLA_ENGINE: 'embedded', SSH_AUTH_SOCK: sock }, timeoutMs: 300_000 });
    ok(withAgent, 'build with ssh');
    assert.equal(fileOf(idOf(`flt-spec-${RUN}/ssh:1`), 'sock.txt'), 'socket at /run/buildkit/ssh_agent.0\n');

    assertRefusals(cli);
    const state = () => ok(embedded(dir, ['image', 'ls']), 'image ls') + ok(embedded(dir, ['ps', '-a']), 'ps');
    assertDryRuns(cli, image, project, state);
  });

  it('dockerd: inline Dockerfile, tags, no_cache, platforms; secrets refused in one line; refusals; --dry-run', (t) => {
    if (!requireDocker(t)) return;
    ensureBusybox();
    const project = `fltspecbuildd${RUN}`;
    const image = `flt-spec-${RUN}/dapp:1`;
    const extra = `extra-${RUN}:1`;
    const dir = projectDir(t, {
      ...REFUSED,
      'compose.yaml': compose(image, extra),
      'secret.yaml': `services:\n  app:\n    build:\n      context: .\n      dockerfile_inline: "FROM ${BUSYBOX}"\n      secrets: [tok]\n    image: ${image}\nsecrets:\n  tok:\n    file: ./secret.txt\n`,
      'secret.txt': 'x\n',
      'contexts.yaml': contexts(`flt-spec-${RUN}/dctx:1`),
      'extras/hello.txt': 'x\n',
    }, project);
    const cli = (args: string[]) => onDocker(dir, args);
    t.after(() => {
      cli(['down', '-t', '0']);
      docker(['rmi', '-f', image, extra]);
      for (const id of new Set(docker(['images', '-aq', '--filter', `label=${MARKER}`]).stdout.split('\n').filter(Boolean))) docker(['rmi', '-f', id]);
    });
    const stamp = () => {
      const r = docker(['run', '--rm', '--entrypoint', 'cat', image, '/stamp']);
      assert.equal(r.status, 0, r.stderr);
      return r.stdout;
    };
    ok(cli(['build', '-q']), 'build');
    const ids = [image, extra].map((ref) => docker(['image', 'inspect', '--format', '{{.Id}}', ref]).stdout.trim());
    assert.ok(ids[0]?.startsWith('sha256:'), `built: ${ids[0]}`);
    assert.equal(ids[1], ids[0], 'the extra tag names the same image');
    const first = stamp();
    ok(cli(['build', '-q']), 'build again');
    assert.notEqual(stamp(), first, 'no_cache: RUN ran again');

    const secret = cli(['-f', 'secret.yaml', 'build']);
    assert.equal(secret.status, 1);
    assert.match(secret.stderr, /^ERROR: service 'app' failed to build: build secrets need the embedded engine: dockerd's build API takes them only through a BuildKit session/m);
    assert.equal(secret.stderr.trim().split('\n').filter((l) => l.startsWith('ERROR')).length, 1);

    const named = cli(['-f', 'contexts.yaml', 'build']);
    assert.equal(named.status, 1);
    assert.match(named.stderr, /^ERROR: service 'ctx' failed to build: additional build contexts need the embedded engine: dockerd's build API takes them only through a BuildKit session/m);

    assertRefusals(cli);
    // Only what is this test's: other tests make and remove images on the same dockerd meanwhile.
    const state = () =>
      [image, extra].map((ref) => docker(['image', 'inspect', '--format', '{{.Id}}', ref]).stdout).join(',') +
      docker(['images', '-aq', '--no-trunc', '--filter', `label=${MARKER}`]).stdout.split('\n').sort().join(',') +
      docker(['ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`]).stdout +
      docker(['network', 'ls', '-q', '--filter', `label=com.docker.compose.project=${project}`]).stdout;
    assertDryRuns(cli, image, project, state);
  });
});
