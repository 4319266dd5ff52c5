/**
 * Issue 15 item 14: names that are also Object.prototype's (`__proto__`, `constructor`,
 * `toString`, `hasOwnProperty`) as service, network, volume, secret, config, environment, label,
 * build arg, sysctl, extra host and logging option names, through two merged files, extends from
 * another file, and a .env variable. `config` must print what docker-compose 1.29.2 prints, and
 * references to such a name that is not defined must get docker-compose's verdict.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { loadProject } from '../../src/compose/load.js';
import { flotilla } from '../helpers/cli.js';
import { projectDir } from '../helpers/tmp.js';
import { dockerComposeAvailable } from '../helpers/docker.js';

const NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'];

function files(n: string): Record<string, string> {
  return {
    'compose.yml': `version: "3.8"
services:
  ${n}:
    image: busybox
    environment:
      ${n}: v
      X: \${${n}:-dflt}
      Y: \${${n}}
    labels:
      ${n}: v
    networks:
      ${n}:
        aliases: [${n}]
    volumes: ["${n}:/data"]
    secrets: [${n}]
    configs: [${n}]
    extra_hosts: ["${n}:1.2.3.4"]
    build:
      context: .
      args:
        ${n}: v
    sysctls:
      ${n}: 1
    logging:
      options:
        ${n}: v
  child:
    extends:
      service: ${n}
    depends_on: [${n}]
    environment:
      ${n}: child
networks:
  ${n}:
    driver_opts:
      ${n}: v
    labels:
      ${n}: v
volumes:
  ${n}:
    driver_opts: {${n}: v}
    labels: {${n}: v}
secrets:
  ${n}: {file: ./compose.yml}
configs:
  ${n}: {file: ./compose.yml}
`,
    // a second file: the same names merged, and a service only this file has, extending another file's
    'compose.override.yml': `version: "3.8"
services:
  ${n}:
    environment:
      ${n}: override
    labels:
      ${n}: override
  ${n}x:
    extends: {file: base.yml, service: ${n}}
    environment: ["${n}=1"]
networks:
  ${n}:
    labels:
      ${n}: override
`,
    'base.yml': `version: "3.8"\nservices:\n  ${n}:\n    image: alpine\n    labels: ["${n}"]\n`,
    '.env': `${n}=from-dotenv\n`,
  };
}

/** docker-compose 1.29.2 and Python's yaml (its own dependency): required in CI, else the comparison is skipped. */
function haveDockerCompose(t: { skip: (m: string) => void }): boolean {
  if (dockerComposeAvailable()) return true;
  if (process.env['FLOTILLA_CI'] === '1') throw new Error('docker-compose is required in CI');
  t.skip('needs docker-compose 1.29.2');
  return false;
}

/** YAML text as canonical JSON, read by Python's yaml (as docker-compose reads it; `__proto__` an ordinary key). */
function canonical(yaml: string): string {
  const r = spawnSync('python3', ['-c', 'import yaml,json,sys; print(json.dumps(yaml.safe_load(sys.stdin), sort_keys=True, indent=1))'], { input: yaml, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

for (const n of NAMES) {
  test(`"${n}" as every kind of name: loaded as any other name`, (t) => {
    const dir = projectDir(t, files(n), 'protonames');
    const project = loadProject({ cwd: dir, shell: { HOME: dir }, projectName: 'protonames' });
    const d = project.deployment();
    assert.deepEqual(d.services.map((s) => s.name).sort(), ['child', n, `${n}x`].sort());
    assert.deepEqual(Object.keys(d.networks).filter((k) => k !== 'default'), [n]);
    assert.deepEqual(Object.keys(d.volumes), [n]);
    const svc = d.services.find((s) => s.name === n);
    assert.ok(svc);
    const env = new Map(svc.environment.map((e) => [e.name, e.value]));
    assert.equal(env.get(n), 'override');
    assert.equal(env.get('X'), 'from-dotenv');
    assert.equal(env.get('Y'), 'from-dotenv');
    assert.deepEqual(new Map(d.services.find((s) => s.name === `${n}x`)?.environment.map((e) => [e.name, e.value])).get(n), '1');
  });

  test(`"${n}" as every kind of name: config prints what docker-compose prints`, (t) => {
    if (!haveDockerCompose(t)) return;
    const dir = projectDir(t, files(n), 'protonames');
    const ours = flotilla(['config'], { cwd: dir });
    assert.equal(ours.status, 0, ours.stderr);
    const theirs = spawnSync('docker-compose', ['config'], { cwd: dir, encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: dir } });
    assert.equal(theirs.status, 0, theirs.stderr);
    assert.equal(canonical(ours.stdout), canonical(theirs.stdout));
  });

  test(`"${n}" referred to but not defined: docker-compose's verdict`, (t) => {
    if (!haveDockerCompose(t)) return;
    const cases: [string, number][] = [
      [`depends_on: [${n}]`, 1],
      [`links: [${n}]`, 1],
      [`volumes: ["${n}:/x"]`, 1],
      [`network_mode: "service:${n}"`, 1],
      [`networks: [${n}]`, 0],
    ];
    for (const [line, expected] of cases) {
      const dir = projectDir(t, { 'compose.yml': `version: "3.8"\nservices:\n  a:\n    image: busybox\n    ${line}\n` }, 'protoref');
      const theirs = spawnSync('docker-compose', ['config', '-q'], { cwd: dir, encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: dir } });
      assert.equal(theirs.status, expected, `docker-compose on ${line}: ${theirs.stderr}`);
      const ours = flotilla(['config', '-q'], { cwd: dir });
      assert.equal(ours.status, expected, `${line}: ${ours.stderr}`);
      if (expected === 1) {
        assert.equal(ours.stderr.trim().split('\n').length, 1, ours.stderr);
        assert.ok(ours.stderr.includes(`'${n}'`) || ours.stderr.includes(`"${n}"`), `${line}: the error names ${n}: ${ours.stderr}`);
      }
    }
  });
}

test('label_file (version-less files) keeps every name from Object.prototype as a label', (t) => {
  const dir = projectDir(
    t,
    { 'compose.yaml': 'services:\n  a:\n    image: busybox\n    label_file: l.env\n', 'l.env': NAMES.map((n) => `${n}=v-${n}`).join('\n') + '\n' },
    'protolabels',
  );
  const out = JSON.parse(flotilla(['config', '--format', 'json'], { cwd: dir }).stdout) as { services: { a: { labels: Record<string, string> } } };
  assert.deepEqual(Object.entries(out.services.a.labels).sort(), NAMES.map((n) => [n, `v-${n}`]).sort());
});
