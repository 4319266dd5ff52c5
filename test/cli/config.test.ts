import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { load as parseYaml } from 'js-yaml';
import { assertCleanError, flotilla } from '../helpers/cli.js';
import { projectDir } from '../helpers/tmp.js';

test('config prints the resolved project as YAML and as JSON', (t) => {
  const dir = projectDir(t, {
    'compose.yml': 'services:\n  web:\n    image: "nginx:${TAG:-1.25}"\n    ports: ["8080:80"]\n    command: echo $$HOME\n',
  });
  const yaml = flotilla(['config'], { cwd: dir });
  assert.equal(yaml.status, 0, yaml.stderr);
  const doc = parseYaml(yaml.stdout) as { services: Record<string, Record<string, unknown>> };
  assert.deepEqual(doc.services['web'], { image: 'nginx:1.25', ports: [{ published: 8080, target: 80 }], command: 'echo $$HOME' });
  const json = flotilla(['config', '--format', 'json'], { cwd: dir });
  assert.deepEqual(JSON.parse(json.stdout).services.web.ports, [{ target: 80, published: 8080 }]);
});

test('config --services, --volumes, --profiles and -q', (t) => {
  const dir = projectDir(t, {
    'compose.yml':
      'services:\n  web:\n    image: x\n    depends_on: [db]\n    profiles: [front]\n  db:\n    image: y\n    volumes: [data:/d]\n    profiles: [back, front]\nvolumes:\n  data: {}\n',
  });
  assert.equal(flotilla(['config', '--services'], { cwd: dir }).stdout, 'db\nweb\n');
  assert.equal(flotilla(['config', '--volumes'], { cwd: dir }).stdout, 'data\n');
  assert.equal(flotilla(['config', '--profiles'], { cwd: dir }).stdout, 'back\nfront\n');
  const quiet = flotilla(['config', '-q'], { cwd: dir });
  assert.deepEqual([quiet.status, quiet.stdout], [0, '']);
});

test('-f - reads the project from standard input', (t) => {
  const dir = projectDir(t, {});
  const r = flotilla(['-f', '-', 'config', '--services'], { cwd: dir, input: 'services:\n  a:\n    image: x\n' });
  assert.deepEqual([r.status, r.stdout], [0, 'a\n']);
});

test('warnings go to stderr; the output stays clean', (t) => {
  const dir = projectDir(t, { 'compose.yml': 'services:\n  web:\n    image: "${UNSET_IMAGE}x"\n' });
  const r = flotilla(['config'], { cwd: dir });
  assert.equal(r.status, 0);
  assert.match(r.stderr, /^WARNING: The UNSET_IMAGE variable is not set\. Defaulting to a blank string\.$/m);
  assert.doesNotMatch(r.stdout, /WARNING/);
});

test('an error names file, line, column and key, in one line', (t) => {
  const dir = projectDir(t, { 'compose.yml': 'services:\n  web:\n    image: x\n    ports:\n      - "80:80:80"\n' });
  const r = flotilla(['config'], { cwd: dir });
  assertCleanError(r, /^ERROR: compose\.yml:5:9: services\.web\.ports\[0\]: "80:80:80" is not a valid port/);
});

test('bad input: broken YAML, binary, directory, missing, empty, huge, wrong types', (t) => {
  const dir = projectDir(t, {
    'broken.yml': 'services:\n  web:\n    image: [x\n',
    'empty.yml': '',
    'list.yml': '- a\n- b\n',
    'types.yml': 'services:\n  web:\n    image: 5\n    environment: 3\n',
    'unknown.yml': 'services:\n  web:\n    image: x\n    depends_on: [nope]\n',
  });
  writeFileSync(join(dir, 'binary.yml'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff, 0xfe, 0x00]));
  mkdirSync(join(dir, 'adir.yml'));
  writeFileSync(join(dir, 'huge.yml'), `services:\n  web:\n    image: "${'x'.repeat(50 * 1024 * 1024)}"\n`);
  symlinkSync('/nonexistent/target', join(dir, 'dangling.yml'));
  const cases: [string, RegExp][] = [
    ['broken.yml', /^ERROR: broken\.yml:4:1: /m],
    ['binary.yml', /binary\.yml: Compose file \S+ is not UTF-8 text|unacceptable character/],
    ['adir.yml', /is a directory/],
    ['missing.yml', /missing\.yml does not exist/],
    ['dangling.yml', /dangling\.yml does not exist/],
    ['empty.yml', /empty\.yml:1:1: the file is empty/],
    ['list.yml', /not a mapping/],
    ['huge.yml', /too large \(50\.0 MiB; the limit is 8\.0 MiB\)/],
    ['types.yml', /types\.yml:3:5: services\.web\.image: must be a string, not a number/],
    ['unknown.yml', /depends on service 'nope', which is not defined/],
  ];
  for (const [file, pattern] of cases) {
    const started = Date.now();
    const r = flotilla(['-f', file, 'config'], { cwd: dir });
    assertCleanError(r, pattern);
    assert.ok(Date.now() - started < 20_000, `${file} is handled in bounded time`);
  }
  const types = flotilla(['-f', 'types.yml', 'config'], { cwd: dir });
  assert.equal(types.stderr.trimEnd().split('\n').length, 2, 'both schema errors are reported');
});

test('no Compose file, and an unknown option', (t) => {
  const dir = projectDir(t, {});
  assertCleanError(flotilla(['config'], { cwd: dir }), /no Compose file found/);
  const r = flotilla(['config', '--bogus'], { cwd: dir });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^ERROR: unknown option '--bogus'/);
});

test('--version', (t) => {
  const r = flotilla(['--version'], { cwd: projectDir(t, {}) });
  assert.equal(r.status, 0);
  assert.match(r.stdout, /^flotilla version \d+\.\d+\.\d+/);
});

test('control characters in names are escaped: one error, one line', (t) => {
  const dir = projectDir(t, { 'compose.yml': 'services:\n  "a\\nb":\n    image: x\n  "c\\td":\n    image: x\n' });
  const r = flotilla(['config'], { cwd: dir });
  assertCleanError(r, /^ERROR: compose\.yml:2:3: services\.a\\nb: invalid service name "a\\nb": only/m);
  assert.equal(r.stderr.trimEnd().split('\n').length, 2, r.stderr);
  assert.match(r.stderr, /services\.c\\td: invalid service name "c\\td"/);
});
