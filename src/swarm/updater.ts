/**
 * The updater: when a service's spec changes, its tasks are replaced slot by slot as swarmkit's
 * updater does (manager/orchestrator/update/updater.go): `parallelism` slots at a time (0: all),
 * `delay` after each new task runs, `order` stop-first (the old task stops before the new one
 * starts) or start-first (the old one stops once the new one runs), and a new task that ends
 * before running or within `monitor` of running is a failure: above `max_failure_ratio` the
 * update pauses, rolls back to the previous spec (`failure_action: rollback`; a failing rollback
 * pauses) or goes on (`continue`). The service's update status says where it is. An update is
 * in-memory work over the store: after a daemon restart the tasks still dirty are updated anew.
 */
import { isTerminal, type Service, type UpdatePolicy } from '../contract/swarm.js';
import type { SwarmStore, SwarmTask } from './store.js';
import { effectivePolicy } from './defaults.js';
import { desiredLive, madeFrom, specKey, taskDraft } from './tasks.js';

/** A task that ended without being told to (one shut down on purpose ends as shutdown): a failure. */
function endedByItself(task: SwarmTask): boolean {
  return isTerminal(task.state) && task.state !== 'shutdown' && task.state !== 'remove';
}

export class Updaters {
  private readonly running = new Map<string, { key: string; abort: AbortController }>();

  constructor(
    private readonly store: SwarmStore,
    private readonly nodeId: string,
    private readonly newId: () => string,
    private readonly log: (line: string) => void,
  ) {}

  close(): void {
    for (const u of this.running.values()) u.abort.abort();
    this.running.clear();
  }

  /** The slots of each service with a live task made from another spec than the service's. */
  private dirtySlots(): Map<string, number[]> {
    const keys = new Map(this.store.list('service').map((s) => [s.id, specKey(s)]));
    const slots = new Map<string, Set<number>>();
    for (const t of this.store.list('task')) {
      const key = keys.get(t.serviceId);
      if (key === undefined || !desiredLive(t) || isTerminal(t.state) || madeFrom(t, key)) continue;
      let set = slots.get(t.serviceId);
      if (!set) slots.set(t.serviceId, (set = new Set()));
      set.add(t.slot);
    }
    return new Map([...slots].map(([id, set]) => [id, [...set].sort((a, b) => a - b)]));
  }

  /** On every pass: starts the update of a service with dirty slots, cancels one whose spec changed again. */
  reconcile(): void {
    for (const [id, u] of this.running) {
      const service = this.store.get('service', id);
      if (!service || specKey(service) !== u.key) {
        u.abort.abort();
        this.running.delete(id);
      }
    }
    const dirty = this.dirtySlots();
    for (const service of this.store.list('service')) {
      if (this.running.has(service.id)) continue;
      const state = service.updateStatus?.state;
      if (state === 'paused' || state === 'rollback_paused') continue;
      const slots = dirty.get(service.id) ?? [];
      if (slots.length === 0) {
        // Nothing left to replace (restarts made the new tasks): the update or rollback is over.
        if (state === 'updating' || state === 'rollback_started') this.completed(service, state === 'rollback_started');
        continue;
      }
      const abort = new AbortController();
      this.running.set(service.id, { key: specKey(service), abort });
      void this.update(service.id, slots, abort.signal)
        .catch((e: unknown) => this.log(`swarm: updating ${service.spec.name}: ${e instanceof Error ? e.message : String(e)}`))
        .finally(() => {
          if (this.running.get(service.id)?.abort === abort) this.running.delete(service.id);
        });
    }
  }

  /** The update (or rollback) is over; it keeps the start time its status has. */
  private completed(service: Service, rollingBack: boolean): void {
    const completedAt = new Date().toISOString();
    const startedAt = this.store.get('service', service.id)?.updateStatus?.startedAt ?? completedAt;
    this.setStatus(service.id, rollingBack ? { state: 'rollback_completed', message: 'rollback completed', startedAt, completedAt } : { state: 'completed', message: 'update completed', startedAt, completedAt });
  }

  private setStatus(id: string, status: Service['updateStatus']): void {
    this.store.transact((tx) => {
      const s = tx.get('service', id);
      if (s) tx.update('service', { ...s, updateStatus: status });
    });
  }

  /** Resolves with the task once `done` holds for it (or it is gone: undefined); rejects when aborted. */
  private until(id: string, done: (t: SwarmTask) => boolean, signal: AbortSignal, timeoutMs?: number): Promise<SwarmTask | undefined> {
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = (value: SwarmTask | undefined, error?: unknown) => {
        stop();
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        if (error) reject(error);
        else resolve(value);
      };
      const check = () => {
        const t = this.store.get('task', id);
        if (!t || done(t)) finish(t);
      };
      const onAbort = () => finish(undefined, new Error('update cancelled'));
      const stop = this.store.watch((c) => {
        if (c.kind === 'task' && c.object.id === id) check();
      });
      signal.addEventListener('abort', onAbort);
      if (timeoutMs !== undefined) timer = setTimeout(() => finish(this.store.get('task', id)), timeoutMs);
      check();
    });
  }

  private async update(serviceId: string, slots: number[], signal: AbortSignal): Promise<void> {
    const service = this.store.get('service', serviceId);
    if (!service) return;
    const rollingBack = service.updateStatus?.state === 'rollback_started';
    const policy = effectivePolicy(service.spec, rollingBack);
    const startedAt = new Date().toISOString();
    if (!rollingBack) this.setStatus(serviceId, { state: 'updating', message: 'update in progress', startedAt });
    const monitorMs = (policy.monitor ?? 5e9) / 1e6;
    const delayMs = (policy.delay ?? 0) / 1e6;
    const queue = [...slots];
    const monitors: Promise<void>[] = [];
    // Every task of the new spec that ends by itself while the update runs is a failure, as in
    // swarmkit: a restart's replacement too, and one whose exit the agent reports only after its
    // own monitor window (a loaded daemon notices an exit late) but before the update is over.
    const key = specKey(service);
    const failedTasks = new Set<string>();
    // Those that had ended before are not this update's (history the orchestrator later prunes).
    const endedBefore = new Set(this.store.list('task').filter((t) => t.serviceId === serviceId && isTerminal(t.state)).map((t) => t.id));
    let failedTask: string | undefined;
    let onFailed: () => void = () => undefined;
    const failing = new Promise<void>((resolve) => (onFailed = resolve));
    const failed = () => failedTasks.size / slots.length > (policy.maxFailureRatio ?? 0) && policy.failureAction !== 'continue';
    const fail = (task: SwarmTask) => {
      if (task.serviceId !== serviceId || !madeFrom(task, key) || !endedByItself(task) || endedBefore.has(task.id) || failedTasks.has(task.id)) return;
      failedTasks.add(task.id);
      failedTask ??= task.id;
      if (failed()) onFailed();
    };
    const unwatch = this.store.watch((c) => {
      if (c.kind === 'task' && c.action !== 'delete') fail(c.object);
    });
    // Stops waiting (a delay, the monitors) once the update has failed.
    const untilFailed = <T>(p: Promise<T>) => Promise.race([p, failing]);

    const worker = async () => {
      for (let slot = queue.shift(); slot !== undefined && !failed() && !signal.aborted; slot = queue.shift()) {
        const next = await this.updateSlot(serviceId, slot, policy, signal);
        if (!next) continue;
        if (endedByItself(next)) {
          fail(next);
          continue;
        }
        // Watched for `monitor` after it runs: ending in that time is a failure too.
        monitors.push(
          this.until(next.id, (t) => isTerminal(t.state), signal, monitorMs).then(
            (t) => {
              if (t) fail(t);
            },
            () => undefined,
          ),
        );
        if (delayMs > 0) await untilFailed(new Promise((r) => setTimeout(r, delayMs)));
      }
    };
    const width = policy.parallelism === 0 ? slots.length : Math.max(1, policy.parallelism);
    try {
      await Promise.all(Array.from({ length: Math.min(width, slots.length) }, worker));
      if (!failed()) await untilFailed(Promise.all(monitors));
    } finally {
      unwatch();
    }
    if (signal.aborted) return;

    if (failed()) {
      const message = (verb: string) => `${verb} due to failure or early termination of task ${failedTask ?? ''}`;
      // failure_action rollback: the previous spec becomes the spec again.
      const rolledBack =
        !rollingBack &&
        policy.failureAction === 'rollback' &&
        this.store.transact((tx) => {
          const s = tx.get('service', serviceId);
          if (!s?.previousSpec) return false;
          const { previousSpec, ...rest } = s;
          tx.update('service', { ...rest, spec: previousSpec, updateStatus: { state: 'rollback_started', message: message('update rolled back'), startedAt } });
          return true;
        });
      // Otherwise (pause, a failing rollback, or no previous spec to go back to) it pauses: left
      // `updating`, the next pass would find no dirty slot and call the failed update completed.
      if (!rolledBack) this.setStatus(serviceId, { state: rollingBack ? 'rollback_paused' : 'paused', message: message(rollingBack ? 'rollback paused' : 'update paused'), startedAt });
      return;
    }
    this.completed(service, rollingBack);
  }

  /** Replaces the slot's dirty tasks with one of the current spec; resolves with it once it runs or ends. */
  private async updateSlot(serviceId: string, slot: number, policy: UpdatePolicy, signal: AbortSignal): Promise<SwarmTask | undefined> {
    const startFirst = policy.order === 'start-first';
    const created = this.store.transact((tx) => {
      const service = tx.get('service', serviceId);
      if (!service) return undefined;
      const key = specKey(service);
      const inSlot = tx.list('task').filter((t) => t.serviceId === serviceId && t.slot === slot && desiredLive(t) && !isTerminal(t.state));
      const old = inSlot.filter((t) => !madeFrom(t, key));
      if (old.length === 0) return undefined;
      // A clean task already there (a restart made it): the old ones only need to go.
      const clean = inSlot.find((t) => madeFrom(t, key));
      if (!startFirst || clean) for (const t of old) tx.update('task', { ...t, desiredState: 'shutdown' });
      if (clean) return { next: clean, old };
      const next = tx.create('task', taskDraft(service, slot, slot === 0 ? this.nodeId : '', this.newId(), startFirst ? 'running' : 'ready'));
      return { next, old };
    });
    if (!created) return undefined;
    const next = await this.until(created.next.id, (t) => t.state === 'running' || isTerminal(t.state), signal);
    if (startFirst && next && next.state === 'running') {
      this.store.transact((tx) => {
        for (const o of created.old) {
          const t = tx.get('task', o.id);
          if (t && desiredLive(t)) tx.update('task', { ...t, desiredState: 'shutdown' });
        }
      });
    }
    return next;
  }
}
