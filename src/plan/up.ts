/**
 * The plan of `up`: what to pull and build, which networks and volumes to create, which orphans
 * to remove, and each service's containers to create, recreate, start or remove (converge.ts),
 * in docker-compose 1.29.2's order:
 *
 *   - missing images are pulled before anything else (a pull that fails leaves nothing behind):
 *     networks, volumes, orphans and builds come after every pull;
 *   - builds come after the networks (a build may use a project network);
 *   - a service's containers come after every step above, and after the steps of the services
 *     it depends on; a dependency with a condition (healthy, completed successfully) gets a
 *     wait step that its dependants come after.
 *
 * The config hash includes the image's Id, so after images are pulled or built the executor plans
 * the containers again (`containersOnly`), with the images as the engine then has them.
 */
import { FlotillaError } from '../errors.js';
import type { Deployment } from '../model/deployment.js';
import { containerName } from '../model/names.js';
import type { Network, Volume } from '../model/resources.js';
import { dependencyNames } from '../model/select.js';
import type { Service } from '../model/service.js';
import { configHash } from './config-hash.js';
import { stopSeconds } from './container-spec.js';
import { changesContainers, convergeService, type ContainerAction, type Strategy } from './converge.js';
import { imageStep, type BuildPolicy, type PullPolicy } from './images.js';
import { serviceContainers, type Observed, type ObservedContainer } from './observed.js';
import { containerRef, type Plan, type PlanStep } from './plan.js';

export type PrepareOptions = Pick<UpPlanOptions, 'build' | 'pull' | 'removeOrphans' | 'timeout'>;

export interface UpPlanOptions {
  strategy: Strategy;
  alwaysRecreateDeps: boolean;
  /** Containers per service where not the service's own scale. */
  scale: Record<string, number>;
  removeOrphans: boolean;
  build: BuildPolicy;
  /** --pull: when to pull the images of services without `build` (default: when missing). */
  pull?: PullPolicy;
  renewAnonymousVolumes: boolean;
  /** false for `create` / `up --no-start`. */
  start: boolean;
  /** -t: seconds to wait for a container to stop before killing it. */
  timeout?: number | undefined;
  /** Only the containers' steps: images, networks, volumes and orphans are done. */
  containersOnly?: boolean;
}

/** Networks the given services join, by key (v1 projects use the engine's default bridge, so none). */
export function usedNetworks(deployment: Deployment, services: readonly Service[]): Network[] {
  const keys = new Set<string>();
  for (const s of services) for (const n of s.networks) keys.add(n.key);
  return [...keys]
    .sort()
    .map((k) => deployment.networks[k])
    .filter((n): n is Network => n !== undefined);
}

/** Whether a step of planUp's is a container's (or waits for containers) rather than preparing them. */
export function isContainerStep(step: PlanStep): boolean {
  return step.id.startsWith('container:') || step.id.startsWith('wait:');
}

/** Orphans: service containers of services the deployment no longer has. */
export function orphansOf(deployment: Deployment, containers: readonly ObservedContainer[]): ObservedContainer[] {
  const known = new Set(deployment.services.map((s) => s.name));
  return containers.filter((c) => !c.oneOff && !known.has(c.service));
}

/** -t when given, else the service's stop_grace_period, else 10 s. */
export function stopTimeout(service: Service | undefined, override: number | undefined): number {
  return override ?? (service ? stopSeconds(service) : undefined) ?? 10;
}

function external(kind: 'network' | 'volume', name: string): FlotillaError {
  const create = kind === 'network' ? `docker network create ${name}` : `docker volume create --name=${name}`;
  return new FlotillaError(`${kind} ${name} is declared as external, but could not be found; create it with \`${create}\` and try again`);
}

/** A container kept as it is though the engine lost a published port of it: up must not say it is fine. */
function unheld(service: string, c: ObservedContainer): FlotillaError {
  const ports = c.unheldPorts.join(', ');
  return new FlotillaError(
    `service ${service}: container ${c.name} does not hold its published port${c.unheldPorts.length > 1 ? 's' : ''} ${ports}: another program took ${c.unheldPorts.length > 1 ? 'them' : 'it'} while the engine's daemon was down; stop that program (the daemon takes the port back within seconds) or change the port and run up again`,
  );
}

function prepareSteps(deployment: Deployment, services: readonly Service[], observed: Observed, opts: PrepareOptions): PlanStep[] {
  const pulls: PlanStep[] = [];
  const builds: PlanStep[] = [];
  for (const s of services) {
    const step = imageStep(s, (observed.images.get(s.image) ?? null) !== null, opts.build, opts.pull);
    if (step.kind === 'error') throw new FlotillaError(step.message);
    if (step.kind === 'pull') pulls.push({ id: `pull:${s.name}`, operation: { kind: 'pull-image', service: s.name, image: step.image }, reason: step.reason, after: [] });
    if (step.kind === 'build') builds.push({ id: `build:${s.name}`, operation: { kind: 'build-image', service: s.name, image: step.image }, reason: step.reason, after: [] });
  }
  const afterPulls = pulls.map((p) => p.id);
  const resources: PlanStep[] = [];
  for (const n of usedNetworks(deployment, services)) {
    if (observed.networks.get(n.name)) continue;
    if (n.external) throw external('network', n.name);
    resources.push({ id: `network:${n.name}`, operation: { kind: 'create-network', network: n }, reason: 'not on the engine', after: afterPulls });
  }
  for (const v of Object.values(deployment.volumes) as Volume[]) {
    if (observed.volumes.get(v.name)) continue;
    if (v.external) throw external('volume', v.name);
    resources.push({ id: `volume:${v.name}`, operation: { kind: 'create-volume', volume: v }, reason: 'not on the engine', after: afterPulls });
  }
  if (opts.removeOrphans) {
    for (const o of orphansOf(deployment, observed.containers)) {
      resources.push({
        id: `orphan:${o.name}`,
        operation: { kind: 'remove-container', container: containerRef(o), timeout: opts.timeout ?? 10, volumes: false },
        reason: `orphan: service ${o.service} is not in the project`,
        after: afterPulls,
      });
    }
  }
  const networks = resources.filter((r) => r.operation.kind === 'create-network').map((r) => r.id);
  for (const b of builds) b.after = [...afterPulls, ...networks];
  return [...pulls, ...resources, ...builds];
}

/** What `run` needs before it can create a one-off container: the image, networks and volumes. */
export function planPrepare(deployment: Deployment, services: readonly Service[], observed: Observed, opts: PrepareOptions): Plan {
  return { direction: 'forward', steps: prepareSteps(deployment, services, observed, opts), unchanged: [] };
}

function hashOf(service: Service, observed: Observed, containersOf: (service: string) => ObservedContainer[]) {
  return configHash(service.configHash, {
    imageId: observed.images.get(service.image)?.id ?? null,
    containerIdOf: (s) => containersOf(s)[0]?.id ?? null,
  });
}

/** Running containers first, then by number: the one docker-compose links to and shares namespaces with. */
function byPreference(list: readonly ObservedContainer[]): ObservedContainer[] {
  return [...list].sort((a, b) => Number(b.running) - Number(a.running) || a.number - b.number);
}

export function planUp(deployment: Deployment, services: readonly Service[], observed: Observed, opts: UpPlanOptions): Plan {
  const prepare = opts.containersOnly ? [] : prepareSteps(deployment, services, observed, opts);
  const afterPrepare = prepare.map((p) => p.id);
  const containersOf = (s: string) => byPreference(serviceContainers(observed.containers, s));
  const steps: PlanStep[] = [...prepare];
  const unchanged: string[] = [];
  /** Each planned service's steps, and whether it creates or recreates containers. */
  const planned = new Map<string, { ids: string[]; actions: ContainerAction[] }>();

  for (const service of services) {
    const hash = hashOf(service, observed, containersOf);
    const upstreamChanged = dependencyNames(service).filter((d) => {
      const p = planned.get(d);
      return p !== undefined && changesContainers(p.actions);
    });
    const actions = convergeService(
      { name: service.name, scale: opts.scale[service.name] ?? service.scale, configHash: hash.hash, configLabel: hash.label },
      serviceContainers(observed.containers, service.name),
      { strategy: opts.strategy, upstreamChanged, alwaysRecreateDeps: opts.alwaysRecreateDeps },
    );
    for (const a of actions) if (a.kind === 'keep' && a.container.unheldPorts.length > 0) throw unheld(service.name, a.container);
    // What a created, recreated or started container comes after: its dependencies in this run
    // (their wait step when they have a condition), and everything prepared.
    const gated = actions.some((a) => a.kind === 'create' || a.kind === 'recreate' || (a.kind === 'start' && opts.start));
    const gate: string[] = [...afterPrepare];
    for (const dep of gated ? service.dependencies : []) {
      const p = dep.service === service.name ? undefined : planned.get(dep.service);
      if (!p) continue;
      if (dep.condition === 'service_started' || !opts.start) {
        gate.push(...p.ids);
        continue;
      }
      const id = `wait:${dep.service}:${dep.condition}`;
      if (!steps.some((s) => s.id === id)) {
        steps.push({ id, operation: { kind: 'wait-for', service: dep.service, condition: dep.condition }, reason: `${service.name} depends on it`, after: p.ids });
      }
      gate.push(id);
    }
    const ids: string[] = [];
    const timeout = stopTimeout(service, opts.timeout);
    for (const a of actions) {
      let step: PlanStep | undefined;
      if (a.kind === 'remove') {
        step = { id: `container:${a.container.name}`, operation: { kind: 'remove-container', container: containerRef(a.container), timeout, volumes: false }, reason: a.reason, after: afterPrepare };
      } else if (a.kind === 'create') {
        const name = service.containerName ?? containerName(deployment.name, service.name, a.number);
        step = { id: `container:${name}`, operation: { kind: 'create-container', service: service.name, number: a.number, name, hash, start: opts.start }, reason: a.reason, after: gate };
      } else if (a.kind === 'recreate') {
        step = {
          id: `container:${a.container.name}`,
          operation: { kind: 'recreate-container', container: containerRef(a.container), hash, start: opts.start, timeout, renewAnonymousVolumes: opts.renewAnonymousVolumes },
          reason: a.reason,
          after: gate,
        };
      } else if (a.kind === 'start') {
        if (opts.start) step = { id: `container:${a.container.name}`, operation: { kind: 'start-container', container: containerRef(a.container) }, reason: a.reason, after: gate };
      } else {
        unchanged.push(a.container.name);
      }
      if (step) {
        steps.push(step);
        ids.push(step.id);
      }
    }
    planned.set(service.name, { ids, actions });
  }
  return { direction: 'forward', steps, unchanged };
}
