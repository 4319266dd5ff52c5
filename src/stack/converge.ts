/**
 * Waiting for services to converge (`--wait`, `--detach=false`), all of them at once, reporting
 * what happens on the way: running counts, task errors, nodes going down and coming back.
 *
 * A task counts only if it was made from the service's current spec, placement aside (an update
 * in progress has older ones). A service has converged when:
 * - it restarts its tasks whatever happens (restart condition any, the default): as many current
 *   tasks run as the swarm wants (replicas, or one per eligible node), none of them started less
 *   than the monitor period ago (its update_config.monitor, default 5 s), and no update is going on;
 * - it runs tasks to completion (condition none or on-failure): each slot's current task completed
 *   with exit status 0, or runs and has for the monitor period (a server restarted on failure);
 * - it is a job: its tasks completed as many times as asked.
 * It has failed when the swarm gave up on it: a slot's last task failed and the restart policy
 * makes no new one (none, or on-failure after max_attempts), or an update was paused or rolled
 * back. A service that keeps failing under condition any is only ever bounded by the timeout.
 */
import type { Node, Service, SwarmCluster, Task, TaskSpec } from '../contract/swarm.js';
import { canonicalSpec } from './canonical.js';
import { descope } from './names.js';

export interface WaitOptions {
  /** Give up after this long (undefined: never). */
  timeoutMs?: number;
  /** How often to look (default 250 ms). */
  pollMs?: number;
  /** The stack, to name services by their name in it; undefined names them in full. */
  stack?: string;
  /** Services this deploy created or updated: their update status is theirs to report. */
  changed?: ReadonlySet<string>;
  /** A rollback was asked for: its completion is the goal, not a failure. */
  rollback?: boolean;
  report: (line: string) => void;
  signal?: AbortSignal;
}

export type WaitOutcome =
  | { kind: 'converged' }
  | { kind: 'failed'; failures: string[] }
  | { kind: 'timeout'; pending: string[] };

const DEFAULT_MONITOR_NS = 5e9;
const ACTIVE_DESIRED = new Set(['new', 'pending', 'assigned', 'accepted', 'preparing', 'ready', 'starting', 'running']);

type Verdict = { state: 'converged' } | { state: 'progress'; summary: string } | { state: 'failed'; reason: string };

function monitorMs(s: Service): number {
  return (s.spec.update?.monitor || DEFAULT_MONITOR_NS) / 1e6;
}

function restartsAlways(s: Service): boolean {
  const mode = s.spec.mode.kind;
  if (mode === 'replicated-job' || mode === 'global-job') return false;
  return (s.spec.task.restart?.condition ?? 'any') === 'any';
}

class ServiceWatch {
  private lastSummary = '';
  private readonly reported = new Set<string>();
  private readonly firstSeenRunning = new Map<string, number>();
  private suspectedFailure = '';
  done = false;

  constructor(
    readonly id: string,
    readonly label: string,
    private readonly changed: boolean,
    private readonly report: (line: string) => void,
    private readonly rollback: boolean,
  ) {}

  private stable(t: Task, now: number, monitor: number): boolean {
    const seen = this.firstSeenRunning.get(t.id) ?? now;
    this.firstSeenRunning.set(t.id, seen);
    const since = Date.parse(t.timestamp);
    return now - seen >= monitor || (Number.isFinite(since) && now - since >= monitor);
  }

  evaluate(s: Service, tasks: Task[], nodes: Map<string, Node>, now: number): Verdict {
    const current = JSON.stringify(canonicalTask(s.spec.task));
    const mine = tasks.filter((t) => JSON.stringify(canonicalTask(t.spec)) === current);
    for (const t of mine) {
      if ((t.state === 'failed' || t.state === 'rejected') && !this.reported.has(t.id)) {
        this.reported.add(t.id);
        const node = nodes.get(t.nodeId)?.hostname ?? (t.nodeId.slice(0, 12) || 'no node');
        this.report(`${this.label}${t.slot ? `.${t.slot}` : ''}: task ${t.id.slice(0, 12)} ${t.state} on ${node}: ${t.error ?? t.message}`);
      }
      if (t.state === 'pending' && t.error && !this.reported.has(`${t.id}:${t.error}`)) {
        this.reported.add(`${t.id}:${t.error}`);
        this.report(`${this.label}${t.slot ? `.${t.slot}` : ''}: task ${t.id.slice(0, 12)} pending: ${t.error}`);
      }
    }
    const update = s.updateStatus?.state;
    const rolledBack = update === 'rollback_completed' && !this.rollback;
    if (this.changed && (update === 'paused' || update === 'rollback_paused' || rolledBack)) {
      return { state: 'failed', reason: `update ${update === 'rollback_completed' ? 'rolled back' : 'paused'}${s.updateStatus?.message ? `: ${s.updateStatus.message}` : ''}` };
    }
    const updating = update === 'updating' || update === 'rollback_started';
    const monitor = monitorMs(s);
    const mode = s.spec.mode;
    const groups = new Map<string, Task[]>();
    for (const t of mine) {
      const key = mode.kind === 'global' || mode.kind === 'global-job' ? t.nodeId : String(t.slot);
      groups.set(key, [...(groups.get(key) ?? []), t]);
    }
    for (const list of groups.values()) list.sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
    this.reportMoves(s, tasks, nodes);

    if (mode.kind === 'replicated-job' || mode.kind === 'global-job') {
      const completed = mine.filter((t) => t.state === 'complete').length;
      const want = mode.kind === 'replicated-job' ? (mode.totalCompletions ?? 1) : (s.status?.desired ?? groups.size);
      const failure = this.gaveUp(s, groups, true);
      if (failure) return failure;
      return completed >= want && want > 0 ? { state: 'converged' } : { state: 'progress', summary: `${completed}/${want} completed` };
    }

    const want = mode.kind === 'replicated' ? (mode.replicas ?? 1) : (s.status?.desired ?? 0);
    if (restartsAlways(s)) {
      const running = mine.filter((t) => t.state === 'running' && t.desiredState === 'running');
      for (const id of [...this.firstSeenRunning.keys()]) if (!running.some((t) => t.id === id)) this.firstSeenRunning.delete(id);
      const steady = running.filter((t) => this.stable(t, now, monitor));
      const summary = `${running.length}/${want} running`;
      if (!updating && running.length === want && steady.length === want && (want > 0 || mode.kind === 'replicated')) return { state: 'converged' };
      return { state: 'progress', summary: updating ? `${summary} (updating)` : summary };
    }
    // Tasks run to completion, or run for good and restart only when they fail.
    const failure = this.gaveUp(s, groups, false);
    if (failure) return failure;
    let done = 0;
    for (const list of groups.values()) {
      const latest = list[0];
      if (!latest) continue;
      if (latest.state === 'complete' && (latest.exitCode ?? 0) === 0) done++;
      else if (latest.state === 'running' && latest.desiredState === 'running' && this.stable(latest, now, monitor)) done++;
    }
    if (!updating && done >= want) return { state: 'converged' };
    return { state: 'progress', summary: `${done}/${want} done` };
  }

  /**
   * A slot whose task now runs on another node than its previous one did, because that node went
   * down (or was drained): said once per task.
   */
  private reportMoves(s: Service, tasks: Task[], nodes: Map<string, Node>): void {
    if (s.spec.mode.kind !== 'replicated' && s.spec.mode.kind !== 'replicated-job') return;
    const slots = new Map<number, Task[]>();
    for (const t of tasks) if (t.slot) slots.set(t.slot, [...(slots.get(t.slot) ?? []), t]);
    for (const [slot, list] of slots) {
      list.sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
      const [now, before] = list;
      if (!now || !before || now.state !== 'running' || now.nodeId === before.nodeId || this.reported.has(`moved:${now.id}`)) continue;
      const old = nodes.get(before.nodeId);
      if (!old || (old.state === 'ready' && old.spec.availability === 'active')) continue;
      this.reported.add(`moved:${now.id}`);
      const why = old.state !== 'ready' ? old.state : old.spec.availability;
      this.report(`${this.label}.${slot}: rescheduled from ${old.hostname} (${why}) to ${nodes.get(now.nodeId)?.hostname ?? now.nodeId}`);
    }
  }

  /** A slot whose last task failed and that the swarm will not try again (seen twice in a row). */
  private gaveUp(s: Service, groups: Map<string, Task[]>, job: boolean): Verdict | undefined {
    for (const list of groups.values()) {
      const latest = list[0];
      if (!latest || (latest.state !== 'failed' && latest.state !== 'rejected')) continue;
      if (list.some((t) => ACTIVE_DESIRED.has(t.desiredState))) continue;
      const condition = s.spec.task.restart?.condition ?? (job ? 'on-failure' : 'any');
      if (condition === 'any' && !job) continue;
      const reason = `${latest.state === 'rejected' ? 'rejected' : 'failed'}: ${latest.error ?? latest.message}`;
      if (this.suspectedFailure === latest.id) return { state: 'failed', reason };
      this.suspectedFailure = latest.id;
      return undefined;
    }
    this.suspectedFailure = '';
    return undefined;
  }

  note(verdict: Verdict): void {
    const summary = verdict.state === 'progress' ? verdict.summary : verdict.state === 'converged' ? 'converged' : `failed: ${verdict.reason}`;
    if (summary !== this.lastSummary) {
      this.report(`${this.label}: ${summary}`);
      this.lastSummary = summary;
    }
  }
}

/**
 * A task spec in canonical form: a task is current when it carries its service's. Placement is
 * left out, as the swarm leaves it out: a task whose node still satisfies changed constraints is
 * kept as it is (one that does not is replaced, under an update status that is waited for).
 */
function canonicalTask(task: TaskSpec): unknown {
  const { placement: _placement, ...rest } = task;
  return canonicalSpec({ name: '', labels: {}, mode: { kind: 'global' }, task: rest });
}

export async function waitForServices(cluster: SwarmCluster, services: ReadonlyMap<string, string>, options: WaitOptions): Promise<WaitOutcome> {
  const started = Date.now();
  const poll = options.pollMs ?? 250;
  const watches = [...services].map(
    ([name, id]) => new ServiceWatch(id, options.stack ? descope(options.stack, name) : name, options.changed?.has(name) ?? true, options.report, options.rollback === true),
  );
  const nodeStates = new Map<string, string>();
  const failures: string[] = [];
  for (;;) {
    if (options.signal?.aborted) throw options.signal.reason;
    const pending = watches.filter((w) => !w.done);
    if (pending.length === 0) break;
    const ids = pending.map((w) => w.id);
    const [list, tasks, nodes] = await Promise.all([cluster.listServices({ ids }), cluster.listTasks({ services: ids }), cluster.listNodes()]);
    const byNode = new Map(nodes.map((n) => [n.id, n]));
    for (const n of nodes) {
      const before = nodeStates.get(n.id);
      // Said when it changes, and at the start for a node that is not ready.
      if (before === undefined ? n.state !== 'ready' : before !== n.state) options.report(`node ${n.hostname} is ${n.state}`);
      nodeStates.set(n.id, n.state);
    }
    const now = Date.now();
    for (const w of pending) {
      const s = list.find((x) => x.id === w.id);
      if (!s) {
        w.done = true;
        failures.push(`${w.label}: the service was removed while waiting`);
        continue;
      }
      const verdict = w.evaluate(s, tasks.filter((t) => t.serviceId === w.id), byNode, now);
      w.note(verdict);
      if (verdict.state === 'converged') w.done = true;
      if (verdict.state === 'failed') {
        w.done = true;
        failures.push(`${descope(options.stack ?? '', s.spec.name)}: ${verdict.reason}`);
      }
    }
    if (watches.every((w) => w.done)) break;
    if (options.timeoutMs !== undefined && Date.now() - started >= options.timeoutMs) {
      return { kind: 'timeout', pending: watches.filter((w) => !w.done).map((w) => w.label) };
    }
    await new Promise((resolve) => setTimeout(resolve, poll));
  }
  return failures.length > 0 ? { kind: 'failed', failures } : { kind: 'converged' };
}
