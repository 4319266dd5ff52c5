/** Tasks as the orchestrator makes them, and the names swarm gives them and their containers. */
import { randomBytes } from 'node:crypto';
import { isTerminal, type Service, type TaskState } from '../contract/swarm.js';
import type { SwarmTask } from './store.js';

/** A new object id: 25 characters of base 36, as swarmkit's identity.NewID. */
export function newObjectId(): string {
  let id = '';
  while (id.length < 25) {
    for (const byte of randomBytes(32)) if (byte < 252 && id.length < 25) id += (byte % 36).toString(36);
  }
  return id;
}

/** Whether the task is still wanted: its desired state is one a task runs towards, not an end. */
export function desiredLive(task: Pick<SwarmTask, 'desiredState'>): boolean {
  return !isTerminal(task.desiredState);
}

/** The service's task spec as a key: a task made from another spec is dirty (the updater's). */
export function specKey(service: Service): string {
  return JSON.stringify(service.spec.task);
}

/** Whether the task was made from the spec whose key this is. */
export function madeFrom(task: Pick<SwarmTask, 'spec'>, key: string): boolean {
  return JSON.stringify(task.spec) === key;
}

export function taskDraft(service: Service, slot: number, nodeId: string, id: string, desiredState: TaskState): Omit<SwarmTask, 'version' | 'createdAt' | 'updatedAt'> {
  return {
    id,
    serviceId: service.id,
    slot,
    nodeId,
    desiredState,
    state: 'new',
    timestamp: new Date().toISOString(),
    message: 'created',
    image: service.spec.task.container.image,
    ports: [],
    spec: structuredClone(service.spec.task),
  };
}

/** `<service>.<slot>.<task id>`, or `<service>.<node id>.<task id>` for a global service's task. */
export function taskName(serviceName: string, task: Pick<SwarmTask, 'slot' | 'nodeId' | 'id'>): string {
  return `${serviceName}.${task.slot === 0 ? task.nodeId : task.slot}.${task.id}`;
}
