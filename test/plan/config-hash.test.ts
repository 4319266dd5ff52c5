import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pythonJsonDumps } from '../../src/util/python-json.js';
import { flotilla } from '../helpers/cli.js';
import { projectDir } from '../helpers/tmp.js';
import { requireDocker } from '../helpers/docker.js';

test('pythonJsonDumps writes what Python json.dumps(sort_keys, compact) writes', (t) => {
  const python = '/usr/bin/python3';
  const samples: unknown[] = [
    { b: 1, a: [true, false, null, 'x'], 'é': 'ü€😀', n: -0.5, big: 12345678901234, s: 'tab\tnl\n"q"\\', e: 1e-7 },
    ['\u0001\u007f', { z: { y: [] } }, 0.1, 1.5e300],
  ];
  for (const sample of samples) {
    const r = spawnSync(python, ['-c', 'import json,sys; print(json.dumps(json.load(sys.stdin), sort_keys=True, separators=(",",":")), end="")'], {
      input: JSON.stringify(sample),
      encoding: 'utf8',
    });
    if (r.error) return t.skip(`${python} is not available`);
    assert.equal(pythonJsonDumps(sample), r.stdout);
  }
});

const PROJECTS: Record<string, string> = {
  full: `version: "3.8"
services:
  web:
    image: flotilla-hash-test/nginx:never-pulled
    ports: ["8080:80", "127.0.0.1:9000:9000/udp", {target: 443, published: 8443, mode: host}]
    volumes: ["data:/data", "./site:/site:ro", {type: volume, source: data, target: /d2}, {type: bind, source: ./x, target: /x}, "/anon"]
    environment: {A: "1", B: 2, C: null}
    labels: [a=b]
    depends_on: {db: {condition: service_healthy}}
    links: ["db:database", "cache"]
    networks:
      front: {aliases: [www], priority: 10}
      back: {}
    healthcheck: {test: ["CMD", "true"], interval: 1m30s, timeout: 5s, retries: 3}
    restart: on-failure:3
    security_opt: ["no-new-privileges"]
    x-custom: 1
    deploy: {resources: {limits: {cpus: "1", memory: 50M}, reservations: {memory: 20M}}, restart_policy: {condition: any, max_attempts: 2}}
  db:
    image: flotilla-hash-test/postgres:never-pulled
    secrets: [pw, {source: pw2, target: /run/x}]
    ipc: host
    command: postgres -c x=1
    env_file: [db.env]
  cache:
    image: flotilla-hash-test/redis:never-pulled
    network_mode: "service:db"
    volumes_from: [db]
    restart: always
    cpus: 0.5
volumes:
  data: {}
networks:
  front: {name: custom-front}
  back: {}
secrets:
  pw: {file: ./pw.txt}
  pw2: {external: true}
`,
  v1: `web:
  image: flotilla-hash-test/busybox:never-pulled
  links: [db]
  volumes: ["./a:/a", "/b"]
  log_driver: syslog
  restart: "no"
db:
  image: flotilla-hash-test/busybox:never-pulled
  net: host
`,
  extends: `version: "2.4"
services:
  base:
    image: flotilla-hash-test/busybox:never-pulled
    environment: [X=1]
    mem_limit: 64m
  web:
    extends: base
    command: ["sleep", "1"]
    scale: 2
    build: {context: ., args: {A: "1"}}
`,
};

test('config --hash equals docker-compose 1.29.2\'s for the same project', (t) => {
  if (!requireDocker(t)) return;
  for (const [name, yaml] of Object.entries(PROJECTS)) {
    const dir = projectDir(t, { 'docker-compose.yml': yaml, 'db.env': 'P=1\n', 'pw.txt': 's\n' }, `hash${name}`);
    writeFileSync(join(dir, '.env'), '');
    const env = { PATH: process.env['PATH'] ?? '', HOME: dir };
    const reference = spawnSync('docker-compose', ['config', '--hash', '*'], { cwd: dir, env, encoding: 'utf8' });
    assert.equal(reference.status, 0, reference.stderr);
    const ours = flotilla(['config', '--hash', '*'], { cwd: dir });
    assert.equal(ours.status, 0, ours.stderr);
    const sort = (s: string) => s.trim().split('\n').sort().join('\n');
    assert.equal(sort(ours.stdout), sort(reference.stdout), `project ${name}`);
  }
});
