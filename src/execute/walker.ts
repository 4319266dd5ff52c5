/**
 * The one graph walker: runs the steps of a DAG, each once the steps it comes after have
 * succeeded, as many at once as the concurrency limit allows. Forward, a step comes after the
 * steps it names in `after`; in reverse (stopping and removing), after the steps that name it.
 * A step whose predecessor failed or was skipped is skipped, not run, and reported with the
 * failure that caused it; the other steps carry on. The progress display shows every step.
 */
import type { Progress } from './progress.js';

export interface WalkStep {
  id: string;
  title: string;
  /** Ids of the steps this one comes after (forward). */
  after: readonly string[];
  /** Resolves with the word shown after the title ("done" when nothing). */
  run(): Promise<string | void>;
}

export type WalkResult =
  | { id: string; title: string; status: 'done' }
  | { id: string; title: string; status: 'failed'; error: unknown }
  /** `cause`: the failed step that made this one skip, and its error. */
  | { id: string; title: string; status: 'skipped'; cause: { id: string; title: string; error: unknown } };

export interface WalkOptions {
  progress: Progress;
  direction?: 'forward' | 'reverse';
  /** Steps running at once (default: no limit; engine calls have their own limiter). */
  concurrency?: number;
}

/** A step list that is not a DAG (an unknown id, a cycle): a bug of the planner. */
export class WalkError extends Error {}

/** Each step's predecessors in the walk's direction, checked to form a DAG. */
function predecessors(steps: readonly WalkStep[], direction: 'forward' | 'reverse'): Map<string, string[]> {
  const ids = new Set<string>();
  for (const s of steps) {
    if (ids.has(s.id)) throw new WalkError(`step ${s.id} is planned twice`);
    ids.add(s.id);
  }
  const preds = new Map<string, string[]>(steps.map((s) => [s.id, []]));
  for (const s of steps) {
    for (const a of new Set(s.after)) {
      if (!ids.has(a)) throw new WalkError(`step ${s.id} comes after ${a}, which is not planned`);
      if (direction === 'forward') preds.get(s.id)?.push(a);
      else preds.get(a)?.push(s.id);
    }
  }
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (id: string, path: string[]): void => {
    if (state.get(id) === 'done') return;
    if (state.get(id) === 'visiting') throw new WalkError(`steps form a cycle: ${[...path.slice(path.indexOf(id)), id].join(' -> ')}`);
    state.set(id, 'visiting');
    for (const p of preds.get(id) ?? []) visit(p, [...path, id]);
    state.set(id, 'done');
  };
  for (const s of steps) visit(s.id, []);
  return preds;
}

class Slots {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}

  async take(): Promise<void> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
  }

  give(): void {
    this.active--;
    this.waiting.shift()?.();
  }
}

export async function walk(steps: readonly WalkStep[], options: WalkOptions): Promise<WalkResult[]> {
  const preds = predecessors(steps, options.direction ?? 'forward');
  const slots = new Slots(options.concurrency ?? Number.POSITIVE_INFINITY);
  const results = new Map<string, Promise<WalkResult>>();
  const settle = new Map<string, (r: WalkResult) => void>();
  for (const s of steps) results.set(s.id, new Promise((resolve) => settle.set(s.id, resolve)));

  const wrapped = steps.map((s) => ({
    title: s.title,
    run: async (): Promise<string | void> => {
      const before = await Promise.all((preds.get(s.id) ?? []).map((p) => results.get(p) as Promise<WalkResult>));
      const blocker = before.find((r) => r.status !== 'done');
      if (blocker) {
        const cause = blocker.status === 'skipped' ? blocker.cause : blocker.status === 'failed' ? { id: blocker.id, title: blocker.title, error: blocker.error } : undefined;
        if (cause) {
          settle.get(s.id)?.({ id: s.id, title: s.title, status: 'skipped', cause });
          return 'skipped';
        }
      }
      await slots.take();
      try {
        const outcome = await s.run();
        settle.get(s.id)?.({ id: s.id, title: s.title, status: 'done' });
        return outcome;
      } catch (error) {
        settle.get(s.id)?.({ id: s.id, title: s.title, status: 'failed', error });
        throw error;
      } finally {
        slots.give();
      }
    },
  }));
  await options.progress.run(wrapped);
  return Promise.all(steps.map((s) => results.get(s.id) as Promise<WalkResult>));
}

/** The error of a step that did not succeed: its own, or the one that made it skip. */
export function failureOf(r: WalkResult): unknown {
  if (r.status === 'failed') return r.error;
  if (r.status === 'skipped') return r.cause.error;
  return undefined;
}
