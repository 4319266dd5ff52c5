/**
 * `deploy:` as the typed Deploy (src/model/deploy.ts): what a swarm stack reads, and what `up`
 * takes from it (restart policy, limits, reservations, replicas). Values the engine could not
 * take (an unknown mode, an unreadable duration) are reported, and left out.
 */
import type { Deploy, DeviceRequest, GenericResource, Placement, ResourceLimits, ResourceReservations, DeployRestartPolicy, UpdateConfig } from '../../model/deploy.js';
import { isPlainObject } from '../yaml/read.js';
import { bytes, choice, INVALID, nanoCpus, nanos, numeric, stringList, stringMap } from './values.js';

type Dict = Record<string, unknown>;

/** Reports a value `up` or a stack cannot use, at a key path inside the service. */
export type Report = (keyPath: (string | number)[], message: string) => void;

const dict = (v: unknown): Dict | undefined => (isPlainObject(v) ? v : undefined);

function pick<T extends string>(v: unknown, choices: readonly T[], path: (string | number)[], report: Report): T | undefined {
  const c = choice(v, choices);
  if (c !== INVALID) return c;
  report(path, `"${String(v)}" is not one of ${choices.join(', ')}`);
  return undefined;
}

function duration(v: unknown): number | undefined {
  // An unreadable one is reported by the deploy checks (./problems.ts), which `config` prints too.
  return v === undefined || v === null ? undefined : nanos(String(v));
}

function placement(d: Dict | undefined): Placement {
  const out: Placement = {
    constraints: stringList(d?.['constraints']),
    preferences: (Array.isArray(d?.['preferences']) ? d['preferences'] : [])
      .map((p: unknown) => dict(p)?.['spread'])
      .filter((s): s is string => typeof s === 'string')
      .map((spread) => ({ spread })),
  };
  const max = numeric(d?.['max_replicas_per_node']);
  if (max !== undefined) out.maxReplicasPerNode = max;
  return out;
}

function limits(d: Dict | undefined): ResourceLimits | undefined {
  if (!d) return undefined;
  const out: ResourceLimits = {};
  const cpus = nanoCpus(d['cpus']);
  const memory = bytes(d['memory']);
  const pids = numeric(d['pids']);
  if (cpus !== undefined) out.nanoCpus = cpus;
  if (memory !== undefined) out.memoryBytes = memory;
  if (pids !== undefined) out.pids = pids;
  return out;
}

function deviceRequest(d: Dict, path: (string | number)[], report: Report): DeviceRequest {
  const out: DeviceRequest = { deviceIds: stringList(d['device_ids']), capabilities: stringList(d['capabilities']), options: stringMap(d['options']) };
  if (typeof d['driver'] === 'string') out.driver = d['driver'];
  const count = d['count'];
  if (typeof count === 'number') out.count = count;
  else if (count === 'all') out.count = -1;
  else if (count !== undefined) report([...path, 'count'], `invalid devices count "${String(count)}" (expected a number or "all")`);
  return out;
}

function reservations(d: Dict | undefined, path: (string | number)[], report: Report): ResourceReservations | undefined {
  if (!d) return undefined;
  const generic: GenericResource[] = [];
  for (const g of Array.isArray(d['generic_resources']) ? d['generic_resources'] : []) {
    const spec = dict(dict(g)?.['discrete_resource_spec']);
    if (spec && typeof spec['kind'] === 'string' && typeof spec['value'] === 'number') generic.push({ kind: spec['kind'], value: spec['value'] });
  }
  const devices = (Array.isArray(d['devices']) ? d['devices'] : []).map((x: unknown, i) => deviceRequest(dict(x) ?? {}, [...path, 'devices', i], report));
  const out: ResourceReservations = { genericResources: generic, devices };
  const cpus = nanoCpus(d['cpus']);
  const memory = bytes(d['memory']);
  if (cpus !== undefined) out.nanoCpus = cpus;
  if (memory !== undefined) out.memoryBytes = memory;
  return out;
}

function restartPolicy(d: Dict, path: (string | number)[], report: Report): DeployRestartPolicy {
  const out: DeployRestartPolicy = { condition: pick(d['condition'] ?? 'any', ['none', 'on-failure', 'any'] as const, [...path, 'condition'], report) ?? 'any' };
  const delay = duration(d['delay']);
  const window = duration(d['window']);
  const attempts = numeric(d['max_attempts']);
  if (delay !== undefined) out.delay = delay;
  if (window !== undefined) out.window = window;
  if (attempts !== undefined) out.maxAttempts = attempts;
  return out;
}

function updateConfig(d: Dict, path: (string | number)[], report: Report): UpdateConfig {
  const out: UpdateConfig = {};
  const parallelism = numeric(d['parallelism']);
  const delay = duration(d['delay']);
  const monitor = duration(d['monitor']);
  const ratio = numeric(d['max_failure_ratio']);
  const action = pick(d['failure_action'], ['continue', 'rollback', 'pause'] as const, [...path, 'failure_action'], report);
  const order = pick(d['order'], ['stop-first', 'start-first'] as const, [...path, 'order'], report);
  if (parallelism !== undefined) out.parallelism = parallelism;
  if (delay !== undefined) out.delay = delay;
  if (monitor !== undefined) out.monitor = monitor;
  if (ratio !== undefined) out.maxFailureRatio = ratio;
  if (action !== undefined) out.failureAction = action;
  if (order !== undefined) out.order = order;
  return out;
}

export function emitDeploy(deploy: unknown, report: Report): Deploy | undefined {
  const d = dict(deploy);
  if (!d) return undefined;
  const resources = dict(d['resources']);
  const out: Deploy = {
    mode: pick(d['mode'] ?? 'replicated', ['replicated', 'global'] as const, ['deploy', 'mode'], report) ?? 'replicated',
    labels: stringMap(d['labels']),
    placement: placement(dict(d['placement'])),
    resources: {},
  };
  const replicas = numeric(d['replicas']);
  if (replicas !== undefined) out.replicas = replicas;
  const endpointMode = pick(d['endpoint_mode'], ['vip', 'dnsrr'] as const, ['deploy', 'endpoint_mode'], report);
  if (endpointMode !== undefined) out.endpointMode = endpointMode;
  const l = limits(dict(resources?.['limits']));
  const r = reservations(dict(resources?.['reservations']), ['deploy', 'resources', 'reservations'], report);
  if (l) out.resources.limits = l;
  if (r) out.resources.reservations = r;
  const restart = dict(d['restart_policy']);
  if (restart) out.restartPolicy = restartPolicy(restart, ['deploy', 'restart_policy'], report);
  const update = dict(d['update_config']);
  if (update) out.updateConfig = updateConfig(update, ['deploy', 'update_config'], report);
  const rollback = dict(d['rollback_config']);
  if (rollback) out.rollbackConfig = updateConfig(rollback, ['deploy', 'rollback_config'], report);
  return out;
}

/** Containers a service runs by default: `scale`, else `deploy.replicas` (replicated mode, capped per node), else 1. */
export function defaultScale(scale: unknown, deploy: Deploy | undefined): number {
  if (typeof scale === 'number') return scale;
  if (deploy?.mode === 'replicated' && deploy.replicas !== undefined) {
    const max = deploy.placement.maxReplicasPerNode;
    return max !== undefined ? Math.min(deploy.replicas, max) : deploy.replicas;
  }
  return 1;
}
