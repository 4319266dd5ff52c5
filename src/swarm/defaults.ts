/**
 * The defaults swarmkit fills into a service spec (api/defaults/service.go), filled the same way:
 * only where the spec leaves a field out, so a stored spec compares equal to the spec deployed again.
 */
import type { ServiceSpec, UpdatePolicy } from '../contract/swarm.js';

const SECOND = 1_000_000_000;

const UPDATE_DEFAULTS: UpdatePolicy = { parallelism: 1, failureAction: 'pause', monitor: 5 * SECOND, maxFailureRatio: 0, order: 'stop-first' };

function policy(given: UpdatePolicy | undefined): UpdatePolicy {
  const out: UpdatePolicy = { ...UPDATE_DEFAULTS, ...given };
  if (!out.failureAction) out.failureAction = UPDATE_DEFAULTS.failureAction;
  if (!out.order) out.order = UPDATE_DEFAULTS.order;
  if (out.monitor === undefined || out.monitor === 0) out.monitor = UPDATE_DEFAULTS.monitor;
  return out;
}

/**
 * Filled: replicas 1; stop grace period 10 s; restart policy condition any, delay 5 s, max
 * attempts 0 (no limit); update and rollback configs parallelism 1, failure action pause, monitor
 * 5 s, max failure ratio 0, order stop-first; endpoint mode vip.
 */
export function withDefaults(spec: ServiceSpec): ServiceSpec {
  const out = structuredClone(spec);
  if (out.mode.kind === 'replicated' && out.mode.replicas === undefined) out.mode = { kind: 'replicated', replicas: 1 };
  out.task.container.stopGracePeriod ??= 10 * SECOND;
  out.task.restart = { condition: 'any', delay: 5 * SECOND, maxAttempts: 0, ...out.task.restart };
  out.update = policy(out.update);
  out.rollback = policy(out.rollback);
  out.endpoint = { mode: 'vip', ...out.endpoint };
  return out;
}
