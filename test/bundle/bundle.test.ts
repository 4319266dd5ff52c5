import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectToBundle } from '../../src/bundle/from-project.js';
import { pinnedOnlyResolver, type DigestResolver } from '../../src/bundle/digests.js';
import { readBundle } from '../../src/bundle/read.js';
import { loadBundleProject } from '../../src/bundle/to-project.js';
import { Diagnostics } from '../../src/diagnostics.js';
import { ConfigError, ErrorList } from '../../src/errors.js';
import type { ComposeProject, ComposeService } from '../../src/compose/document.js';
import { projectDir } from '../helpers/tmp.js';
import { flotilla } from '../helpers/cli.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;

function project(services: ComposeService[], extra: Partial<ComposeProject> = {}): ComposeProject {
  return { name: 'p', workingDir: '/p', configFiles: ['/p/compose.yml'], format: 'v3', version: '3.8', services, networks: {}, volumes: {}, secrets: {}, configs: {}, ...extra };
}

test('conversion follows docker-compose bundle: command/entrypoint, ports, unsupported keys', async () => {
  const diagnostics = new Diagnostics();
  const web: ComposeService = {
    name: 'web',
    image: `busybox@${DIGEST}`,
    ports: [{ target: 80 }],
    expose: ['1234'],
    command: 'foo',
    entrypoint: 'entry',
    privileged: true,
    environment: { A: '1', EMPTY: '', UNSET: null },
    labels: { l: 'v' },
    working_dir: '/w',
    user: 'me',
  };
  const bundle = await projectToBundle(project([web]), pinnedOnlyResolver, diagnostics);
  assert.deepEqual(bundle, {
    Version: '0.1',
    Services: {
      web: {
        Image: `busybox@${DIGEST}`,
        Command: ['entry', 'foo'],
        Env: ['A=1'],
        Labels: { l: 'v' },
        WorkingDir: '/w',
        User: 'me',
        Networks: ['default'],
        Ports: [
          { Protocol: 'tcp', Port: 80 },
          { Protocol: 'tcp', Port: 1234 },
        ],
      },
    },
  });
  assert.deepEqual(diagnostics.warnings.map((w) => w.message), ["Unsupported key 'privileged' in services.web - ignoring"]);
});

test('container ports from ports and expose, de-duplicated in order', async () => {
  const s: ComposeService = {
    name: 's',
    image: `x@${DIGEST}`,
    ports: [
      { target: 80, published: 400 },
      { target: 222 },
      { target: 8001, published: 8001, host_ip: '127.0.0.1' },
      { target: 3000, published: 5000, host_ip: '127.0.0.1' },
      { target: 3001, published: 5001, host_ip: '127.0.0.1' },
    ],
    expose: ['80', '500/udp'],
    command: ['a', 'b'],
  };
  const b = await projectToBundle(project([s]), pinnedOnlyResolver, new Diagnostics());
  assert.deepEqual(b.Services['s']?.Ports, [
    { Protocol: 'tcp', Port: 80 },
    { Protocol: 'tcp', Port: 222 },
    { Protocol: 'tcp', Port: 8001 },
    { Protocol: 'tcp', Port: 3000 },
    { Protocol: 'tcp', Port: 3001 },
    { Protocol: 'udp', Port: 500 },
  ]);
  assert.deepEqual(b.Services['s']?.Args, ['a', 'b']);
});

test('unpinned images: one error listing what to push and what to pull; a resolver fills digests', async () => {
  const services: ComposeService[] = [
    { name: 'built', image: 'me/app:1', build: { context: '/p' } },
    { name: 'pulled', image: 'redis:7' },
  ];
  await assert.rejects(
    () => projectToBundle(project(services), pinnedOnlyResolver, new Diagnostics()),
    (e: unknown) => e instanceof ConfigError && /to push .*built \(me\/app:1\).*to pull .*pulled \(redis:7\)/.test(e.message),
  );
  const resolver: DigestResolver = { resolve: async (s) => ({ kind: 'digest', reference: `${String(s.image).split(':')[0]}@${DIGEST}` }) };
  const b = await projectToBundle(project(services), resolver, new Diagnostics());
  assert.equal(b.Services['pulled']?.Image, `redis@${DIGEST}`);
  await assert.rejects(() => projectToBundle(project([{ name: 'x', build: { context: '/p' } }]), resolver, new Diagnostics()), /has no image/);
});

test('reading: keys case-insensitively, unknown keys warned, errors located', (t) => {
  const dir = projectDir(t, {
    'ok.dab': JSON.stringify({ version: '0.1', services: { web: { image: `busybox@${DIGEST}`, ports: [{ port: 80, protocol: 'tcp' }], Extra: 1 } } }),
    'bad.dab': '{\n  "Version": "0.1",\n  "Services": {\n    "web": {"Image": "", "Networks": "none", "Ports": [{"Port": 70000}]}\n  }\n}\n',
    'syntax.dab': '{\n  "Version": "0.1",\n  "Services": {,}\n}\n',
  });
  const diagnostics = new Diagnostics();
  const b = readBundle(join(dir, 'ok.dab'), diagnostics);
  assert.deepEqual(b.Services['web']?.Ports, [{ Port: 80, Protocol: 'tcp' }]);
  assert.deepEqual(diagnostics.warnings.map((w) => [w.message, w.location?.path]), [["unknown key 'Extra' is ignored", 'Services.web.Extra']]);
  assert.throws(
    () => readBundle(join(dir, 'bad.dab'), new Diagnostics()),
    (e: unknown) => {
      assert.ok(e instanceof ErrorList);
      const lines = e.errors.map((x) => `${x.location?.line}:${x.location?.path}: ${x.message}`).sort();
      assert.deepEqual(lines, [
        '4:Services.web.Image: must not be empty',
        '4:Services.web.Networks: must be a list, not a string',
        '4:Services.web.Ports[0].Port: must be <= 65535',
      ]);
      return true;
    },
  );
  assert.throws(() => readBundle(join(dir, 'syntax.dab'), new Diagnostics()), (e: unknown) => e instanceof ConfigError && /JSON syntax error at byte \d+/.test(e.message) && e.location?.line === 3);
});

test('reading: a service name the format refuses is reported against that name, not against Services', (t) => {
  const dir = projectDir(t, {
    'names.dab': `{\n  "Version": "0.1",\n  "Services": {\n    "ok": {"Image": "busybox@${DIGEST}"},\n    "bad name": {"Image": "busybox@${DIGEST}"},\n    "__proto__": {"Image": "busybox@${DIGEST}"}\n  }\n}\n`,
    'constructor.dab': JSON.stringify({ Version: '0.1', Services: { constructor: { Image: `busybox@${DIGEST}`, Env: ['toString=1'] } } }),
  });
  assert.throws(
    () => readBundle(join(dir, 'names.dab'), new Diagnostics()),
    (e: unknown) => {
      assert.ok(e instanceof ErrorList);
      const lines = e.errors.map((x) => `${x.location?.line}:${x.location?.path}: ${x.message}`).sort();
      assert.deepEqual(lines, ["5:Services.bad name: 'bad name' is not a valid name", "6:Services.__proto__: '__proto__' is not a valid name"]);
      return true;
    },
  );
  const b = readBundle(join(dir, 'constructor.dab'), new Diagnostics());
  assert.deepEqual(Object.keys(b.Services), ['constructor']);
  assert.deepEqual(b.Services['constructor']?.Env, ['toString=1']);
});

test('a bundle read as a project: Command is the entrypoint, Args the command, ports exposed only', (t) => {
  const dir = projectDir(t, {
    'stack.dab': JSON.stringify({
      Version: '0.1',
      Services: { web: { Image: `busybox@${DIGEST}`, Command: ['sh', '-c'], Args: ['echo hi'], Env: ['A=1', 'B'], Labels: { l: 'v' }, Ports: [{ Protocol: 'udp', Port: 53 }], Networks: ['back'] } },
    }),
  });
  const p = loadBundleProject('stack.dab', { cwd: dir }, new Diagnostics());
  assert.equal(p.name, 'stack');
  assert.deepEqual(p.services[0], {
    name: 'web',
    image: `busybox@${DIGEST}`,
    entrypoint: ['sh', '-c'],
    command: ['echo hi'],
    environment: { A: '1', B: null },
    deploy: { labels: { l: 'v' } },
    expose: ['53/udp'],
    networks: { back: null },
  });
  assert.deepEqual(p.networks, { back: {} });
});

test('flotilla bundle writes <project>.dab with sorted keys; config --bundle-file reads it back', (t) => {
  const dir = projectDir(t, {
    'compose.yml': `services:\n  web:\n    image: busybox@${DIGEST}\n    command: echo hi\n    volumes: [/a:/b]\n`,
  }, 'myapp');
  const r = flotilla(['bundle'], { cwd: dir });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /Wrote bundle to myapp\.dab/);
  assert.match(r.stderr, /WARNING: Unsupported key 'volumes' in services\.web - ignoring/);
  const text = readFileSync(join(dir, 'myapp.dab'), 'utf8');
  assert.equal(text, `{\n  "Services": {\n    "web": {\n      "Args": [\n        "echo",\n        "hi"\n      ],\n      "Image": "busybox@${DIGEST}",\n      "Networks": [\n        "default"\n      ]\n    }\n  },\n  "Version": "0.1"\n}\n`);
  const back = flotilla(['config', '--bundle-file', 'myapp.dab', '--format', 'json'], { cwd: dir });
  assert.deepEqual(JSON.parse(back.stdout).services.web.command, ['echo', 'hi']);
  writeFileSync(join(dir, 'compose.yml'), 'services:\n  web:\n    image: busybox:latest\n');
  // Without an engine only pinned images can be bundled (with one, busybox:latest may resolve
  // through RepoDigests that another test's push left on it).
  const unpinned = flotilla(['-H', 'unix:///nonexistent/flotilla-test/docker.sock', 'bundle', '-o', 'out.dab'], { cwd: dir });
  assert.equal(unpinned.status, 1);
  assert.match(unpinned.stderr, /^ERROR: some images are not pinned by digest; to pull \(flotilla pull\): web \(busybox:latest\)/m);
});
