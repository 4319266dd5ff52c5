/** Compose files and bundles compiled into stacks (src/stack/compile.ts, bundle.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Diagnostics } from '../../src/diagnostics.js';
import { ConfigError, ErrorList, UsageError } from '../../src/errors.js';
import { loadStack } from '../../src/cli/stack-input.js';
import { dependencyLevels } from '../../src/cli/stack-deploy.js';
import type { CliContext } from '../../src/cli/context.js';
import { projectDir } from '../helpers/tmp.js';

function context(cwd: string): CliContext {
  return { cwd, env: {}, stdout: process.stdout, stderr: process.stderr, readStdin: () => '' };
}

function messages(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    const list = e instanceof ErrorList ? e.errors : [e];
    return list.map((x) => (x instanceof ConfigError ? `${x.location?.line ?? '-'}:${x.location?.path ?? ''}: ${x.message}` : (x as Error).message));
  }
  return [];
}

test('services, networks, secrets and configs named and labelled for the stack', (t) => {
  const dir = projectDir(t, {
    's.yml': [
      'version: "3.8"',
      'services:',
      '  web:',
      '    image: nginx',
      '    networks: [front, outside]',
      '    secrets: [token]',
      '  worker:',
      '    image: acme/worker:2',
      'networks:',
      '  front: {}',
      '  outside: {external: true, name: shared}',
      'secrets:',
      '  token: {file: ./token.txt}',
      '  given: {external: true}',
      'configs:',
      '  app: {file: ./app.conf, name: fixed_name}',
      '',
    ].join('\n'),
    'token.txt': 't0k3n',
    'app.conf': 'x=1',
  });
  const diagnostics = new Diagnostics();
  const stack = loadStack({ stack: 'Demo', composeFiles: ['s.yml'] }, context(dir), diagnostics);
  assert.deepEqual(stack.services.map((s) => s.spec.name), ['Demo_web', 'Demo_worker']);
  const web = stack.services[0]?.spec;
  assert.equal(web?.task.container.image, 'nginx:latest');
  assert.equal(web?.labels['com.docker.stack.image'], 'nginx');
  assert.equal(web?.labels['com.docker.stack.namespace'], 'Demo');
  assert.deepEqual(web?.task.networks, [
    { target: 'Demo_front', aliases: ['web'] },
    { target: 'shared', aliases: ['web'] },
  ]);
  assert.deepEqual(web?.task.container.secrets, [{ source: 'Demo_token', target: 'token', uid: '0', gid: '0', mode: 0o444 }]);
  assert.deepEqual(stack.services[1]?.spec.task.networks, [{ target: 'Demo_default', aliases: ['worker'] }]);
  assert.deepEqual(stack.networks.map((n) => n.name), ['Demo_default', 'Demo_front']);
  assert.deepEqual(stack.externalNetworks, ['shared']);
  assert.deepEqual(stack.secrets.map((s) => [s.name, s.data.toString()]), [['Demo_token', 't0k3n']]);
  assert.deepEqual(stack.externalSecrets, ['given']);
  assert.deepEqual(stack.configs.map((c) => c.name), ['fixed_name']);
});

test("what Docker refuses is refused with the file's line and key, every service at once", (t) => {
  const dir = projectDir(t, {
    's.yml': [
      'version: "3.8"',
      'services:',
      '  a:',
      '    image: x',
      '    deploy: {mode: global, replicas: 2}',
      '  b:',
      '    image: x',
      '    networks: [nowhere]',
      '  c:',
      '    image: x',
      '    stop_grace_period: soon',
      '  d:',
      '    build: .',
      '  e:',
      '    image: x',
      '    deploy:',
      '      resources: {limits: {cpus: "0.0000000001"}}',
      '',
    ].join('\n'),
  });
  assert.deepEqual(messages(() => loadStack({ stack: 'st', composeFiles: ['s.yml'] }, context(dir), new Diagnostics())), [
    '5:services.a.deploy.replicas: replicas can only be used with mode replicated or replicated-job',
    '8:services.b.networks.nowhere: undefined network "nowhere": declare it under the top-level "networks"',
    '11:services.c.stop_grace_period: "soon" is not a duration (write e.g. "10s", "1m30s", "500ms")',
    '12:services.d: service "d" has no image: a stack deploys images (build them and push them first)',
    '17:services.e.deploy.resources.limits.cpus: "1e-10" is not a number of CPUs (or is more precise than a nanoCPU)',
  ]);
});

test('stack names the swarm cannot use are refused before anything is read', (t) => {
  const dir = projectDir(t, { 's.yml': 'version: "3.8"\nservices:\n  a:\n    image: x\n' });
  assert.throws(() => loadStack({ stack: 'my.stack', composeFiles: ['s.yml'] }, context(dir), new Diagnostics()), UsageError);
  assert.throws(() => loadStack({ stack: 'st', composeFiles: [] }, context(dir), new Diagnostics()), /give a Compose file \(-c FILE\) or a bundle/);
  const long = 'x'.repeat(62);
  assert.match(messages(() => loadStack({ stack: long, composeFiles: ['s.yml'] }, context(dir), new Diagnostics()))[0] ?? '', /at most 63 are allowed/);
});

test("a bundle deploys as Docker 1.12's docker deploy did, with the later fixes", (t) => {
  const digest = `sha256:${'c'.repeat(64)}`;
  const dir = projectDir(t, {
    'app.dab': JSON.stringify({
      Version: '0.1',
      Services: {
        web: { Image: `busybox@${digest}`, Command: ['sh', '-c'], Args: ['httpd -f'], Env: ['B=2', 'A=1'], Labels: { tier: 'front' }, Ports: [{ Protocol: 'tcp', Port: 80 }], WorkingDir: '/www', User: 'nobody', Networks: ['default', 'back'] },
        db: { Image: `busybox@${digest}` },
      },
    }),
  });
  const stack = loadStack({ stack: 'app', composeFiles: [], bundleFile: 'app.dab' }, context(dir), new Diagnostics());
  assert.deepEqual(stack.networks.map((n) => [n.name, n.driver, n.labels]), [
    ['app_back', 'overlay', { 'com.docker.stack.namespace': 'app' }],
    ['app_default', 'overlay', { 'com.docker.stack.namespace': 'app' }],
  ]);
  const web = stack.services.find((s) => s.name === 'web')?.spec;
  assert.deepEqual(web, {
    name: 'app_web',
    labels: { tier: 'front', 'com.docker.stack.namespace': 'app' },
    task: {
      container: { image: `busybox@${digest}`, labels: { 'com.docker.stack.namespace': 'app' }, command: ['sh', '-c'], args: ['httpd -f'], env: ['B=2', 'A=1'], dir: '/www', user: 'nobody' },
      networks: [
        { target: 'app_back', aliases: ['web'] },
        { target: 'app_default', aliases: ['web'] },
      ],
    },
    mode: { kind: 'replicated' },
    endpoint: { ports: [{ protocol: 'tcp', target: 80, mode: 'ingress' }] },
  });
  assert.equal(stack.services.find((s) => s.name === 'db')?.spec.task.networks, undefined);
});

test('--ordered levels follow depends_on inside the stack', (t) => {
  const dir = projectDir(t, {
    's.yml': 'version: "3.8"\nservices:\n  web:\n    image: x\n    depends_on: [api]\n  api:\n    image: x\n    depends_on: [db, cache]\n  db:\n    image: x\n  cache:\n    image: x\n  tool:\n    image: x\n',
  });
  const diagnostics = new Diagnostics();
  const stack = loadStack({ stack: 'st', composeFiles: ['s.yml'], ordered: true }, context(dir), diagnostics);
  assert.deepEqual(dependencyLevels(stack), [['cache', 'db', 'tool'], ['api'], ['web']]);
  assert.equal(diagnostics.warnings.filter((w) => /depends_on/.test(w.message)).length, 0);
  const unordered = new Diagnostics();
  loadStack({ stack: 'st', composeFiles: ['s.yml'] }, context(dir), unordered);
  assert.deepEqual(unordered.warnings.filter((w) => /depends_on/.test(w.message)).map((w) => w.location?.path).sort(), ['services.api.depends_on', 'services.web.depends_on']);
});
