/**
 * The scheduler: new tasks made pending, and pending tasks assigned to the node when it passes
 * swarmkit's filters (ready and active, then the placement constraints); a task no node passes
 * stays pending with swarmkit's reason, `no suitable node (...)`, and is tried again on the next
 * pass (a node or service change).
 */
import type { Node } from '../contract/swarm.js';
import { nodeMatches, parseConstraints } from './constraints.js';
import type { Transaction } from './store.js';

export function schedule(tx: Transaction, node: Node, engineLabels: Record<string, string>): void {
  const now = new Date().toISOString();
  for (const task of tx.list('task')) {
    if (task.state !== 'new' && task.state !== 'pending') continue;
    if (task.desiredState !== 'running' && task.desiredState !== 'ready') continue;
    let reason: string | undefined;
    if (node.state !== 'ready' || node.spec.availability !== 'active') reason = '1 node not available for new tasks';
    else if (task.nodeId !== '' && task.nodeId !== node.id) reason = '1 node not available for new tasks';
    else {
      let constraints;
      try {
        constraints = parseConstraints(task.spec.placement?.constraints ?? []);
      } catch {
        constraints = undefined;
      }
      if (!constraints || !nodeMatches(constraints, node, engineLabels)) reason = 'scheduling constraints not satisfied on 1 node';
    }
    if (reason === undefined) {
      tx.update('task', { ...task, nodeId: node.id, state: 'assigned', timestamp: now, message: 'scheduler assigned task to node', error: undefined });
      continue;
    }
    const error = `no suitable node (${reason})`;
    if (task.state === 'pending' && task.error === error) continue;
    tx.update('task', { ...task, state: 'pending', timestamp: task.state === 'pending' ? task.timestamp : now, message: 'pending task scheduling', error });
  }
}
