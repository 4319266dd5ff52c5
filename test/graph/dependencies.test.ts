import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dependencyOrder, DependencyCycleError, type GraphNode } from '../../src/graph/dependencies.js';

const node = (name: string, ...after: string[]): GraphNode => ({ name, after });
const order = (nodes: GraphNode[]) => dependencyOrder(nodes, (n) => n).map((n) => n.name);

test('order puts dependencies first, keeping docker-compose\'s order otherwise', () => {
  // The order docker-compose 1.29.2 prints with `config --services` for web (depends on db, links
  // cache), db, cache, worker (depends on db).
  assert.deepEqual(order([node('web', 'db', 'cache'), node('db'), node('cache'), node('worker', 'db')]), ['db', 'cache', 'web', 'worker']);
});

test('names a node does not know are ignored', () => {
  assert.deepEqual(order([node('a', 'outside'), node('b', 'a')]), ['a', 'b']);
});

test('cycles are named in order; self-dependencies too', () => {
  assert.throws(
    () => order([node('a', 'b'), node('b', 'c'), node('c', 'a')]),
    (e: unknown) => e instanceof DependencyCycleError && /a -> b -> c -> a|b -> c -> a -> b|c -> a -> b -> c/.test(e.message),
  );
  assert.throws(() => order([node('a', 'a')]), /'a' depends on itself/);
});
