import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadProject, type LoadOptions } from '../../src/compose/load.js';
import { ConfigError, ErrorList } from '../../src/errors.js';
import { projectDir } from '../helpers/tmp.js';

function load(cwd: string, extra: Partial<LoadOptions> = {}) {
  return loadProject({ cwd, shell: { HOME: '/home/u' }, ...extra });
}

function service(cwd: string, name: string, extra: Partial<LoadOptions> = {}) {
  return load(cwd, extra).project.services.find((s) => s.name === name);
}

test('default files are found in parent directories, with their override file', (t) => {
  const dir = projectDir(t, {
    'docker-compose.yml': 'services:\n  web:\n    image: a\n',
    'docker-compose.override.yml': 'services:\n  web:\n    environment: [X=1]\n',
  }, 'My.Proj Name_1');
  const sub = join(dir, 'deep', 'er');
  mkdirSync(sub, { recursive: true });
  const { project } = load(sub);
  assert.equal(project.name, 'myprojname_1');
  assert.equal(project.workingDir, dir);
  assert.deepEqual(project.services.map((s) => [s.name, s.image, s.environment]), [['web', 'a', { X: '1' }]]);
});

test('two override files: the first in Compose v2\'s order is used, with a warning', (t) => {
  const dir = projectDir(t, {
    'compose.yaml': 'services: {web: {image: a}}\n',
    'compose.override.yml': 'services: {web: {image: b}}\n',
    'docker-compose.override.yml': 'services: {web: {image: c}}\n',
  });
  const loaded = load(dir);
  assert.deepEqual(loaded.project.configFiles, [join(dir, 'compose.yaml'), join(dir, 'compose.override.yml')]);
  assert.equal(loaded.project.services[0]?.image, 'b');
  assert.match(loaded.diagnostics.warnings.map((w) => w.message).join('\n'), /several override files .*using compose\.override\.yml/);
});

test('project name: -p, then COMPOSE_PROJECT_NAME (shell or .env), then the directory', (t) => {
  const dir = projectDir(t, { 'compose.yml': 'services: {a: {image: x}}\n', '.env': 'COMPOSE_PROJECT_NAME=Foo.Bar\n' });
  assert.equal(load(dir).project.name, 'foobar');
  assert.equal(load(dir, { shell: { COMPOSE_PROJECT_NAME: 'Shell' } }).project.name, 'shell');
  assert.equal(load(dir, { projectName: '  Foo.Bar_-Baz!' }).project.name, 'foobar_-baz');
  assert.throws(() => load(dir, { projectName: '!!!' }), /project name "!!!" is not valid/);
});

test('.env feeds interpolation, the shell wins, COMPOSE_FILE may come from .env', (t) => {
  const dir = projectDir(t, {
    'a.yml': 'services:\n  web:\n    image: "${IMG}:${TAG}"\n',
    '.env': 'IMG=fromenv\nTAG=1\nCOMPOSE_FILE=a.yml\n',
  });
  assert.equal(service(dir, 'web')?.image, 'fromenv:1');
  assert.equal(service(dir, 'web', { shell: { TAG: '2', HOME: '/h' } })?.image, 'fromenv:2');
});

test('--env-file replaces .env and must exist', (t) => {
  const dir = projectDir(t, { 'compose.yml': 'services:\n  web:\n    image: "${IMG}"\n', 'other.env': 'IMG=other\n' });
  assert.equal(service(dir, 'web', { envFile: 'other.env' })?.image, 'other');
  assert.throws(() => load(dir, { envFile: 'missing.env' }), /env file .*missing.env does not exist/);
});

test('env_file is folded into environment; environment wins; bare keys come from the shell', (t) => {
  const dir = projectDir(t, {
    'compose.yml': 'services:\n  web:\n    image: x\n    env_file: [a.env, b.env]\n    environment:\n      B: fromyaml\n      PASS:\n      MISSING:\n',
    'a.env': 'A=1\nB=a\nREF=${HOME}-ref\n',
    'b.env': 'C=3\n',
  });
  const web = service(dir, 'web', { shell: { HOME: '/home/u', PASS: 'secret' } });
  assert.deepEqual(web?.environment, { A: '1', B: 'fromyaml', REF: '/home/u-ref', C: '3', PASS: 'secret', MISSING: null });
  assert.equal('env_file' in (web ?? {}), false);
});

test('relative paths resolve against the project directory; extends bases keep their own', (t) => {
  const dir = projectDir(t, {
    'compose.yml': 'services:\n  web:\n    extends: {file: sub/common.yml, service: base}\n    volumes: ["./mine:/mine"]\nvolumes:\n  named: {}\n',
    'sub/common.yml': 'services:\n  base:\n    image: x\n    volumes: ["./data:/data", "named:/n"]\n    build: ./ctx\n',
    'sub/ctx/Dockerfile': 'FROM scratch\n',
  });
  const { project } = load(dir, { checkBuildContext: true });
  const web = project.services[0];
  assert.deepEqual(web?.volumes?.map((v) => [v.type, v.source, v.target]), [
    ['bind', join(dir, 'sub/data'), '/data'],
    ['bind', join(dir, 'mine'), '/mine'],
    ['volume', 'named', '/n'],
  ].sort((a, b) => String(a[2]).localeCompare(String(b[2]))));
  assert.deepEqual(web?.build, { context: join(dir, 'sub/ctx') });
});

test('extends cycles name the chain; bases with depends_on are refused', (t) => {
  const dir = projectDir(t, {
    'compose.yml': 'services:\n  a:\n    extends: b\n  b:\n    extends: a\n    image: x\n',
    'dep.yml': 'services:\n  base:\n    image: x\n    depends_on: [other]\n  other:\n    image: x\n  web:\n    extends: base\n',
  });
  assert.throws(() => load(dir), /circular extends: .*a in .*extends b in .*extends a in/);
  assert.throws(() => load(dir, { files: ['dep.yml'] }), /services with 'depends_on' cannot be extended/);
});

test('semantic errors point at the file, line and key', (t) => {
  const dir = projectDir(t, {
    'compose.yml': 'services:\n  web:\n    image: x\n    depends_on:\n      - db\n',
  });
  assert.throws(
    () => load(dir),
    (e: unknown) =>
      e instanceof ConfigError &&
      /depends on service 'db', which is not defined/.test(e.message) &&
      e.location?.file === join(dir, 'compose.yml') &&
      e.location?.path === 'services.web.depends_on.db',
  );
});

test('all schema errors of a file are reported at once, in file order', (t) => {
  const dir = projectDir(t, {
    'compose.yml': 'services:\n  a:\n    image: 1\n    foo: x\n  b:\n    ports: 80\n    port: ["80"]\n',
  });
  assert.throws(
    () => load(dir),
    (e: unknown) => {
      assert.ok(e instanceof ErrorList);
      assert.deepEqual(
        e.errors.map((x) => [x.location?.line, x.location?.path, x.message]),
        [
          [3, 'services.a.image', 'must be a string, not a number'],
          [4, 'services.a.foo', "unsupported key 'foo'"],
          [6, 'services.b.ports', 'must be a list, not a number'],
          [7, 'services.b.port', "unsupported key 'port' (did you mean 'ports'?)"],
        ],
      );
      return true;
    },
  );
});

test('v1 files: services at the top level, network_mode bridge, net: container: a service', (t) => {
  const dir = projectDir(t, { 'docker-compose.yml': 'db:\n  image: x\nweb:\n  image: y\n  net: "container:db"\n  links: [db]\n' });
  const { project } = load(dir);
  assert.equal(project.format, 'v1');
  assert.equal(project.version, '1');
  assert.deepEqual(project.services.map((s) => s.name), ['db', 'web']);
  assert.equal(project.services[1]?.network_mode, 'service:db');
});

test('a named volume must be declared', (t) => {
  const dir = projectDir(t, { 'compose.yml': 'services:\n  a:\n    image: x\n    volumes: ["data:/x"]\n' });
  assert.throws(() => load(dir), /named volume "data" is used by service "a" but not declared/);
});

test('rules from the differential test against docker-compose', (t) => {
  const dir = projectDir(t, {
    'compose.yml':
      'services:\n  web:\n    image: x\n    build: {context: ., args: {VERSION: 1.0, N: 2, R: 0.00001}}\n    sysctls: {net.core.x: 1.0}\n    labels: {big: 1.5e+16, small: 1.0e-7}\n    security_opt: ["seccomp=unconfined", "label=disable"]\n    network_mode: "service:"\n',
    'override.yml': 'services:\n  web:\n    # every key commented out: an empty definition\n',
  });
  const { project } = load(dir, { files: ['compose.yml', 'override.yml'] });
  const web = project.services[0];
  assert.deepEqual(web?.build?.args, { VERSION: '1.0', N: '2', R: '1e-05' });
  assert.deepEqual(web?.sysctls, { 'net.core.x': '1.0' });
  assert.deepEqual(web?.labels, { big: '1.5e+16', small: '1e-07' });
  assert.equal(web?.network_mode, 'service:');
});

test('more docker-compose checks: expose format, CIDR subnets, float ports, bad ports in merged files', (t) => {
  const dir = projectDir(t, {
    'expose.yml': 'services:\n  a:\n    image: x\n    expose: ["80:80"]\n',
    'subnet.yml': 'services:\n  a:\n    image: x\nnetworks:\n  n:\n    ipam:\n      config:\n        - subnet: 10.0.0.0/33\n',
    'float.yml': 'services:\n  a:\n    image: x\n    ports: [8080.0]\n',
    'base.yml': 'services:\n  a:\n    image: x\n    ports: ["80"]\n',
    'bad.yml': 'services:\n  a:\n    ports: ["80:80:80"]\n',
  });
  assert.throws(() => load(dir, { files: ['expose.yml'] }), /"80:80" is not a valid exposed port/);
  assert.throws(() => load(dir, { files: ['subnet.yml'] }), (e: unknown) => e instanceof ConfigError && /CIDR/.test(e.message) && e.location?.line === 8);
  assert.throws(() => load(dir, { files: ['float.yml'] }), /decimal number is not valid/);
  assert.throws(
    () => load(dir, { files: ['base.yml', 'bad.yml'] }),
    (e: unknown) => e instanceof ConfigError && /"80:80:80" is not a valid port/.test(e.message) && e.location?.file === join(dir, 'bad.yml'),
  );
});

test('"~user" paths expand from /etc/passwd, as Python does', (t) => {
  const dir = projectDir(t, { 'compose.yml': 'services:\n  a:\n    image: x\n    volumes: ["~root/data:/data", "~nosuchuser/x:/x"]\n' });
  const vols = load(dir).project.services[0]?.volumes?.map((v) => v.source);
  assert.deepEqual(vols, ['/root/data', '~nosuchuser/x']);
});

test('extends at scale: a 3,000-service chain and a 2,000-service star resolve correctly', (t) => {
  const n = 3000;
  const chain =
    'services:\n  s0:\n    image: x\n    environment: [A=0]\n    volumes: ["./d:/d"]\n' +
    Array.from({ length: n - 1 }, (_, i) => `  s${i + 1}:\n    extends: s${i}\n${i === 1500 ? '    environment: [B=1]\n' : ''}`).join('');
  const star = 'services:\n  base:\n    image: x\n    environment: [A=0]\n' + Array.from({ length: 2000 }, (_, i) => `  s${i}:\n    extends: base\n    environment: [I=${i}]\n`).join('');
  const dir = projectDir(t, { 'chain.yml': chain, 'star.yml': star });
  const services = new Map(load(dir, { files: ['chain.yml'] }).project.services.map((s) => [s.name, s]));
  assert.equal(services.size, n);
  assert.deepEqual(services.get(`s${n - 1}`)?.environment, { A: '0', B: '1' });
  assert.deepEqual(services.get('s1500')?.environment, { A: '0' });
  assert.deepEqual(services.get(`s${n - 1}`)?.volumes?.map((v) => v.source), [join(dir, 'd')]);
  const starred = load(dir, { files: ['star.yml'] }).project.services;
  assert.equal(starred.length, 2001);
  assert.deepEqual(starred.find((s) => s.name === 's1999')?.environment, { A: '0', I: '1999' });
});

test('a dependency cycle is reported at the key that closes it, whichever kind it is', (t) => {
  const image = '    image: x\n';
  const dir = projectDir(t, {
    'links.yml': `services:\n  a:\n${image}    links: [b]\n  b:\n${image}    network_mode: service:a\n`,
    'from.yml': `services:\n  a:\n${image}    volumes_from: [b]\n  b:\n${image}    depends_on: [a]\n`,
    'links2.yml': `services:\n  a:\n${image}    links: [c, b]\n  b:\n${image}    links: [a]\n  c:\n${image}`,
  });
  const at = (file: string) => {
    try {
      load(dir, { files: [file] });
    } catch (e) {
      assert.ok(e instanceof ConfigError && /dependency cycle/.test(e.message), String(e));
      return `${e.location?.path}@${e.location?.line}`;
    }
    return 'no error';
  };
  assert.equal(at('links.yml'), 'services.b.network_mode@7');
  assert.equal(at('from.yml'), 'services.b.depends_on.a@7');
  assert.match(at('links2.yml'), /^services\.(a\.links\[1\]@4|b\.links\[0\]@7)$/);
});

test('scale and memory sizes out of range are refused by up and warned by config', async (t) => {
  const { deployProblems } = await import('../../src/compose/emit/problems.js');
  const dir = projectDir(t, {
    'compose.yml':
      "version: '2.4'\nservices:\n  neg:\n    image: x\n    scale: -1\n  huge:\n    image: x\n    scale: 1000000000000\n" +
      '  mem:\n    image: x\n    mem_limit: -1\n    mem_reservation: abc\n    memswap_limit: -1\n    shm_size: 64m\n' +
      '  memabc:\n    image: x\n    mem_limit: "abc"\n',
  });
  const problems = deployProblems(load(dir).project).map((p) => `${p.service}.${p.keyPath.join('.')}: ${p.message}`);
  assert.deepEqual(problems.sort(), [
    'huge.scale: scale 1000000000000 is more than the 10000 containers one service may run',
    'mem.mem_limit: mem_limit -1 must not be negative',
    'mem.mem_reservation: mem_reservation "abc" is not a size (use e.g. "512m", "1g")',
    'memabc.mem_limit: mem_limit "abc" is not a size (use e.g. "512m", "1g")',
    'neg.scale: scale -1 is not a number of containers (0 or more)',
  ]);
});

test('cpus: NaN is named as such, and a service name with a newline is docker-compose\'s error', (t) => {
  const dir = projectDir(t, {
    'nan.yml': 'services:\n  a:\n    image: x\n    cpus: .nan\n',
    'nl.yml': 'services:\n  "a\\nb":\n    image: x\n',
  });
  assert.throws(() => load(dir, { files: ['nan.yml'] }), /must be a number or a string, not NaN \(not a number\)/);
  assert.throws(() => load(dir, { files: ['nl.yml'] }), (e: unknown) => e instanceof ConfigError && e.message === 'invalid service name "a\\nb": only [a-zA-Z0-9._-] characters are allowed');
});

test('a missing extends.file is reported at the service\'s extends key, naming the file', (t) => {
  const dir = projectDir(t, { 'compose.yml': 'services:\n  web:\n    image: busybox\n    extends:\n      file: nope.yml\n      service: base\n' });
  assert.throws(
    () => load(dir),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.location?.path === 'services.web.extends' &&
      e.location.line === 4 &&
      /cannot extend service 'base': Compose file \S+\/nope\.yml does not exist/.test(e.message),
  );
});
