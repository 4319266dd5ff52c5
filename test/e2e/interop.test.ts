/**
 * Flotilla and docker-compose 1.29.2 on one project, both ways: each lists the other's containers,
 * finds them up to date (the same names, labels and config hash), and removes what the other made.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { e2eProject, lines, poll } from './lib.js';

const PROJECT = `version: "3.8"
services:
  db:
    image: busybox:latest
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"]
    environment:
      ROLE: db
      EMPTY: ""
    volumes:
      - data:/data
      - /anon
    labels:
      tier: back
    healthcheck:
      test: ["CMD", "true"]
      interval: 1s
  web:
    image: busybox:latest
    command: httpd -f -p 8080
    ports:
      - "127.0.0.1::8080"
    depends_on:
      - db
    networks: [front, default]
    stop_signal: SIGKILL
    working_dir: /tmp
    restart: unless-stopped
networks:
  front: {}
volumes:
  data: {}
`;

test('flotilla up, then docker-compose lists the containers and finds them up to date', (t) => {
  const p = e2eProject(t, 'interop-fc', { 'docker-compose.yml': PROJECT });
  if (!p) return;
  // --wait: db is healthy before the two tools' tables are compared.
  p.ok(['up', '--wait']);
  const ids = p.containers();

  const ps = p.compose(['ps']);
  assert.equal(ps.status, 0, ps.stderr);
  assert.match(ps.stdout, new RegExp(`^${p.c('db')} `, 'm'));
  assert.match(ps.stdout, new RegExp(`^${p.c('web')} .* Up .*127\\.0\\.0\\.1:\\d+->8080/tcp`, 'm'));
  assert.equal(p.flotilla(['ps']).stdout, ps.stdout, 'flotilla ps prints what docker-compose ps prints');

  const up = p.compose(['up', '-d']);
  assert.equal(up.status, 0, up.stderr);
  assert.match(up.stderr, new RegExp(`${p.c('db')} is up-to-date`));
  assert.match(up.stderr, new RegExp(`${p.c('web')} is up-to-date`));
  assert.doesNotMatch(up.stderr, /Recreating|Creating/);
  assert.deepEqual(p.containers(), ids, 'docker-compose kept every container');

  const down = p.compose(['down', '-v']);
  assert.equal(down.status, 0, down.stderr);
  assert.equal(p.containers().size, 0);
  assert.deepEqual(p.networks(), []);
  assert.deepEqual(p.volumes(), []);
});

test('docker-compose up, then flotilla lists, finds them up to date, and down removes everything', async (t) => {
  const p = e2eProject(t, 'interop-cf', { 'docker-compose.yml': PROJECT });
  if (!p) return;
  const up = p.compose(['up', '-d']);
  assert.equal(up.status, 0, up.stderr);
  // A recreate by docker-compose mounts the kept anonymous volume by name: its own down -v leaks it.
  const recreate = p.compose(['up', '-d', '--force-recreate', '-t', '0']);
  assert.equal(recreate.status, 0, recreate.stderr);
  const ids = p.containers();
  assert.equal(ids.size, 2);
  p.noteVolumes();
  await poll('db to be healthy', () => p.inspect(p.c('db')).State.Health?.Status === 'healthy');

  const ps = p.ok(['ps']);
  assert.equal(ps.stdout, p.compose(['ps']).stdout, 'the same table as docker-compose ps');
  assert.deepEqual(lines(p.ok(['ps', '-q']).stdout).sort(), [...ids.values()].sort());
  assert.deepEqual(lines(p.ok(['ps', '--services']).stdout), ['db', 'web']);

  const again = p.ok(['up', '-d']);
  assert.match(again.stderr, new RegExp(`${p.c('db')} is up-to-date`));
  assert.match(again.stderr, new RegExp(`${p.c('web')} is up-to-date`));
  assert.deepEqual(p.containers(), ids, 'flotilla kept every container');
  assert.doesNotMatch(p.ok(['up', '-d', '--dry-run']).stdout, /^(recreate|create|start) /m);

  const mounted = p.mountedVolumes();
  p.ok(['down', '-v', '-t', '0']);
  assert.equal(p.containers().size, 0, 'no containers left');
  assert.deepEqual(p.networks(), [], 'no networks left');
  assert.deepEqual(p.existingVolumes(mounted), [], 'no volumes left');
});
