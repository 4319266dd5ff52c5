// Service keys of the Compose Specification in version-less files: `env_file` long form,
// `label_file`, ports `name`/`app_protocol`. Golden `config` output written from the Specification
// (services.md) and compose-go (types/project.go WithServicesEnvironmentResolved, loadEnvFile,
// WithServicesLabelsResolved; schema port). docker compose v2 is not installable here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertCleanError, assertOk, flotilla } from '../helpers/cli.js';
import { projectDir } from '../helpers/tmp.js';

test('env_file long form: required: false skips a missing file, format: raw takes values as written; label_file under labels', (t) => {
  const dir = projectDir(t, {
    'compose.yaml': [
      'services:',
      '  a:',
      '    image: x',
      '    env_file:',
      '      - path: raw.env',
      '        format: raw',
      '      - path: missing.env',
      '        required: false',
      '      - ./plain.env',
      '    environment: [B=2]',
      '    label_file: [one.labels, two.labels]',
      '    labels: {L3: set}',
      '',
    ].join('\n'),
    'raw.env': '# comment\nA="quoted ${X}"\nB=1\n\nD=x=y\n',
    'plain.env': 'C="${X}"\n',
    'one.labels': 'L1=one\nL2=one\nL3=one\n',
    'two.labels': 'L2=two\n',
    'required.yaml': 'services:\n  a:\n    image: x\n    env_file:\n      - path: missing.env\n',
    'format.yaml': 'services:\n  a:\n    image: x\n    env_file:\n      - path: raw.env\n        format: json\n',
    'v3.yaml': 'version: "3.8"\nservices:\n  a:\n    image: x\n    label_file: one.labels\n',
  });
  const r = assertOk(flotilla(['config'], { cwd: dir, env: { X: 'ex' } }));
  assert.equal(
    r.stdout,
    [
      'services:',
      '  a:',
      '    environment:',
      '      A: "\\"quoted $${X}\\""',
      '      B: "2"',
      '      C: ex',
      '      D: x=y',
      '    image: x',
      '    labels:',
      '      L1: one',
      '      L2: two',
      '      L3: set',
      'version: "3.9"',
      '',
    ].join('\n'),
  );
  assertCleanError(flotilla(['-f', 'required.yaml', 'config'], { cwd: dir }), /missing\.env/);
  assertCleanError(flotilla(['-f', 'format.yaml', 'config'], { cwd: dir }), /format\.yaml:6:\d+: .*format "json" is not supported/);
  assertCleanError(flotilla(['-f', 'v3.yaml', 'config'], { cwd: dir }), /v3\.yaml:5:\d+: .*label_file/);
});

test('ports long form name and app_protocol are printed, in the long form, as v2 prints them', (t) => {
  const dir = projectDir(t, {
    'compose.yaml': [
      'services:',
      '  web:',
      '    image: x',
      '    ports:',
      '      - {target: 80, published: 8080, name: web, app_protocol: http}',
      '      - {target: 443, host_ip: 127.0.0.1, published: 8443, name: tls}',
      '      - "9090:90"',
      '',
    ].join('\n'),
    'v3.yaml': 'version: "3.8"\nservices:\n  web:\n    image: x\n    ports:\n      - {target: 80, name: web}\n',
  });
  const out = JSON.parse(assertOk(flotilla(['config', '--format', 'json'], { cwd: dir })).stdout);
  assert.deepEqual(out.services.web.ports, [
    { target: 80, published: 8080, name: 'web', app_protocol: 'http' },
    { target: 443, published: 8443, host_ip: '127.0.0.1', name: 'tls' },
    { target: 90, published: 9090 },
  ]);
  assertCleanError(flotilla(['-f', 'v3.yaml', 'config'], { cwd: dir }), /v3\.yaml:6:\d+: /);
});

test('top-level x- keys are kept, interpolated and merged across files, as v2 keeps them; versioned files still leave them out', (t) => {
  const dir = projectDir(t, {
    'compose.yaml': 'x-common: &c {image: "base:${TAG}"}\nx-meta: {keep: 1}\nx-list: [a]\nservices:\n  web: *c\n',
    'override.yaml': 'x-meta: {keep: 2, added: yes}\nservices:\n  web: {}\n',
    'v3.yaml': 'version: "3.8"\nx-common: {a: 1}\nservices:\n  web: {image: x}\n',
  });
  const out = JSON.parse(assertOk(flotilla(['-f', 'compose.yaml', '-f', 'override.yaml', 'config', '--format', 'json'], { cwd: dir, env: { TAG: '7' } })).stdout);
  assert.deepEqual(out['x-common'], { image: 'base:7' });
  assert.deepEqual(out['x-meta'], { keep: 2, added: true });
  assert.equal(out.services.web.image, 'base:7');
  assert.deepEqual(out['x-list'], ['a']);
  const v3 = JSON.parse(assertOk(flotilla(['-f', 'v3.yaml', 'config', '--format', 'json'], { cwd: dir })).stdout);
  assert.equal(v3['x-common'], undefined);
});

test('depends_on with required: false on a service no file defines is a warning, and the dependency is left out', (t) => {
  const dir = projectDir(t, {
    'compose.yaml': 'services:\n  web:\n    image: x\n    depends_on:\n      db: {condition: service_started, required: false}\n      cache: {condition: service_started}\n  cache:\n    image: c\n',
    'required.yaml': 'services:\n  web:\n    image: x\n    depends_on:\n      db: {condition: service_started, required: true}\n',
  });
  const r = assertOk(flotilla(['config', '--format', 'json'], { cwd: dir }));
  assert.deepEqual(JSON.parse(r.stdout).services.web.depends_on, { cache: { condition: 'service_started' } });
  assert.match(r.stderr, /^WARNING: compose\.yaml:5:7: .*"web" depends on "db", which no file defines.*required: false/m);
  assertCleanError(flotilla(['-f', 'required.yaml', 'config'], { cwd: dir }), /required\.yaml:5:7: .*'db', which is not defined/);
});
