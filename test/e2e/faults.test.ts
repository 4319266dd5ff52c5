/**
 * Failures against dockerd: each is one clear line (no stack trace) with exit status 1, and
 * leaves the project either untouched or in a state the next `up` converges from.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { assertCleanFailure, dockerOnly, e2eProject, poll, SERVE } from './lib.js';

test('an unreachable engine is one line naming the socket, exit 1', (t) => {
  if (!dockerOnly(t, 'DOCKER_HOST names an unreachable dockerd (test/engine/embedded covers an unreachable daemon)')) return;
  const p = e2eProject(t, 'noengine', { 'compose.yml': `services:\n  a:\n    image: busybox:latest\n` });
  if (!p) return;
  const env = { DOCKER_HOST: 'unix:///nonexistent.sock' };
  for (const args of [['up', '-d'], ['ps'], ['down'], ['logs', '-f']]) {
    const r = p.flotilla(args, { env });
    assertCleanFailure(r, /^ERROR: .*unix:\/\/\/nonexistent\.sock/);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, `one line for ${args.join(' ')}: ${r.stderr}`);
  }
});

test('a missing image with no registry names the service and image, and leaves nothing behind', (t) => {
  const p = e2eProject(t, 'noimage', {
    'compose.yml': `services:
  fine:
    image: busybox:latest
    command: ${SERVE}
  broken:
    image: flotilla-e2e-missing/nothing:1
`,
  });
  if (!p) return;
  const r = p.flotilla(['up', '-d'], { timeoutMs: 120_000 });
  assertCleanFailure(r, /ERROR: for broken \(flotilla-e2e-missing\/nothing:1\): /);
  assert.equal(p.containers().size, 0, 'no container created');
  assert.deepEqual(p.networks(), [], 'no network created');
});

test('a host port already in use fails that service, naming it; the others start', async (t) => {
  const server: Server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as { port: number }).port;
  const p = e2eProject(t, 'port', {
    'compose.yml': `services:
  web:
    image: busybox:latest
    command: httpd -f -p 80
    ports: ["127.0.0.1:${port}:80"]
  other:
    image: busybox:latest
    command: ${SERVE}
`,
  });
  if (!p) return;
  const r = p.flotilla(['up', '-d']);
  assertCleanFailure(r, new RegExp(`ERROR: for ${p.c('web')}: cannot start service web: .*127\\.0\\.0\\.1:${port}.*address already in use`));
  assert.match(r.stderr, /Encountered errors while bringing up the project/);
  assert.deepEqual(p.running(), [p.c('other')], `stderr: ${r.stderr}\nstdout: ${r.stdout}`);
});

test('an invalid project (unknown dependency) creates nothing', (t) => {
  const p = e2eProject(t, 'invalid', {
    'compose.yml': `services:
  a:
    image: busybox:latest
    command: ${SERVE}
  b:
    image: busybox:latest
    depends_on: [nosuch]
`,
  });
  if (!p) return;
  const r = p.flotilla(['up', '-d']);
  assertCleanFailure(r, /^ERROR: .*nosuch/m);
  assert.equal(p.containers().size, 0);
  assert.deepEqual(p.networks(), []);
  assert.deepEqual(p.volumes(), []);
});

function tenServices(): string {
  // A chain, so the services are created one after another and the kill lands in the middle.
  const lines = ['services:'];
  for (let i = 0; i < 10; i++) {
    lines.push(`  s${i}:`, '    image: busybox:latest', `    command: ${SERVE}`);
    if (i > 0) lines.push(`    depends_on: [s${i - 1}]`);
  }
  return `${lines.join('\n')}\n`;
}

test('up killed (SIGKILL) while creating 10 services: the next up converges with no duplicates', async (t) => {
  const p = e2eProject(t, 'killed', { 'compose.yml': tenServices() });
  if (!p) return;
  const up = p.spawn(['up', '-d']);
  await up.waitFor(new RegExp(`Creating ${p.c('s2')} \\.\\.\\. done`), 60_000);
  up.kill('SIGKILL');
  await up.exit(10_000);
  const partial = p.containers().size;
  assert.ok(partial >= 3 && partial < 10, `the kill landed mid-way (${partial} containers)`);

  p.ok(['up', '-d'], { timeoutMs: 120_000 });
  const names = [...p.containers().keys()].sort();
  assert.deepEqual(names, Array.from({ length: 10 }, (_, i) => p.c(`s${i}`)).sort(), 'one container per service');
  assert.equal(p.running().length, 10);
  const again = p.ok(['up', '-d']);
  assert.doesNotMatch(again.stderr, /Creating|Recreating/);
});

test('two concurrent up -d on one project make exactly one container per service and one network', async (t) => {
  const file = ['services:'];
  for (const s of ['a', 'b', 'c', 'd']) file.push(`  ${s}:`, '    image: busybox:latest', `    command: ${SERVE}`);
  file.push('    depends_on: [a]', '');
  const p = e2eProject(t, 'concurrent', { 'compose.yml': file.join('\n') });
  if (!p) return;
  const first = p.spawn(['up', '-d']);
  const second = p.spawn(['up', '-d']);
  const [c1, c2] = await Promise.all([first.exit(120_000), second.exit(120_000)]);
  assert.deepEqual([c1, c2], [0, 0], `both succeed:\n${first.output}\n---\n${second.output}`);
  assert.deepEqual([...p.containers().keys()].sort(), ['a', 'b', 'c', 'd'].map((s) => p.c(s)));
  assert.equal(p.running().length, 4);
  assert.deepEqual(p.networks(), [`${p.name}_default`]);
  await poll('a converged project', () => !/Creating|Recreating/.test(p.ok(['up', '-d']).stderr), 10_000);
});
