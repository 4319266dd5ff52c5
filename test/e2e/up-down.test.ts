/**
 * `up -d` and `down` against dockerd: what they create and remove, a no-op `up`, recreating
 * exactly what changed (and `--dry-run` saying why), the convergence flags, anonymous volumes
 * kept across a recreate and removed by `down -v`, orphans, and `--rmi local`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { docker, dockerOnly, dockerSucceeds, e2eProject, lines, SERVE } from './lib.js';

/** A service that stops at once on SIGTERM. */

function twoServices(x: string, dbEnv = '1'): string {
  return `services:
  db:
    image: busybox:latest
    command: ${SERVE}
    environment:
      DB: "${dbEnv}"
  web:
    image: busybox:latest
    command: ${SERVE}
    depends_on: [db]
    environment:
      X: "${x}"
`;
}

const env = (p: { inspect(c: string): { Config: { Env: string[] } } }, c: string, key: string) =>
  p.inspect(c).Config.Env.find((e) => e.startsWith(`${key}=`))?.slice(key.length + 1);

test('up -d creates the network and containers docker-compose would; a second up changes nothing; down removes all', (t) => {
  const p = e2eProject(t, 'updown', { 'compose.yml': twoServices('1') });
  if (!p) return;
  const up = p.ok(['up', '-d']);
  assert.match(up.stderr, new RegExp(`Creating network "${p.name}_default" with the default driver \\.\\.\\. done`));
  assert.match(up.stderr, new RegExp(`Creating ${p.c('db')} \\.\\.\\. done`));
  assert.match(up.stderr, new RegExp(`Creating ${p.c('web')} \\.\\.\\. done`));
  assert.deepEqual(p.running(), [p.c('db'), p.c('web')]);
  assert.deepEqual(p.networks(), [`${p.name}_default`]);

  const labels = p.inspect(p.c('web')).Config.Labels;
  assert.equal(labels['com.docker.compose.project'], p.name);
  assert.equal(labels['com.docker.compose.service'], 'web');
  assert.equal(labels['com.docker.compose.container-number'], '1');
  assert.equal(labels['com.docker.compose.oneoff'], 'False');
  assert.equal(labels['com.docker.compose.version'], '1.29.2');
  assert.equal(labels['com.docker.compose.project.working_dir'], p.dir);
  assert.match(labels['com.docker.compose.config-hash'] ?? '', /^[0-9a-f]{64}$/);

  const before = p.containers();
  const again = p.ok(['up', '-d']);
  assert.match(again.stderr, new RegExp(`${p.c('db')} is up-to-date`));
  assert.match(again.stderr, new RegExp(`${p.c('web')} is up-to-date`));
  assert.doesNotMatch(again.stderr, /Creating|Recreating|Starting/);
  assert.deepEqual(p.containers(), before, 'container ids unchanged');

  const down = p.ok(['down', '-t', '0']);
  assert.match(down.stderr, new RegExp(`Removing ${p.c('web')} \\.\\.\\. done`));
  assert.match(down.stderr, new RegExp(`Removing network ${p.name}_default \\.\\.\\. done`));
  assert.equal(p.containers().size, 0);
  assert.deepEqual(p.networks(), []);
});

test('a changed environment variable recreates only that service; --dry-run says why and changes nothing', (t) => {
  const p = e2eProject(t, 'recreate', { 'compose.yml': twoServices('1') });
  if (!p) return;
  p.ok(['up', '-d']);
  const before = p.containers();
  p.write('compose.yml', twoServices('2'));

  const dry = p.ok(['up', '-d', '--dry-run']);
  assert.deepEqual(lines(dry.stdout).sort(), [`${p.c('db')} is up to date`, `recreate ${p.c('web')}: environment.X changed`].sort());
  assert.deepEqual(p.containers(), before, '--dry-run changed nothing');
  assert.equal(env(p, p.c('web'), 'X'), '1');

  const up = p.ok(['up', '-d', '-t', '0']);
  assert.match(up.stderr, new RegExp(`Recreating ${p.c('web')} \\.\\.\\. done`));
  assert.match(up.stderr, new RegExp(`${p.c('db')} is up-to-date`));
  const after = p.containers();
  assert.equal(after.size, 2, [...after.keys()].join(', '));
  assert.equal(after.get(p.c('db')), before.get(p.c('db')), 'db kept');
  assert.notEqual(after.get(p.c('web')), before.get(p.c('web')), 'web recreated');
  assert.equal(env(p, p.c('web'), 'X'), '2');
  assert.doesNotMatch(p.ok(['up', '-d', '--dry-run']).stdout, /^(recreate|create|start) /m, 'converged');
});

test('--no-recreate, dependants of a recreated service, --always-recreate-deps and --force-recreate', (t) => {
  const p = e2eProject(t, 'strategy', { 'compose.yml': twoServices('1', '1') });
  if (!p) return;
  p.ok(['up', '-d']);
  const v1 = p.containers();

  p.write('compose.yml', twoServices('1', '2'));
  p.ok(['up', '-d', '--no-recreate']);
  assert.deepEqual(p.containers(), v1, '--no-recreate keeps the containers');
  assert.equal(env(p, p.c('db'), 'DB'), '1');

  // docker-compose recreates a running dependant only with --always-recreate-deps.
  p.ok(['up', '-d', '-t', '0']);
  const v2 = p.containers();
  assert.notEqual(v2.get(p.c('db')), v1.get(p.c('db')), 'db recreated');
  assert.equal(v2.get(p.c('web')), v1.get(p.c('web')), 'running web kept');

  p.write('compose.yml', twoServices('1', '3'));
  const always = p.ok(['up', '-d', '-t', '0', '--always-recreate-deps']);
  assert.match(always.stderr, new RegExp(`Recreating ${p.c('web')}`));
  const v3 = p.containers();
  assert.notEqual(v3.get(p.c('db')), v2.get(p.c('db')));
  assert.notEqual(v3.get(p.c('web')), v2.get(p.c('web')), 'web recreated with its dependency');

  p.ok(['up', '-d', '-t', '0', '--force-recreate']);
  const v4 = p.containers();
  assert.equal(v4.size, 2);
  for (const [name, id] of v4) assert.notEqual(id, v3.get(name), `${name} recreated by --force-recreate`);

  const conflict = p.flotilla(['up', '-d', '--force-recreate', '--no-recreate']);
  assert.equal(conflict.status, 1);
  assert.match(conflict.stderr, /--force-recreate and --no-recreate cannot be combined/);
});

test('anonymous volumes keep their data across a recreate, -V renews them, down -v leaves none behind', (t) => {
  const file = (v: string) => `services:
  app:
    image: busybox:latest
    command: ${SERVE}
    volumes: [/data]
    environment: {V: "${v}"}
`;
  const p = e2eProject(t, 'anon', { 'compose.yml': file('1') });
  if (!p) return;
  p.ok(['up', '-d']);
  p.ok(['exec', '-T', 'app', 'sh', '-c', 'echo kept > /data/file']);
  const [first] = p.mountedVolumes();
  assert.ok(first, 'an anonymous volume is mounted');
  p.noteVolumes();

  p.write('compose.yml', file('2'));
  p.ok(['up', '-d', '-t', '0']);
  assert.equal(p.ok(['exec', '-T', 'app', 'cat', '/data/file']).stdout.trim(), 'kept', 'the data survived the recreate');
  assert.deepEqual(p.mountedVolumes(), [first], 'the same volume');

  p.ok(['up', '-d', '-t', '0', '--force-recreate']);
  assert.equal(p.ok(['exec', '-T', 'app', 'cat', '/data/file']).stdout.trim(), 'kept', 'and a forced recreate');

  p.ok(['up', '-d', '-t', '0', '-V']);
  p.noteVolumes();
  const [renewed] = p.mountedVolumes();
  assert.notEqual(renewed, first, '-V mounts a new volume');
  assert.equal(p.ok(['exec', '-T', 'app', 'sh', '-c', 'cat /data/file 2>/dev/null || echo none']).stdout.trim(), 'none');

  const seen = [first as string, renewed as string];
  p.ok(['down', '-v', '-t', '0']);
  assert.equal(p.containers().size, 0);
  assert.deepEqual(p.existingVolumes(seen), [], 'down -v removed the anonymous volumes (the inherited one too)');
});

test('named volumes stay on down and go with down -v; orphans are warned about and removed with --remove-orphans', (t) => {
  const full = `services:
  a:
    image: busybox:latest
    command: ${SERVE}
    volumes: ["data:/d"]
  b:
    image: busybox:latest
    command: ${SERVE}
volumes:
  data: {}
`;
  const p = e2eProject(t, 'orphans', { 'compose.yml': full });
  if (!p) return;
  p.ok(['up', '-d']);
  assert.deepEqual(p.volumes(), [`${p.name}_data`]);

  p.write('compose.yml', full.replace(/ {2}b:\n.*\n.*\n/, ''));
  const up = p.ok(['up', '-d']);
  assert.match(up.stderr, new RegExp(`WARNING: Found orphan containers \\(${p.c('b')}\\) for this project`));
  assert.ok(p.containers().has(p.c('b')), 'up keeps the orphan');

  const down = p.ok(['down', '-t', '0']);
  assert.match(down.stderr, /Found orphan containers/);
  assert.deepEqual([...p.containers().keys()], [p.c('b')], 'down without --remove-orphans leaves the orphan');
  assert.deepEqual(p.volumes(), [`${p.name}_data`], 'down without -v keeps named volumes');

  p.ok(['down', '-t', '0', '--remove-orphans', '-v']);
  assert.equal(p.containers().size, 0);
  assert.deepEqual(p.networks(), []);
  assert.deepEqual(p.volumes(), []);
});

test('down --rmi local removes the images built for the project and no others', (t) => {
  if (!dockerOnly(t, 'the checks use the docker CLI (the embedded builder is tested in test/embedded/build.test.ts)')) return;
  const p = e2eProject(t, 'rmi', {
    'compose.yml': `services:
  built:
    build: .
    command: ${SERVE}
  pulled:
    image: busybox:latest
    command: ${SERVE}
`,
    Dockerfile: 'FROM busybox:latest\nRUN echo built > /built\n',
  });
  if (!p) return;
  const image = `${p.name}_built`;
  t.after(() => docker(['rmi', '-f', image], true));
  p.ok(['up', '-d'], { timeoutMs: 120_000 });
  assert.equal(docker(['exec', p.c('built'), 'cat', '/built']).trim(), 'built');
  const down = p.ok(['down', '--rmi', 'local', '-t', '0']);
  assert.match(down.stderr, new RegExp(`Removing image ${image}`));
  assert.equal(dockerSucceeds(['image', 'inspect', image]), false, 'the built image is gone');
  assert.equal(dockerSucceeds(['image', 'inspect', 'busybox:latest']), true, 'busybox stays');
  assert.equal(p.containers().size, 0);
});
