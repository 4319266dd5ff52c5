// `!reset` and `!override` in version-less files: golden `config` output written from the Compose
// Specification (merge.md, "Reset value" and "Replace value") and compose-go (loader/reset.go:
// ResetProcessor; loader/extends.go and loader/include.go apply it to a base and to included
// resources). docker compose v2 is not installable here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertCleanError, assertOk, flotilla } from '../helpers/cli.js';
import { projectDir } from '../helpers/tmp.js';

const BASE = [
  'services:',
  '  app:',
  '    image: app',
  '    ports: ["8080:80", "9090:90"]',
  '    environment: [A=1, B=2]',
  '    labels: {keep: "1", drop: "1"}',
  '    command: [serve]',
  '    build: {context: ., args: [X=1]}',
  'networks:',
  '  front: {driver: bridge}',
  '  back: {driver: bridge}',
  '',
].join('\n');

test('!reset drops what earlier files set; !override replaces it whole', (t) => {
  const dir = projectDir(t, {
    'compose.yaml': BASE,
    'override.yaml': [
      'services:',
      '  app:',
      '    ports: !override ["7070:70"]',
      '    environment: !reset []',
      '    labels: {drop: !reset null, new: "2"}',
      '    command: !reset null',
      '    build: !reset',
      'networks:',
      '  back: !reset',
      '',
    ].join('\n'),
  });
  const r = assertOk(flotilla(['-f', 'compose.yaml', '-f', 'override.yaml', 'config'], { cwd: dir }));
  assert.equal(
    r.stdout,
    [
      'networks:',
      '  front:',
      '    driver: bridge',
      'services:',
      '  app:',
      '    image: app',
      '    labels:',
      '      keep: "1"',
      '      new: "2"',
      '    ports:',
      '    - published: 7070',
      '      target: 70',
      'version: "3.9"',
      '',
    ].join('\n'),
  );
});

test('!reset in an extending service drops what the base has; an override file\'s !reset reaches past extends', (t) => {
  const dir = projectDir(t, {
    'compose.yaml': [
      'services:',
      '  base:',
      '    image: base',
      '    environment: [A=1, B=2]',
      '    ports: ["8080:80"]',
      '  web:',
      '    extends: base',
      '    environment: {B: !reset null, C: "3"}',
      '',
    ].join('\n'),
    'override.yaml': 'services:\n  web:\n    ports: !reset []\n',
  });
  const one = JSON.parse(assertOk(flotilla(['config', '--format', 'json'], { cwd: dir })).stdout);
  assert.deepEqual(one.services.web, { environment: { A: '1', C: '3' }, image: 'base', ports: [{ target: 80, published: 8080 }] });
  const two = JSON.parse(assertOk(flotilla(['-f', 'compose.yaml', '-f', 'override.yaml', 'config', '--format', 'json'], { cwd: dir })).stdout);
  assert.deepEqual(two.services.web, { environment: { A: '1', C: '3' }, image: 'base' });
  assert.deepEqual(two.services.base.ports, [{ target: 80, published: 8080 }]);
});

test('!override on an included service replaces what the included file set', (t) => {
  const dir = projectDir(t, {
    'compose.yaml': 'include: [inc.yaml]\nservices:\n  bar:\n    environment: !override [ZOT=QIX]\n',
    'inc.yaml': 'services:\n  bar:\n    image: busybox\n    environment: [FOO=BAR]\n',
  });
  const out = JSON.parse(assertOk(flotilla(['config', '--format', 'json'], { cwd: dir })).stdout);
  assert.deepEqual(out.services.bar, { environment: { ZOT: 'QIX' }, image: 'busybox' });
});

test('versioned and v1 files keep docker-compose 1.29.2\'s refusal of the tags', (t) => {
  const dir = projectDir(t, {
    'v3.yaml': 'version: "3.8"\nservices:\n  app:\n    image: app\n    ports: !reset []\n',
    'v1.yaml': 'app:\n  image: app\n  ports: !override []\n',
  });
  assertCleanError(flotilla(['-f', 'v3.yaml', 'config'], { cwd: dir }), /v3\.yaml:5:\d+: unknown tag !reset/);
  assertCleanError(flotilla(['-f', 'v1.yaml', 'config'], { cwd: dir }), /v1\.yaml:3:\d+: unknown tag !override/);
});

test('the compose-go extends/reset.yaml case: the extending service drops the command it inherits', (t) => {
  const dir = projectDir(t, {
    'reset.yaml': 'services:\n  init:\n    image: alpine:latest\n    command: "sleep infinity"\n  base:\n    extends: { service: init }\n    command: !reset\n',
  });
  const out = JSON.parse(assertOk(flotilla(['-f', 'reset.yaml', 'config', '--format', 'json'], { cwd: dir })).stdout);
  assert.deepEqual(out.services.base, { image: 'alpine:latest' });
  assert.deepEqual(out.services.init, { command: 'sleep infinity', image: 'alpine:latest' });
});
