import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeServiceDicts, mergeServiceFromFiles } from '../../src/compose/merge.js';

test('per-key rules (the a.yml + b.yml experiment of the research notes)', () => {
  const a = {
    image: 'busybox',
    environment: { A: '1', B: '2' },
    labels: ['l1=a', 'l2=b'],
    ports: ['8080:80', '9090:90'],
    volumes: ['/host:/c1:ro', './data:/data'],
    command: ['sleep', '1'],
    dns: ['8.8.8.8'],
    expose: [80],
    healthcheck: { test: ['CMD', 'true'], interval: '10s' },
    networks: { front: { aliases: ['x1'] } },
  };
  const b = {
    environment: ['B=3', 'C=4'],
    labels: { l2: 'bb', l3: 'c' },
    ports: ['8080:81', '7070:70'],
    volumes: ['/host2:/c2:rw', './other:/data:rw'],
    command: ['sleep', '2'],
    dns: '1.1.1.1',
    expose: ['81'],
    healthcheck: { timeout: '1s' },
    networks: { front: { aliases: ['x2'] } },
  };
  const m = mergeServiceDicts(a, b, false);
  assert.deepEqual(m['environment'], { A: '1', B: '3', C: '4' });
  assert.deepEqual(m['labels'], { l1: 'a', l2: 'bb', l3: 'c' });
  assert.deepEqual(m['ports'], [
    { target: 70, published: 7070 },
    { target: 80, published: 8080 },
    { target: 81, published: 8080 },
    { target: 90, published: 9090 },
  ]);
  assert.deepEqual(m['volumes'], ['/host:/c1:ro', '/host2:/c2:rw', './other:/data:rw']);
  assert.deepEqual(m['command'], ['sleep', '2']);
  assert.deepEqual(m['dns'], ['8.8.8.8', '1.1.1.1']);
  assert.deepEqual(m['expose'], ['80', '81']);
  assert.deepEqual(m['healthcheck'], { test: ['CMD', 'true'], interval: '10s', timeout: '1s' });
  assert.deepEqual(m['networks'], { front: { aliases: ['x1', 'x2'] } });
  assert.equal(m['image'], 'busybox');
});

test('keys docker-compose cannot merge are dropped; extends is carried from the files', () => {
  const m = mergeServiceFromFiles({ image: 'a', 'x-note': 1, pull_policy: 'always', extends: 'base' }, { user: 'me' }, false);
  assert.deepEqual(m, { image: 'a', user: 'me', extends: 'base' });
});

test('logging options merge only when the driver stays the same', () => {
  const same = mergeServiceDicts({ logging: { driver: 'json-file', options: { a: '1' } } }, { logging: { options: { b: '2' } } }, false);
  assert.deepEqual(same['logging'], { driver: 'json-file', options: { a: '1', b: '2' } });
  const other = mergeServiceDicts({ logging: { driver: 'json-file', options: { a: '1' } } }, { logging: { driver: 'syslog', options: { b: '2' } } }, false);
  assert.deepEqual(other['logging'], { driver: 'syslog', options: { b: '2' } });
});

test('build: string becomes a mapping, args merge, cache_from is a sorted union', () => {
  const m = mergeServiceDicts({ build: '.' }, { build: { args: ['A=1'], cache_from: ['z', 'a'] } }, false);
  assert.deepEqual(m['build'], { context: '.', args: { A: '1' }, cache_from: ['a', 'z'] });
});

test('v1: the override\'s image or build replaces the other', () => {
  assert.deepEqual(mergeServiceDicts({ build: '.' }, { image: 'x' }, true), { image: 'x' });
  assert.deepEqual(mergeServiceDicts({ image: 'x' }, { build: '.' }, true), { build: '.' });
});

test('links, secrets and depends_on are keyed', () => {
  const m = mergeServiceDicts(
    { links: ['db', 'cache:c'], secrets: ['s1', { source: 's2', target: 't' }], depends_on: ['db'] },
    { links: ['other:c'], secrets: [{ source: 's1', mode: 256 }], depends_on: { cache: { condition: 'service_healthy' } } },
    false,
  );
  assert.deepEqual(m['links'], ['db', 'other:c']);
  assert.deepEqual(m['secrets'], [{ source: 's1', mode: 256 }, { source: 's2', target: 't' }]);
  assert.deepEqual(m['depends_on'], { db: { condition: 'service_started' }, cache: { condition: 'service_healthy' } });
});

test('inputs are not modified', () => {
  const base = { environment: { A: '1' }, ports: ['80'] };
  const snapshot = JSON.stringify(base);
  mergeServiceDicts(base, { environment: { B: '2' } }, false);
  assert.equal(JSON.stringify(base), snapshot);
});

test('security_opt: the two spellings of one seccomp option are one option after a merge', () => {
  const m = mergeServiceDicts({ security_opt: ['seccomp:./p.json', 'label:a'] }, { security_opt: ['seccomp=./p.json', 'seccomp=unconfined'] }, false);
  assert.deepEqual([...(m['security_opt'] as string[])].sort(), ['label:a', 'seccomp:./p.json', 'seccomp=unconfined']);
});
