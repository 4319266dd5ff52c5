/** Output shaped as Docker's CLI shapes it (src/cli/swarm-format.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Node, Task } from '../../src/contract/swarm.js';
import { age, naturalCompare, servicePorts, tabwriter, taskError, taskRows } from '../../src/cli/swarm-format.js';

test("columns as Go's tabwriter aligns them for Docker: at least 10 wide, 3 apart, the last not padded", () => {
  assert.equal(tabwriter([['NAME', 'SERVICES'], ['st', '2'], ['a-longer-name', '10']]), 'NAME            SERVICES\nst              2\na-longer-name   10');
  assert.equal(tabwriter([['ID', 'PORTS'], ['x', '']]), 'ID        PORTS\nx         ');
});

test('ages as Docker words them', () => {
  assert.equal(age(400), 'less than a second');
  assert.equal(age(1000), '1 second');
  assert.equal(age(59_000), '59 seconds');
  assert.equal(age(60_000), 'about a minute');
  assert.equal(age(45 * 60_000), '45 minutes');
  assert.equal(age(3 * 3600_000), '3 hours');
  assert.equal(age(3 * 86400_000), '3 days');
});

test('ingress ports grouped into ranges; host-mode ports not listed', () => {
  const p = (target: number, published: number, protocol: 'tcp' | 'udp' = 'tcp', mode: 'ingress' | 'host' = 'ingress') => ({ target, published, protocol, mode });
  assert.equal(servicePorts([p(80, 8080), p(81, 8081), p(9000, 9000), p(53, 5353, 'udp'), p(443, 8443, 'tcp', 'host')]), '*:8080-8081->80-81/tcp, *:9000->9000/tcp, *:5353->53/udp');
  assert.equal(servicePorts([p(80, 80), p(80, 81)]), '*:80-81->80/tcp');
});

test('tasks named by slot (global ones by node id), sorted naturally, earlier tasks of a slot indented', () => {
  const task = (id: string, slot: number, createdAt: string, nodeId = 'n1'): Task => ({
    id, version: 1, createdAt, updatedAt: createdAt, serviceId: 's1', slot, nodeId, desiredState: 'running', state: 'running', timestamp: createdAt, message: '', image: 'x', ports: [], spec: { container: { image: 'x' } },
  });
  const nodes = new Map<string, Node>([['n1', { hostname: 'node1' } as Node]]);
  const rows = taskRows([task('a', 10, '2026-01-01T00:00:00Z'), task('b', 2, '2026-01-01T00:00:00Z'), task('c', 2, '2026-01-02T00:00:00Z'), task('d', 0, '2026-01-01T00:00:00Z')], () => 'st_web', nodes, true);
  assert.deepEqual(rows.map((r) => [r.task.id, r.name, r.node]), [
    ['c', 'st_web.2', 'node1'],
    ['b', ' \\_ st_web.2', 'node1'],
    ['a', 'st_web.10', 'node1'],
    ['d', 'st_web.n1', 'node1'],
  ]);
  assert.ok(naturalCompare('web.2', 'web.10') < 0);
  assert.equal(taskError({ ...task('e', 1, ''), error: 'No such image: flotilla-lab/busybox:1' }, true), '"No such image: flotilla-lab/b…"');
});
