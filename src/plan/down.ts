/**
 * The plans that stop, start and remove what a project runs: `down`, and the container commands
 * (stop, start, restart, kill, rm, pause, unpause). Their steps depend on what they depend on when
 * running: a service's containers on its dependencies' containers, every container on the
 * project's networks, volumes and images. `down`, `stop`, `restart` and `rm` are teardowns
 * (walked in reverse: dependants first, networks after the containers); `start` builds up.
 *
 * Better than docker-compose: `down -v` also removes the anonymous volumes a container kept from
 * the one it replaced (docker-compose leaks those, as they are mounted by name), and with `-t 0`
 * every container goes at once (a forced removal kills at once, so dependency order would only
 * add waiting).
 */
import type { NetworkInfo, VolumeInfo } from '../contract/engine.js';
import type { Deployment } from '../model/deployment.js';
import { dependencyNames } from '../model/select.js';
import type { ObservedContainer } from './observed.js';
import { containerRef, type Operation, type Plan, type PlanStep } from './plan.js';
import { stopTimeout } from './up.js';

const stepId = (c: { name: string }) => `container:${c.name}`;

/** Each container's step depends on the steps of the containers (one-offs too) of its service's dependencies. */
function dependencyEdges(deployment: Deployment, containers: readonly ObservedContainer[]): Map<string, string[]> {
  const byService = new Map<string, ObservedContainer[]>();
  for (const c of containers) byService.set(c.service, [...(byService.get(c.service) ?? []), c]);
  const services = new Map(deployment.services.map((s) => [s.name, s]));
  const edges = new Map<string, string[]>();
  for (const c of containers) {
    const service = services.get(c.service);
    edges.set(stepId(c), service ? dependencyNames(service).flatMap((d) => (byService.get(d) ?? []).map(stepId)) : []);
  }
  return edges;
}

function containerPlan(
  deployment: Deployment,
  containers: readonly ObservedContainer[],
  direction: Plan['direction'],
  ordered: boolean,
  make: (c: ObservedContainer) => { operation: Operation; reason: string },
): Plan {
  const edges = ordered ? dependencyEdges(deployment, containers) : new Map<string, string[]>();
  const steps = containers.map((c): PlanStep => ({ id: stepId(c), ...make(c), after: edges.get(stepId(c)) ?? [] }));
  return { direction, steps, unchanged: [] };
}

const serviceOf = (deployment: Deployment, c: ObservedContainer) => deployment.services.find((s) => s.name === c.service);

/** One-offs stop with the others; only service containers are anyone's dependency. */
export function planStop(deployment: Deployment, containers: readonly ObservedContainer[], timeout: number | undefined): Plan {
  return containerPlan(deployment, containers, 'reverse', true, (c) => ({
    operation: { kind: 'stop-container', container: containerRef(c), timeout: stopTimeout(serviceOf(deployment, c), timeout) },
    reason: 'stop',
  }));
}

export function planStart(deployment: Deployment, containers: readonly ObservedContainer[]): Plan {
  return containerPlan(deployment, containers, 'forward', true, (c) => ({ operation: { kind: 'start-container', container: containerRef(c) }, reason: 'start' }));
}

/** Dependants restart first, so a service never restarts under a running dependant's feet twice. */
export function planRestart(deployment: Deployment, containers: readonly ObservedContainer[], timeout: number | undefined): Plan {
  return containerPlan(deployment, containers, 'reverse', true, (c) => ({
    operation: { kind: 'restart-container', container: containerRef(c), timeout: stopTimeout(serviceOf(deployment, c), timeout) },
    reason: 'restart',
  }));
}

export function planKill(deployment: Deployment, containers: readonly ObservedContainer[], signal: string): Plan {
  return containerPlan(deployment, containers, 'forward', false, (c) => ({ operation: { kind: 'kill-container', container: containerRef(c), signal }, reason: `kill -s ${signal}` }));
}

export function planPause(deployment: Deployment, containers: readonly ObservedContainer[], pause: boolean): Plan {
  return containerPlan(deployment, containers, 'forward', false, (c) => ({
    operation: pause ? { kind: 'pause-container', container: containerRef(c) } : { kind: 'unpause-container', container: containerRef(c) },
    reason: pause ? 'pause' : 'unpause',
  }));
}

/** Removes containers (stopping running ones), dependants first; `volumes`: their anonymous volumes too. */
export function planRemove(deployment: Deployment, containers: readonly ObservedContainer[], opts: { timeout?: number | undefined; volumes: boolean }): Plan {
  return containerPlan(deployment, containers, 'reverse', opts.timeout !== 0, (c) => ({
    operation: { kind: 'remove-container', container: containerRef(c), timeout: stopTimeout(serviceOf(deployment, c), opts.timeout), volumes: opts.volumes },
    reason: c.oneOff ? 'one-off container' : known(deployment, c) ? `container of ${c.service}` : `orphan: service ${c.service} is not in the project`,
  }));
}

const known = (deployment: Deployment, c: ObservedContainer) => deployment.services.some((s) => s.name === c.service);

export interface DownObserved {
  containers: ObservedContainer[];
  /** The project's networks and volumes, by label (also those an earlier version of the file made). */
  networks: NetworkInfo[];
  volumes: VolumeInfo[];
  /** Anonymous volumes mounted by the containers (read before they go), for -v. */
  anonymousVolumes: string[];
}

export interface DownOptions {
  volumes: boolean;
  removeOrphans: boolean;
  rmi?: 'local' | 'all';
  timeout?: number;
}

/** `down`: the containers (one-offs too; orphans with --remove-orphans), then networks, volumes (-v), images (--rmi). */
export function planDown(deployment: Deployment, observed: DownObserved, opts: DownOptions): Plan {
  const targets = observed.containers.filter((c) => c.oneOff || known(deployment, c) || opts.removeOrphans);
  const plan = planRemove(deployment, targets, { timeout: opts.timeout, volumes: opts.volumes });
  const resources: PlanStep[] = [];
  // By id: a name two concurrent runs both created is ambiguous.
  for (const n of observed.networks) resources.push({ id: `network:${n.id}`, operation: { kind: 'remove-network', id: n.id, name: n.name }, reason: 'network of the project', after: [] });
  if (opts.volumes) {
    const named = new Set(observed.volumes.map((v) => v.name));
    for (const v of observed.volumes) resources.push({ id: `volume:${v.name}`, operation: { kind: 'remove-volume', name: v.name, anonymous: false }, reason: 'volume of the project (-v)', after: [] });
    for (const name of observed.anonymousVolumes) {
      if (named.has(name)) continue;
      resources.push({ id: `volume:${name}`, operation: { kind: 'remove-volume', name, anonymous: true }, reason: 'anonymous volume of a container (-v)', after: [] });
    }
  }
  if (opts.rmi) {
    const images = new Set<string>();
    for (const s of deployment.services) if (opts.rmi === 'all' || (s.build && !s.imageDeclared)) images.add(s.image);
    for (const image of images) resources.push({ id: `image:${image}`, operation: { kind: 'remove-image', image }, reason: `--rmi ${opts.rmi}`, after: [] });
  }
  // Every container depends on them: they go once the containers have.
  const all = resources.map((r) => r.id);
  for (const s of plan.steps) s.after = [...s.after, ...all];
  return { direction: 'reverse', steps: [...plan.steps, ...resources], unchanged: [] };
}
