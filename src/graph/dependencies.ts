/**
 * Ordering by dependencies: what must come before what. Nodes name the nodes they come after; the
 * Compose front end makes them from services (src/compose/dependencies.ts).
 */
import { ConfigError } from '../errors.js';

export interface GraphNode {
  name: string;
  /** Names of the nodes this one comes after (unknown names are ignored). */
  after: readonly string[];
}

export class DependencyCycleError extends ConfigError {
  constructor(readonly cycle: string[]) {
    super(
      cycle.length === 2
        ? `service '${cycle[0]}' depends on itself`
        : `dependency cycle between services: ${cycle.join(' -> ')}`,
    );
  }
}

/**
 * Items ordered so that each comes after everything it depends on. Ties keep docker-compose
 * 1.29.2's order (a depth-first walk from the last item), so `config --services` lists services
 * the way it does. A cycle is an error naming the items in it, in order.
 */
export function dependencyOrder<T>(items: readonly T[], node: (item: T) => GraphNode): T[] {
  const nodes = items.map(node);
  const dependents = new Map<string, number[]>(nodes.map((n) => [n.name, []]));
  nodes.forEach((n, i) => {
    for (const d of new Set(n.after)) dependents.get(d)?.push(i);
  });
  const sorted: T[] = [];
  const done = new Set<string>();
  const onPath: string[] = [];
  const visit = (i: number): void => {
    const name = (nodes[i] as GraphNode).name;
    const at = onPath.indexOf(name);
    if (at !== -1) {
      // onPath runs from a dependency to its dependents; a cycle reads better as "x needs y".
      throw new DependencyCycleError([...onPath.slice(at), name].reverse());
    }
    if (done.has(name)) return;
    onPath.push(name);
    for (const d of dependents.get(name) ?? []) visit(d);
    onPath.pop();
    done.add(name);
    sorted.unshift(items[i] as T);
  };
  for (let i = items.length - 1; i >= 0; i--) {
    if (!done.has((nodes[i] as GraphNode).name)) visit(i);
  }
  return sorted;
}
