/**
 * The defaults swarmkit fills into a service spec (its api/defaults), filled by the same rule: the
 * store keeps a spec as it was given (as swarmkit does, so PreviousSpec shows what was sent), and
 * the defaults are filled where it is read: by the loops, and by `service inspect` (Docker's
 * `insertDefaults`), which fills the current spec only.
 */
import type { ServiceSpec, UpdatePolicy } from '../contract/swarm.js';

const SECOND = 1_000_000_000;

const UPDATE_DEFAULTS: UpdatePolicy = { parallelism: 1, failureAction: 'pause', monitor: 5 * SECOND, maxFailureRatio: 0, order: 'stop-first' };

/** An update or rollback config: the whole default when none is given, else only its monitor. */
function policy(given: UpdatePolicy | undefined): UpdatePolicy {
  if (!given) return { ...UPDATE_DEFAULTS };
  // A monitor of 0 is not sent by Docker's CLI (omitempty): swarmkit sees none.
  return given.monitor ? { ...given } : { ...given, monitor: UPDATE_DEFAULTS.monitor };
}

/**
 * Filled where the spec leaves them out: the stop grace period (10 s), an empty DNS config,
 * resources and placement; the restart policy (condition any, delay 5 s, no attempt limit; a
 * given policy only gets the delay); the update and rollback configs (parallelism 1, failure
 * action pause, monitor 5 s, ratio 0, stop-first; a given config only gets the monitor).
 */
export function withDefaults(spec: ServiceSpec): ServiceSpec {
  const out = structuredClone(spec);
  const c = out.task.container;
  c.stopGracePeriod ??= 10 * SECOND;
  c.dns ??= {};
  out.task.resources ??= {};
  out.task.restart = out.task.restart ? { ...out.task.restart, delay: out.task.restart.delay ?? 5 * SECOND } : { condition: 'any', delay: 5 * SECOND, maxAttempts: 0 };
  out.task.placement ??= {};
  out.update = policy(out.update);
  out.rollback = policy(out.rollback);
  return out;
}

/** The update (or rollback) config the updater follows: the given one with swarmkit's defaults and zero values. */
export function effectivePolicy(spec: ServiceSpec, rollback: boolean): UpdatePolicy {
  const p = policy(rollback ? spec.rollback : spec.update);
  return { ...p, failureAction: p.failureAction || 'pause', order: p.order || 'stop-first', maxFailureRatio: p.maxFailureRatio ?? 0, delay: p.delay ?? 0 };
}
