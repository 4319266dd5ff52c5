/**
 * build, pull, push and bundle through the built CLI, against dockerd and a loopback registry
 * (test/helpers/images.ts). Every test names what it makes `flotilla-e2e-<run>-...`, labels its
 * builds with the run, and removes its images (and its registry) when it ends, failed or not.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { test, type TestContext } from 'node:test';
import { flotilla as runFlotilla, type CliResult } from '../helpers/cli.js';

/** The CLI on dockerd (builds, pulls and pushes are the Docker backend's; the default engine is the embedded one). */
const flotilla = (args: string[], options: Parameters<typeof runFlotilla>[1]): CliResult =>
  runFlotilla(args, { ...options, env: { FLOTILLA_ENGINE: 'docker', ...options.env } });
import { requireDocker } from '../helpers/docker.js';
import { BUSYBOX, ensureBusybox, startRegistry } from '../helpers/images.js';
import { projectDir } from '../helpers/tmp.js';

const RUN = randomBytes(4).toString('hex');
const RUN_LABEL = 'org.flotilla.e2e-run';
let counter = 0;

/** A unique name (also a valid project name and repository path component). */
function unique(what: string): string {
  return `flotilla-e2e-${RUN}-${what}-${++counter}`;
}

function docker(args: string[], input?: string): CliResult {
  const r = spawnSync('docker', args, { encoding: 'utf8', input, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function ok(r: CliResult, what: string): CliResult {
  assert.equal(r.status, 0, `${what} failed:\n${r.stderr}\n${r.stdout}`);
  return r;
}

/**
 * Removes, when the test ends: the tags given, and every image carrying this run's label,
 * intermediate ones included (Dockerfiles label their first stage with it: see dockerfile()).
 * Children go before parents, so a few passes may be needed.
 */
function cleanup(t: TestContext, tags: string[]): void {
  t.after(() => {
    for (const tag of tags) docker(['rmi', tag]);
    for (let pass = 0; pass < 10; pass++) {
      const left = docker(['images', '-a', '-q', '--no-trunc', '--filter', `label=${RUN_LABEL}=${RUN}`]).stdout.split('\n').filter(Boolean);
      if (left.length === 0) break;
      for (const id of new Set(left)) docker(['rmi', '-f', id]);
    }
  });
}

/** A Dockerfile whose every stage is labelled with the run (so cleanup finds its images). */
function dockerfile(lines: string[]): string {
  return lines.flatMap((l) => (/^FROM /i.test(l) ? [l, `LABEL ${RUN_LABEL}=${RUN}`] : [l])).join('\n') + '\n';
}

/** Only ERROR:/WARNING: lines and step lines on stderr, never a stack trace. */
function assertNoStack(r: CliResult): void {
  assert.ok(!/\n\s+at /.test(r.stderr), `stack trace in:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /internal error/);
}

function ready(t: TestContext): boolean {
  if (!requireDocker(t)) return false;
  ensureBusybox();
  return true;
}

/** A registry with busybox pushed as <registry>/<repo>:1; the local tag is removed again. */
async function registryWithBusybox(t: TestContext, repo: string): Promise<{ registry: string; image: string; digest: string } | null> {
  const registry = await startRegistry(t);
  if (registry === null) return null;
  const image = `${registry}/${repo}:1`;
  ok(docker(['tag', BUSYBOX, image]), 'docker tag');
  const pushed = docker(['push', image]);
  docker(['rmi', image]);
  ok(pushed, 'docker push');
  const digest = /digest: (sha256:[0-9a-f]{64})/.exec(pushed.stdout)?.[1];
  assert.ok(digest, `no digest in: ${pushed.stdout}`);
  return { registry, image, digest };
}

const label = (l: Record<string, string> = {}) => ({ [RUN_LABEL]: RUN, ...l });

test('build: args from the file and --build-arg, target, labels, .dockerignore; others skipped', (t) => {
  if (!ready(t)) return;
  const name = unique('build');
  const image = `${name}:1`;
  cleanup(t, [image, `${name}_plain`]);
  const dir = projectDir(
    t,
    {
      'compose.yml': [
        'services:',
        '  app:',
        '    build:',
        '      context: ./app',
        '      target: final',
        '      args: { FROM_FILE: file, OVERRIDDEN: file }',
        `      labels: ${JSON.stringify(label({ 'org.example.role': 'app' }))}`,
        `    image: ${image}`,
        '  plain:',
        `    build: { context: ./app, labels: ${JSON.stringify(label())} }`,
        '  other:',
        `    image: ${BUSYBOX}`,
        '',
      ].join('\n'),
      'app/Dockerfile': dockerfile([
        `FROM ${BUSYBOX} AS base`,
        'ARG FROM_FILE=unset',
        'ARG OVERRIDDEN=unset',
        'RUN echo "$FROM_FILE $OVERRIDDEN" > /args',
        'COPY . /ctx/',
        'FROM base AS final',
        'RUN echo final > /stage',
        'FROM base AS unused',
        'RUN echo unused > /stage',
      ]),
      'app/kept.txt': 'kept\n',
      'app/secret.txt': 'do not send\n',
      'app/.dockerignore': 'secret.txt\n',
    },
    name,
  );
  const r = ok(flotilla(['build', '--build-arg', 'OVERRIDDEN=cli', 'app', 'other'], { cwd: dir, timeoutMs: 120_000 }), 'build');
  assert.match(r.stderr, /^other uses an image, skipping$/m);
  assert.match(r.stderr, /^Building app \.\.\. done$/m);
  assert.match(r.stdout, /Successfully tagged/, 'the build output is printed');
  const cat = ok(docker(['run', '--rm', image, 'sh', '-c', 'cat /args /stage; ls /ctx']), 'docker run');
  assert.deepEqual(cat.stdout.trim().split('\n').sort(), ['Dockerfile', 'file cli', 'final', 'kept.txt'].sort());
  const labels = JSON.parse(ok(docker(['image', 'inspect', '--format', '{{json .Config.Labels}}', image]), 'inspect').stdout) as Record<string, string>;
  assert.equal(labels['org.example.role'], 'app');

  // -q: nothing printed; the image without `image` is tagged <project>_<service>.
  const quiet = ok(flotilla(['build', '-q', 'plain'], { cwd: dir, timeoutMs: 120_000 }), 'build -q');
  assert.deepEqual([quiet.stdout, quiet.stderr], ['', '']);
  ok(docker(['image', 'inspect', `${name}_plain`]), 'the built image is tagged <project>_<service>');
});

test('build --no-cache rebuilds every step; a failing build names the service, exit 1', (t) => {
  if (!ready(t)) return;
  const name = unique('nocache');
  cleanup(t, [`${name}_app`, `${name}_broken`]);
  const dir = projectDir(
    t,
    {
      'compose.yml': [
        'services:',
        '  app:',
        `    build: { context: ./app, labels: ${JSON.stringify(label())} }`,
        '  broken:',
        `    build: { context: ./broken, labels: ${JSON.stringify(label())} }`,
        '',
      ].join('\n'),
      'app/Dockerfile': dockerfile([`FROM ${BUSYBOX}`, 'RUN echo built > /built']),
      'broken/Dockerfile': dockerfile([`FROM ${BUSYBOX}`, 'RUN echo about to fail && exit 3']),
    },
    name,
  );
  ok(flotilla(['build', 'app'], { cwd: dir, timeoutMs: 120_000 }), 'build');
  const cached = ok(flotilla(['build', 'app'], { cwd: dir, timeoutMs: 120_000 }), 'build again');
  assert.match(cached.stdout, /Using cache/);
  const fresh = ok(flotilla(['build', '--no-cache', 'app'], { cwd: dir, timeoutMs: 120_000 }), 'build --no-cache');
  assert.doesNotMatch(fresh.stdout, /Using cache/);

  const failed = flotilla(['build', 'broken'], { cwd: dir, timeoutMs: 120_000 });
  assert.equal(failed.status, 1, failed.stderr);
  assertNoStack(failed);
  assert.match(failed.stdout, /about to fail/, 'the output up to the failure is printed');
  assert.match(failed.stderr, /^ERROR: service 'broken' failed to build: .*returned a non-zero code: 3/m);
  const quiet = flotilla(['build', '-q', '--parallel', 'broken', 'app'], { cwd: dir, timeoutMs: 120_000 });
  assert.equal(quiet.status, 1);
  assert.equal(quiet.stdout, '');
  assert.match(quiet.stderr, /^ERROR: service 'broken' failed to build: .*non-zero code: 3 \(last output: .*about to fail/m);
});

test('pull: from the registry, in parallel; failures name service and image; --ignore-pull-failures', async (t) => {
  if (!ready(t)) return;
  const repo = unique('pull');
  const reg = await registryWithBusybox(t, repo);
  if (!reg) return;
  const missing = `${reg.registry}/${repo}/missing:1`;
  const notBuilt = `${reg.registry}/${repo}/not-built:1`;
  cleanup(t, [reg.image]);
  const dir = projectDir(t, {
    'compose.yml': [
      'services:',
      `  ok: { image: "${reg.image}" }`,
      `  missing: { image: "${missing}" }`,
      `  frombuild: { image: "${notBuilt}", build: ./nowhere }`,
      '  buildonly: { build: ./nowhere }',
      '',
    ].join('\n'),
  });
  const pulled = ok(flotilla(['pull', 'ok', 'frombuild', 'buildonly'], { cwd: dir, timeoutMs: 60_000 }), 'pull');
  assert.match(pulled.stderr, /^Pulling ok \(.*\) \.\.\. done$/m);
  assert.doesNotMatch(pulled.stderr, /buildonly/, 'a service without image is skipped');
  assert.match(pulled.stderr, /^WARNING: Some service image\(s\) must be built from source by running: flotilla build frombuild$/m);
  const digests = ok(docker(['image', 'inspect', '--format', '{{json .RepoDigests}}', reg.image]), 'the pulled image').stdout;
  assert.ok(digests.includes(reg.digest), digests);

  const failed = flotilla(['pull'], { cwd: dir, timeoutMs: 60_000 });
  assert.equal(failed.status, 1);
  assertNoStack(failed);
  assert.match(failed.stderr, new RegExp(`^ERROR: service 'missing': cannot pull ${missing.replace(/[.]/g, '\\.')}: .*not found`, 'm'));

  const ignored = flotilla(['pull', '--ignore-pull-failures', '--no-parallel'], { cwd: dir, timeoutMs: 60_000 });
  assert.equal(ignored.status, 0, ignored.stderr);
  assert.match(ignored.stderr, /^WARNING: service 'missing': cannot pull/m);
  assert.match(ignored.stderr, /^Pulling ok \(.*\) \.\.\. done$/m);

  const quiet = flotilla(['pull', '-q', 'ok'], { cwd: dir, timeoutMs: 60_000 });
  assert.deepEqual([quiet.status, quiet.stdout, quiet.stderr], [0, '', '']);
});

test('push: built images with an image name go to the registry and can be pulled back', async (t) => {
  if (!ready(t)) return;
  const registry = await startRegistry(t);
  if (registry === null) return;
  const name = unique('push');
  const image = `${registry}/${name}/app:1`;
  cleanup(t, [image]);
  const dir = projectDir(
    t,
    {
      'compose.yml': [
        'services:',
        '  app:',
        `    build: { context: ./app, labels: ${JSON.stringify(label())} }`,
        `    image: ${image}`,
        '  again:',
        `    build: { context: ./app, labels: ${JSON.stringify(label())} }`,
        `    image: ${image}`,
        `  other: { image: "${BUSYBOX}" }`,
        '',
      ].join('\n'),
      'app/Dockerfile': dockerfile([`FROM ${BUSYBOX}`, `RUN echo ${name} > /marker`]),
    },
    name,
  );
  ok(flotilla(['build', '-q', 'app'], { cwd: dir, timeoutMs: 120_000 }), 'build');
  const pushed = ok(flotilla(['push'], { cwd: dir, timeoutMs: 60_000 }), 'push');
  assert.equal(pushed.stderr.match(/^Pushing /gm)?.length, 1, `one push per image:\n${pushed.stderr}`);
  const digest = /^(\S+)@(sha256:[0-9a-f]{64})$/m.exec(pushed.stdout);
  assert.ok(digest, pushed.stdout);
  assert.equal(digest[1], `${registry}/${name}/app`);

  ok(docker(['rmi', image]), 'remove the local image');
  ok(docker(['pull', image]), 'docker pull');
  assert.equal(ok(docker(['run', '--rm', image, 'cat', '/marker']), 'run').stdout.trim(), name);
  assert.ok(docker(['image', 'inspect', '--format', '{{json .RepoDigests}}', image]).stdout.includes(digest[2] as string));

  ok(flotilla(['push'], { cwd: dir, timeoutMs: 60_000 }), 'pushing again');
  docker(['rmi', image]);
  const gone = flotilla(['push', 'app'], { cwd: dir, timeoutMs: 60_000 });
  assert.equal(gone.status, 1);
  assertNoStack(gone);
  assert.match(gone.stderr, /^ERROR: service 'app': cannot push .*: An image does not exist locally/m);
  const ignored = flotilla(['push', '--ignore-push-failures', 'app'], { cwd: dir, timeoutMs: 60_000 });
  assert.equal(ignored.status, 0);
  assert.match(ignored.stderr, /^WARNING: service 'app': cannot push/m);
});

test('bundle: digests from RepoDigests, from the registry, and by --push-images; read back', async (t) => {
  if (!ready(t)) return;
  const repo = unique('bundle');
  const reg = await registryWithBusybox(t, repo);
  if (!reg) return;
  const pulledImage = reg.image;
  const remoteImage = `${reg.registry}/${repo}/remote:1`;
  const builtImage = `${reg.registry}/${repo}/built:1`;
  // The same busybox under a second name, left in the registry only.
  ok(docker(['tag', BUSYBOX, remoteImage]), 'tag');
  const remotePush = docker(['push', remoteImage]);
  docker(['rmi', remoteImage]);
  ok(remotePush, 'push');
  cleanup(t, [pulledImage, builtImage, remoteImage]);
  const dir = projectDir(
    t,
    {
      'compose.yml': [
        'services:',
        `  pulled: { image: "${pulledImage}", command: [sleep, "60"] }`,
        `  remote: { image: "${remoteImage}" }`,
        '  built:',
        `    build: { context: ./app, labels: ${JSON.stringify(label())} }`,
        `    image: ${builtImage}`,
        '',
      ].join('\n'),
      'app/Dockerfile': dockerfile([`FROM ${BUSYBOX}`, `RUN echo ${repo} > /marker`]),
    },
    repo,
  );
  ok(flotilla(['pull', 'pulled'], { cwd: dir, timeoutMs: 60_000 }), 'pull');
  ok(flotilla(['build', '-q'], { cwd: dir, timeoutMs: 120_000 }), 'build');

  // The built image has no digest yet: it must be pushed.
  const refused = flotilla(['bundle'], { cwd: dir, timeoutMs: 60_000 });
  assert.equal(refused.status, 1);
  assertNoStack(refused);
  assert.match(refused.stderr, /^ERROR: some images are not pinned by digest; to push .*built \(/m);
  const digestsBefore = flotilla(['config', '--resolve-image-digests'], { cwd: dir, timeoutMs: 60_000 });
  assert.equal(digestsBefore.status, 1);
  assert.match(digestsBefore.stderr, /^ERROR: some images are missing digests; to push \(flotilla push\): built/m);

  const r = ok(flotilla(['bundle', '--push-images', '-o', 'out.dab'], { cwd: dir, timeoutMs: 60_000 }), 'bundle --push-images');
  assert.match(r.stderr, /^Pushing built \(.*\) \.\.\. done$/m);
  assert.match(r.stderr, /^Wrote bundle to out\.dab$/m);
  const bundle = JSON.parse(readFileSync(join(dir, 'out.dab'), 'utf8')) as { Services: Record<string, { Image: string; Args?: string[] }> };
  const images = Object.fromEntries(Object.entries(bundle.Services).map(([k, v]) => [k, v.Image]));
  assert.equal(images['pulled'], `${reg.registry}/${repo}@${reg.digest}`, 'the pulled image: its RepoDigest');
  assert.equal(images['remote'], `${remoteImage}@${reg.digest}`, 'not on the engine: the registry digest');
  const builtDigest = JSON.parse(ok(docker(['image', 'inspect', '--format', '{{json .RepoDigests}}', builtImage]), 'inspect').stdout) as string[];
  assert.deepEqual([images['built']], builtDigest.filter((d) => d.startsWith(`${reg.registry}/${repo}/built@`)), 'pushed: the pushed digest');
  assert.deepEqual(bundle.Services['pulled']?.Args, ['sleep', '60']);

  // Read back as a project, and the same digests from config --resolve-image-digests.
  const back = ok(flotilla(['config', '--bundle-file', 'out.dab', '--format', 'json'], { cwd: dir }), 'config --bundle-file');
  const project = JSON.parse(back.stdout) as { services: Record<string, { image: string; command?: string[] }> };
  assert.deepEqual(Object.fromEntries(Object.entries(project.services).map(([k, v]) => [k, v.image])), images);
  assert.deepEqual(project.services['pulled']?.command, ['sleep', '60']);
  const pinned = ok(flotilla(['config', '--resolve-image-digests', '--format', 'json'], { cwd: dir, timeoutMs: 60_000 }), 'config --resolve-image-digests');
  const pinnedImages = JSON.parse(pinned.stdout) as { services: Record<string, { image: string }> };
  assert.deepEqual(Object.fromEntries(Object.entries(pinnedImages.services).map(([k, v]) => [k, v.image])), images);
});

test('an unreachable engine is one error line naming its socket', (t) => {
  const dir = projectDir(t, { 'compose.yml': 'services:\n  app:\n    build: .\n    image: x/app:1\n', Dockerfile: 'FROM scratch\n' });
  const socket = 'unix:///nonexistent/flotilla-e2e/docker.sock';
  for (const args of [['build'], ['pull'], ['push'], ['config', '--resolve-image-digests'], ['bundle', '--push-images']]) {
    const r = flotilla(['-H', socket, ...args], { cwd: dir });
    assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr, `ERROR: cannot connect to the Docker engine at ${socket}: no such file (is dockerd running?)\n`, args.join(' '));
  }
  // Without an engine, a bundle can only name pinned images: a warning, then the list.
  const bundle = flotilla(['-H', socket, 'bundle'], { cwd: dir });
  assert.equal(bundle.status, 1);
  assert.match(bundle.stderr, /^WARNING: cannot connect to the Docker engine at .*; only images pinned by digest/m);
  assert.match(bundle.stderr, /^ERROR: some images are not pinned by digest; to push .*app \(x\/app:1\)/m);
});
