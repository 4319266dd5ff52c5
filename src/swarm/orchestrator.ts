/**
 * The orchestrator: services made into tasks, as swarmkit's replicated and global orchestrators
 * and its restart supervisor do. It reads the store and writes desired states and new tasks; it
 * never touches a container (the agent does, and reports back through the task's state).
 *
 * - Replicated: slots 1..replicas; scale-up fills the lowest free slot numbers, scale-down keeps
 *   the slots with a running task first, then the lowest numbers, and marks the rest for removal.
 * - Global: one task (slot 0) on the node when it satisfies the constraints.
 * - A task that ended is replaced in its slot when the restart policy says so, with desired state
 *   ready until the delay has passed and no other task of the slot is still running.
 * - A task whose spec is no longer the service's is left to the updater (./updater.ts).
 * - History: at most 5 dead tasks per slot; older ones are marked for removal.
 */
import { isTerminal, type RestartPolicy, type Service, type TaskState } from '../contract/swarm.js';
import type { SwarmTask, Transaction } from './store.js';
import { desiredLive, madeFrom, specKey, taskDraft } from './tasks.js';

export const HISTORY_PER_SLOT = 5;
/** A replacement waits at most this long for the old task of its slot to stop (swarmkit's defaultOldTaskTimeout). */
const OLD_TASK_TIMEOUT_MS = 60_000;

/** Restarts made per slot, in memory as in swarmkit (a restart of the core forgets them). */
export class RestartHistory {
  private readonly bySlot = new Map<string, { version: string; times: number[] }>();

  record(key: string, version: string, at: number): void {
    const entry = this.bySlot.get(key);
    if (!entry || entry.version !== version) this.bySlot.set(key, { version, times: [at] });
    else entry.times.push(at);
  }

  /** Restarts of the slot for this spec, those after `since` when given. */
  count(key: string, version: string, since?: number): number {
    const entry = this.bySlot.get(key);
    if (!entry || entry.version !== version) return 0;
    return since === undefined ? entry.times.length : entry.times.filter((t) => t >= since).length;
  }

  forget(serviceId: string): void {
    for (const key of this.bySlot.keys()) if (key.startsWith(`${serviceId}/`)) this.bySlot.delete(key);
  }
}

export interface OrchestratorContext {
  nodeId: string;
  /** Whether the node may run the service's tasks (its availability and the constraints). */
  nodeEligible(service: Service): boolean;
  now: number;
  history: RestartHistory;
  newId(): string;
}

function shouldRestart(task: SwarmTask, service: Service, ctx: OrchestratorContext): boolean {
  const policy: RestartPolicy = service.spec.task.restart ?? {};
  const condition = policy.condition ?? 'any';
  if (condition === 'none') return false;
  if (condition === 'on-failure' && task.state === 'complete') return false;
  const max = policy.maxAttempts ?? 0;
  if (max === 0) return true;
  const key = `${service.id}/${task.slot}`;
  const since = policy.window ? ctx.now - policy.window / 1e6 : undefined;
  return ctx.history.count(key, specKey(service), since) < max;
}

function setDesired(tx: Transaction, task: SwarmTask, desiredState: TaskState): void {
  if (task.desiredState === desiredState) return;
  tx.update('task', { ...task, desiredState });
}

/** One pass over every service; returns the epoch ms of the next delay to wake for, if any. */
export function orchestrate(tx: Transaction, ctx: OrchestratorContext): number | undefined {
  let wake: number | undefined;
  const services = new Map(tx.list('service').map((s) => [s.id, s]));
  // The tasks of each service by slot, in one walk over the tasks.
  const byService = new Map<string, Map<number, SwarmTask[]>>();
  for (const task of tx.list('task')) {
    if (!services.has(task.serviceId)) {
      setDesired(tx, task, 'remove');
      continue;
    }
    let slots = byService.get(task.serviceId);
    if (!slots) byService.set(task.serviceId, (slots = new Map()));
    const inSlot = slots.get(task.slot);
    if (inSlot) inSlot.push(task);
    else slots.set(task.slot, [task]);
  }

  for (const service of services.values()) {
    const slots = byService.get(service.id) ?? new Map<number, SwarmTask[]>();
    const runnable = new Map<number, SwarmTask[]>();
    for (const [slot, tasks] of slots) {
      const live = handleSlot(tx, service, slot, tasks, ctx);
      if (live.wake !== undefined) wake = Math.min(wake ?? Infinity, live.wake);
      if (live.occupied) runnable.set(slot, live.tasks);
    }
    if (service.spec.mode.kind === 'global' || service.spec.mode.kind === 'global-job') {
      const wanted = ctx.nodeEligible(service);
      if (wanted && !runnable.has(0)) tx.create('task', taskDraft(service, 0, ctx.nodeId, ctx.newId(), 'running'));
      if (!wanted) for (const task of runnable.get(0) ?? []) if (desiredLive(task)) setDesired(tx, task, 'shutdown');
      continue;
    }
    const replicas = service.spec.mode.kind === 'replicated' ? (service.spec.mode.replicas ?? 1) : (service.spec.mode.totalCompletions ?? 1);
    if (runnable.size < replicas) {
      let slot = 1;
      for (let missing = replicas - runnable.size; missing > 0; slot++) {
        if (runnable.has(slot)) continue;
        tx.create('task', taskDraft(service, slot, '', ctx.newId(), 'running'));
        missing--;
      }
    } else if (runnable.size > replicas) {
      const order = [...runnable].sort(([slotA, a], [slotB, b]) => {
        const runA = a.some((t) => t.state === 'running') ? 0 : 1;
        const runB = b.some((t) => t.state === 'running') ? 0 : 1;
        return runA - runB || slotA - slotB;
      });
      for (const [, tasks] of order.slice(replicas)) for (const task of tasks) setDesired(tx, task, 'remove');
    }
  }
  return wake;
}

/**
 * Restarts, replacements and history of one slot. `occupied`: the slot counts as one of the
 * service's (a live task, or a dead one the policy will not restart).
 */
function handleSlot(tx: Transaction, service: Service, slot: number, all: SwarmTask[], ctx: OrchestratorContext): { occupied: boolean; tasks: SwarmTask[]; wake?: number } {
  let wake: number | undefined;
  const tasks = all.filter((t) => t.desiredState !== 'remove');
  if (tasks.length === 0) return { occupied: false, tasks };
  const current = specKey(service);
  let live = tasks.filter(desiredLive);
  const nodeId = slot === 0 ? ctx.nodeId : '';

  // A live task that ended: shut down, and replaced as the restart policy says (one of an older
  // spec at once, with the service's spec). Live tasks of an older spec are the updater's.
  for (const task of live) {
    if (!isTerminal(task.state)) continue;
    const dirty = !madeFrom(task, current);
    setDesired(tx, task, 'shutdown');
    if (!dirty && !shouldRestart(task, service, ctx)) continue;
    const delayMs = dirty ? 0 : (service.spec.task.restart?.delay ?? 5e9) / 1e6;
    if (!dirty) ctx.history.record(`${service.id}/${slot}`, current, ctx.now);
    const next = tx.create('task', { ...taskDraft(service, slot, nodeId, ctx.newId(), 'ready'), notBefore: ctx.now + delayMs });
    live = [...live.filter((t) => t.id !== task.id), next];
  }

  // A replacement starts after its delay, once the slot's old tasks have stopped (or a minute).
  const others = (task: SwarmTask) => tx.list('task').filter((t) => t.serviceId === service.id && t.slot === slot && t.id !== task.id && !isTerminal(t.state) && t.state !== 'new');
  for (const task of live) {
    if (task.desiredState !== 'ready') continue;
    const at = task.notBefore ?? 0;
    const created = Date.parse(task.createdAt) || ctx.now;
    if (ctx.now >= at && (others(task).length === 0 || ctx.now - created > OLD_TASK_TIMEOUT_MS)) setDesired(tx, tx.get('task', task.id) ?? task, 'running');
    else wake = Math.min(wake ?? Infinity, Math.max(at, ctx.now + 250));
  }

  // History: the newest dead tasks of the slot are kept, the rest removed.
  const dead = tasks.filter((t) => !desiredLive(t) && isTerminal(t.state)).sort((a, b) => b.version - a.version);
  for (const task of dead.slice(HISTORY_PER_SLOT)) setDesired(tx, tx.get('task', task.id) ?? task, 'remove');

  const liveNow = live.filter((t) => desiredLive(tx.get('task', t.id) ?? t));
  if (liveNow.length > 0) return { occupied: true, tasks: liveNow, ...(wake !== undefined ? { wake } : {}) };
  // The newest task is dead and will not be restarted: the slot stays taken (the service shows 0/N).
  const newest = [...tasks].sort((a, b) => b.version - a.version)[0];
  const occupied = newest !== undefined && isTerminal(newest.state) && madeFrom(newest, current);
  return { occupied, tasks: occupied && newest ? [newest] : [], ...(wake !== undefined ? { wake } : {}) };
}

