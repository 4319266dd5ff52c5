import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dependenciesOf, dependencyOrder, DependencyCycleError, startLevels } from '../../src/graph/dependencies.js';
import type { Service } from '../../src/model/project.js';

const svc = (name: string, extra: Partial<Service> = {}): Service => ({ name, image: 'x', ...extra });

test('every kind of reference is a dependency', () => {
  const s = svc('web', {
    depends_on: { db: { condition: 'service_healthy' } },
    links: ['cache:c'],
    volumes_from: [
      { type: 'service', source: 'data', mode: 'rw' },
      { type: 'container', source: 'outside', mode: 'ro' },
    ],
    network_mode: 'service:net',
    pid: 'service:pidsvc',
    ipc: 'host',
  });
  assert.deepEqual(
    dependenciesOf(s).map((d) => `${d.kind}:${d.on}:${d.condition}`),
    ['depends_on:db:service_healthy', 'links:cache:service_started', 'volumes_from:data:service_started', 'network_mode:net:service_started', 'pid:pidsvc:service_started'],
  );
});

test('order puts dependencies first, keeping docker-compose\'s order otherwise', () => {
  const services = [
    svc('web', { depends_on: { db: { condition: 'service_started' } }, links: ['cache'] }),
    svc('db'),
    svc('cache'),
    svc('worker', { depends_on: { db: { condition: 'service_started' } } }),
  ];
  // The order docker-compose 1.29.2 prints for this file with `config --services`.
  assert.deepEqual(dependencyOrder(services).map((s) => s.name), ['db', 'cache', 'web', 'worker']);
});

test('cycles are named in order; self-dependencies too', () => {
  const cycle = [
    svc('a', { depends_on: { b: { condition: 'service_started' } } }),
    svc('b', { depends_on: { c: { condition: 'service_started' } } }),
    svc('c', { depends_on: { a: { condition: 'service_started' } } }),
  ];
  assert.throws(
    () => dependencyOrder(cycle),
    (e: unknown) => e instanceof DependencyCycleError && /a -> b -> c -> a|b -> c -> a -> b|c -> a -> b -> c/.test(e.message),
  );
  assert.throws(() => dependencyOrder([svc('a', { links: ['a'] })]), /'a' depends on itself/);
});

test('start levels group what can start together', () => {
  const services = [
    svc('web', { depends_on: { api: { condition: 'service_healthy' } } }),
    svc('api', { depends_on: { db: { condition: 'service_started' }, cache: { condition: 'service_started' } } }),
    svc('db'),
    svc('cache'),
    svc('docs'),
  ];
  assert.deepEqual(startLevels(services), [['cache', 'db', 'docs'], ['api'], ['web']]);
});
