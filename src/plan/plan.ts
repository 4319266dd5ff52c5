/**
 * A plan: a DAG of typed operations on the engine, each with the reason it is there and the
 * steps it comes after. The planners (./up.ts, ./down.ts, ./containers.ts) make plans from the
 * typed deployment and what was observed, without touching the engine; execute/ walks them.
 * `up --dry-run` prints one with renderPlan, and the golden tests compare that text.
 */
import type { Network, Volume } from '../model/resources.js';
import type { ConfigHash } from './config-hash.js';

/** A container the plan acts on. */
export interface ContainerRef {
  id: string;
  name: string;
  service: string;
  number: number;
  oneOff: boolean;
  running: boolean;
}

export type Operation =
  | { kind: 'pull-image'; service: string; image: string }
  | { kind: 'build-image'; service: string; image: string }
  | { kind: 'remove-image'; image: string }
  | { kind: 'create-network'; network: Network }
  | { kind: 'remove-network'; id: string; name: string }
  | { kind: 'create-volume'; volume: Volume }
  /** `anonymous`: a volume without a name of its own, shown by its id's start. */
  | { kind: 'remove-volume'; name: string; anonymous: boolean }
  /** Created (and started unless `start` is false) with the config hash as label. */
  | { kind: 'create-container'; service: string; number: number; name: string; hash: ConfigHash; start: boolean }
  | { kind: 'recreate-container'; container: ContainerRef; hash: ConfigHash; start: boolean; timeout: number; renewAnonymousVolumes: boolean }
  | { kind: 'start-container'; container: ContainerRef }
  | { kind: 'stop-container'; container: ContainerRef; timeout: number }
  | { kind: 'restart-container'; container: ContainerRef; timeout: number }
  | { kind: 'kill-container'; container: ContainerRef; signal: string }
  | { kind: 'pause-container'; container: ContainerRef }
  | { kind: 'unpause-container'; container: ContainerRef }
  /** Stopped (unless `timeout` is 0: a forced removal kills it) and removed; `volumes`: its anonymous volumes too. */
  | { kind: 'remove-container'; container: ContainerRef; timeout: number; volumes: boolean }
  /** Waits until every container `service` has then meets the condition its dependants state. */
  | { kind: 'wait-for'; service: string; condition: 'service_healthy' | 'service_completed_successfully' };

export interface PlanStep {
  /** Unique in the plan: "container:demo_web_1", "network:demo_default", ... */
  id: string;
  operation: Operation;
  /** Why: "no container yet", "environment.X changed", "image not on the engine". */
  reason: string;
  /** Ids of the steps this one depends on: it comes after them, or before them in a teardown. */
  after: string[];
}

export interface Plan {
  /** forward: building up (a step after what it depends on); reverse: tearing down (before it). */
  direction: 'forward' | 'reverse';
  steps: PlanStep[];
  /** Containers left as they are (up to date). */
  unchanged: string[];
}

export function containerRef(c: { id: string; name: string; service: string; number: number; oneOff: boolean; running: boolean }): ContainerRef {
  return { id: c.id, name: c.name, service: c.service, number: c.number, oneOff: c.oneOff, running: c.running };
}

/** What an operation does, in words: "create network demo_default", "recreate demo_web_1". */
export function describe(op: Operation): string {
  switch (op.kind) {
    case 'pull-image':
      return `pull ${op.image} for ${op.service}`;
    case 'build-image':
      return `build ${op.image} for ${op.service}`;
    case 'remove-image':
      return `remove image ${op.image}`;
    case 'create-network':
      return `create network ${op.network.name}`;
    case 'remove-network':
      return `remove network ${op.name}`;
    case 'create-volume':
      return `create volume ${op.volume.name}`;
    case 'remove-volume':
      return `remove volume ${op.anonymous ? op.name.slice(0, 12) : op.name}`;
    case 'create-container':
      return `create ${op.name}`;
    case 'wait-for':
      return `wait for ${op.service} to be ${op.condition === 'service_healthy' ? 'healthy' : 'completed successfully'}`;
    default:
      return `${op.kind.replace(/-container$/, '')} ${op.container.name}`;
  }
}

/** Each step's predecessors in the order the plan runs (its dependants' in a teardown). */
function runsAfter(plan: Plan): Map<string, string[]> {
  const out = new Map<string, string[]>(plan.steps.map((s) => [s.id, []]));
  for (const s of plan.steps) {
    for (const a of s.after) {
      if (plan.direction === 'forward') out.get(s.id)?.push(a);
      else out.get(a)?.push(s.id);
    }
  }
  return out;
}

/** The plan as text, one line per step ("<what>: <why> (after <what>; ...)"), then what stays as it is. */
export function renderPlan(plan: Plan): string[] {
  const byId = new Map(plan.steps.map((s) => [s.id, s]));
  const preds = runsAfter(plan);
  const lines = plan.steps.map((s) => {
    const after = (preds.get(s.id) ?? []).map((a) => {
      const step = byId.get(a);
      return step ? describe(step.operation) : a;
    });
    return `${describe(s.operation)}: ${s.reason}${after.length > 0 ? ` (after ${after.join('; ')})` : ''}`;
  });
  return [...lines, ...plan.unchanged.map((name) => `${name} is up to date`)];
}
