import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dependenciesOf, orderServices } from '../../src/compose/dependencies.js';
import type { ComposeService } from '../../src/compose/document.js';

const svc = (name: string, extra: Partial<ComposeService> = {}): ComposeService => ({ name, image: 'x', ...extra });

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
    dependenciesOf(s).map((d) => `${d.kind}:${d.service}:${d.condition}`),
    ['depends_on:db:service_healthy', 'links:cache:service_started', 'volumes_from:data:service_started', 'network_mode:net:service_started', 'pid:pidsvc:service_started'],
  );
});

test('services are ordered by their references, volumes_from a container named like a service too', () => {
  const services = [
    svc('web', { depends_on: { db: { condition: 'service_started' } }, links: ['cache'] }),
    svc('db', { volumes_from: [{ type: 'container', source: 'seed', mode: 'ro' }] }),
    svc('cache'),
    svc('seed'),
  ];
  const order = orderServices(services).map((s) => s.name);
  const before = (a: string, b: string) => assert.ok(order.indexOf(a) < order.indexOf(b), `${a} before ${b} in ${order.join(', ')}`);
  before('seed', 'db');
  before('db', 'web');
  before('cache', 'web');
  assert.throws(() => orderServices([svc('a', { links: ['a'] })]), /'a' depends on itself/);
});
