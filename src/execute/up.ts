/**
 * `up`: converge the engine to the project.
 *
 *   1. select services (named ones plus their dependencies, profiles applied); refuse what up
 *      refuses (undefined networks, container_name with scale, ...) before touching the engine;
 *   2. observe the project's containers, networks and volumes, and inspect the images (one pass);
 *   3. phase 1: pull missing images (a failed pull leaves nothing behind); then, all at once,
 *      remove orphans (--remove-orphans), create missing networks and volumes, build images;
 *   4. compute each service's config hash (with the images' Ids) and its container actions,
 *      in dependency order (a dependency being recreated can force a recreate);
 *   5. phase 2, all at once, each service waiting for its dependencies: created, recreated or
 *      started containers; a dependency gates on its condition (started, healthy, completed
 *      successfully); a failed service fails its dependants and the rest carry on.
 *
 * `--dry-run` stops after step 4 and returns the plan as lines.
 */
import { ConfigError, ErrorList, FlotillaError, UsageError } from '../errors.js';
import type { ImageInfo } from '../contract/engine.js';
import type { Service } from '../model/service.js';
import { dependencyNames, selectServices, withDependencies } from '../model/select.js';
import { configHash } from '../plan/config-hash.js';
import { changesContainers, convergeService, type ContainerAction, type Strategy } from '../plan/converge.js';
import { imageStep, type BuildPolicy, type ImageStep } from '../plan/images.js';
import { observe, serviceContainers, type ObservedContainer } from '../plan/observe.js';
import { containerName } from '../model/names.js';
import { ContainerMonitor, DependencyError } from './monitor.js';
import {
  ContainerRegistry,
  createServiceContainer,
  recreateServiceContainer,
  startServiceContainer,
  stopAndRemove,
} from './containers.js';
import { buildServiceImage } from './images.js';
import { ensureResourceSteps, usedNetworks } from './resources.js';
import type { ProjectRuntime } from './runtime.js';
import type { Step, StepResult } from './progress.js';

export interface UpOptions {
  services: string[];
  noDeps: boolean;
  strategy: Strategy;
  alwaysRecreateDeps: boolean;
  scale: Record<string, number>;
  removeOrphans: boolean;
  build: BuildPolicy;
  renewAnonymousVolumes: boolean;
  /** false for `create` / `up --no-start`. */
  start: boolean;
  /** -t: seconds to wait for a container to stop before killing it. */
  timeout?: number;
  dryRun: boolean;
  /** --wait: return only when every container is running, and healthy if it has a healthcheck. */
  wait: boolean;
}

export interface UpResult {
  services: Service[];
  registry: ContainerRegistry;
  /** The plan, for --dry-run. */
  plan: string[];
}

interface ServicePlan {
  service: Service;
  hash: string;
  label: string;
  actions: ContainerAction[];
}

export async function up(rt: ProjectRuntime, opts: UpOptions): Promise<UpResult> {
  const { engine, deployment } = rt;
  let services = selectServices(deployment, rt.profiles, opts.services);
  if (!opts.noDeps) services = withDependencies(deployment, services, rt.profiles, opts.services);
  for (const name of Object.keys(opts.scale)) {
    if (!deployment.services.some((s) => s.name === name)) throw new UsageError(`no such service: ${name}`);
  }
  refuseUndeployable(rt, services);

  const [observed, imageInfo] = await Promise.all([observe(engine, deployment.name), inspectImages(rt, services)]);

  const known = new Set(deployment.services.map((s) => s.name));
  const orphans = observed.containers.filter((c) => !c.oneOff && !known.has(c.service));
  if (orphans.length > 0 && !opts.removeOrphans && rt.env['COMPOSE_IGNORE_ORPHANS'] !== 'True' && rt.env['COMPOSE_IGNORE_ORPHANS'] !== '1') {
    rt.diagnostics.warn(
      `Found orphan containers (${orphans.map((o) => o.name).join(', ')}) for this project. If you removed or renamed this service ` +
        'in your compose file, you can run this command with the --remove-orphans flag to clean it up.',
    );
  }

  const imageSteps = new Map<string, ImageStep>();
  for (const s of services) {
    const step = imageStep(s, imageInfo.get(s.name) !== null, opts.build);
    if (step.kind === 'error') throw new FlotillaError(step.message);
    imageSteps.set(s.name, step);
  }
  const networks = usedNetworks(deployment, services);
  const volumes = Object.values(deployment.volumes);
  const registry = new ContainerRegistry(observed.containers);

  if (opts.dryRun) {
    const plan: string[] = [];
    for (const n of networks) if (!n.external && !observed.networks.has(n.name)) plan.push(`create network ${n.name}`);
    for (const v of volumes) if (!v.external && !observed.volumes.has(v.name)) plan.push(`create volume ${v.name}`);
    if (opts.removeOrphans) for (const o of orphans) plan.push(`remove orphan container ${o.name}`);
    for (const s of services) {
      const step = imageSteps.get(s.name);
      if (step?.kind === 'pull') plan.push(`pull ${step.image} for ${s.name}: ${step.reason}`);
      if (step?.kind === 'build') plan.push(`build ${step.image} for ${s.name}: ${step.reason}`);
    }
    const plans = convergeAll(services, observed.containers, imageInfo, registry, opts);
    for (const p of plans) plan.push(...describe(rt, p));
    return { services, registry, plan };
  }

  // Phase 1: missing images pulled first (one that cannot be leaves nothing behind), then orphans,
  // networks, volumes and builds (a build may use a project network).
  const phase1: Step[] = [...(await ensureResourceSteps(rt, networks, volumes))];
  if (opts.removeOrphans) {
    for (const o of orphans) {
      phase1.push({ title: `Removing orphan container "${o.name}"`, run: () => stopAndRemove(rt, registry, undefined, o, opts.timeout, false) });
    }
  }
  const pulls: Step[] = [];
  for (const s of services) {
    const step = imageSteps.get(s.name);
    if (step?.kind === 'pull') {
      pulls.push({ title: `Pulling ${s.name} (${step.image})`, run: () => rt.limiter.run(() => engine.pullImage(step.image)) });
    } else if (step?.kind === 'build') {
      phase1.push({ title: `Building ${s.name}`, run: () => buildServiceImage(rt, s) });
    }
  }
  if (pulls.length > 0) failOnErrors(await rt.progress.run(pulls), 'Encountered errors while preparing the project.');
  failOnErrors(await rt.progress.run(phase1), 'Encountered errors while preparing the project.');
  const changed = services.filter((s) => imageSteps.get(s.name)?.kind !== 'present');
  for (const [name, info] of await inspectImages(rt, changed)) imageInfo.set(name, info);

  // Phase 2: containers, each service after its dependencies.
  const plans = convergeAll(services, observed.containers, imageInfo, registry, opts);
  const monitor = new ContainerMonitor(engine, deployment.name);
  const needsMonitor =
    opts.wait || services.some((s) => s.dependencies.some((d) => d.condition !== 'service_started'));
  if (needsMonitor) monitor.start();
  try {
    const results = await rt.progress.run(containerSteps(rt, plans, registry, monitor, opts));
    failOnErrors(results, 'Encountered errors while bringing up the project.');
    if (opts.wait && opts.start) await waitForRunning(rt, services, registry, monitor);
  } finally {
    monitor.stop();
  }
  return { services, registry, plan: [] };
}

/** Each distinct image inspected once (thirty services on one image: one call), by service. */
async function inspectImages(rt: ProjectRuntime, services: readonly Service[]): Promise<Map<string, ImageInfo | null>> {
  const byImage = new Map<string, Promise<ImageInfo | null>>();
  for (const s of services) {
    if (!byImage.has(s.image)) byImage.set(s.image, rt.engine.inspectImage(s.image));
  }
  const out = new Map<string, ImageInfo | null>();
  for (const s of services) out.set(s.name, await (byImage.get(s.image) as Promise<ImageInfo | null>));
  return out;
}

function refuseUndeployable(rt: ProjectRuntime, services: readonly Service[]): void {
  const names = new Set(services.map((s) => s.name));
  const problems = rt.deployment.problems.filter((p) => names.has(p.service));
  if (problems.length === 0) return;
  const errors = problems.map((p) => new ConfigError(p.message, rt.locateService(p.service, p.keyPath)));
  throw errors.length === 1 ? errors[0] : new ErrorList(errors);
}

function convergeAll(
  services: readonly Service[],
  observed: readonly ObservedContainer[],
  images: Map<string, ImageInfo | null>,
  registry: ContainerRegistry,
  opts: UpOptions,
): ServicePlan[] {
  const plans = new Map<string, ServicePlan>();
  for (const service of services) {
    const { hash, label } = configHash(service.configHash, {
      imageId: images.get(service.name)?.id ?? null,
      containerIdOf: (s) => registry.of(s)[0]?.id ?? null,
    });
    const upstreamChanged = dependencyNames(service).filter((d) => {
      const p = plans.get(d);
      return p !== undefined && changesContainers(p.actions);
    });
    const actions = convergeService(
      { name: service.name, scale: opts.scale[service.name] ?? service.scale, configHash: hash, configLabel: label },
      serviceContainers(observed, service.name),
      { strategy: opts.strategy, upstreamChanged, alwaysRecreateDeps: opts.alwaysRecreateDeps },
    );
    plans.set(service.name, { service, hash, label, actions });
  }
  return [...plans.values()];
}

function describe(rt: ProjectRuntime, p: ServicePlan): string[] {
  const lines: string[] = [];
  const name = (a: ContainerAction) => (a.kind === 'create' ? p.service.containerName ?? containerName(rt.deployment.name, p.service.name, a.number) : a.container.name);
  const removed = p.actions.filter((a) => a.kind === 'remove');
  if (removed.length > 0) lines.push(`scale ${p.service.name} ${removed[0]?.reason.replace(/^scale /, '')}: remove ${removed.map(name).join(', ')}`);
  for (const a of p.actions) {
    if (a.kind === 'keep') lines.push(`${name(a)} is up to date`);
    else if (a.kind !== 'remove') lines.push(`${a.kind} ${name(a)}: ${a.reason}`);
  }
  return lines;
}

function failOnErrors(results: StepResult[], summary: string): void {
  const failed = results.filter((r) => r.error !== undefined);
  if (failed.length === 0) return;
  const errors = failed.map((r) => {
    const message = r.error instanceof Error ? r.error.message : String(r.error);
    return new FlotillaError(`for ${r.title.replace(/^(Creating|Recreating|Starting|Pulling|Building|Removing orphan container|Stopping and removing|Waiting for) /, '')}: ${message}`);
  });
  errors.push(new FlotillaError(summary));
  throw new ErrorList(errors);
}

class Deferred {
  readonly promise: Promise<void>;
  resolve!: () => void;
  reject!: (e: unknown) => void;
  constructor() {
    this.promise = new Promise((res, rej) => {
      this.resolve = res;
      this.reject = rej;
    });
    this.promise.catch(() => {});
  }
}

function containerSteps(rt: ProjectRuntime, plans: ServicePlan[], registry: ContainerRegistry, monitor: ContainerMonitor, opts: UpOptions): Step[] {
  const done = new Map<string, Deferred>(plans.map((p) => [p.service.name, new Deferred()]));
  const inRun = new Set(plans.map((p) => p.service.name));

  /** Resolves when every dependency of `service` in this run meets its condition. */
  const gate = async (service: Service) => {
    for (const dep of service.dependencies) {
      if (!inRun.has(dep.service) || dep.service === service.name) continue;
      try {
        await done.get(dep.service)?.promise;
      } catch {
        throw new DependencyError(`dependency ${dep.service} failed`);
      }
      if (!opts.start) continue;
      for (const c of registry.of(dep.service)) {
        if (dep.condition === 'service_healthy') await monitor.waitHealthy(c.id, c.name);
        if (dep.condition === 'service_completed_successfully') await monitor.waitCompleted(c.id, c.name);
      }
    }
  };

  const steps: Step[] = [];
  for (const p of plans) {
    const { service } = p;
    const serviceSteps: Promise<unknown>[] = [];
    const step = (title: string, run: () => Promise<string | void>, gated: boolean) => {
      const finished = new Deferred();
      serviceSteps.push(finished.promise);
      steps.push({
        title,
        run: async () => {
          try {
            if (gated) await gate(service);
            const outcome = await run();
            finished.resolve();
            return outcome;
          } catch (e) {
            finished.reject(e);
            throw e;
          }
        },
      });
    };
    for (const a of p.actions) {
      if (a.kind === 'remove') {
        step(`Stopping and removing ${a.container.name}`, () => stopAndRemove(rt, registry, service, a.container, opts.timeout, false), false);
      } else if (a.kind === 'create') {
        const name = service.containerName ?? containerName(rt.deployment.name, service.name, a.number);
        step(`Creating ${name}`, async () => {
          const ref = await createServiceContainer(rt, registry, service, { number: a.number, configHash: p.hash, configLabel: p.label });
          if (opts.start) await startServiceContainer(rt, registry, service.name, ref);
        }, true);
      } else if (a.kind === 'recreate') {
        step(`Recreating ${a.container.name}`, async () => {
          const opt = { configHash: p.hash, configLabel: p.label, renewAnonymousVolumes: opts.renewAnonymousVolumes, start: opts.start };
          await recreateServiceContainer(rt, registry, service, a.container, opts.timeout === undefined ? opt : { ...opt, timeout: opts.timeout });
        }, true);
      } else if (a.kind === 'start') {
        if (!opts.start) continue;
        const ref = { id: a.container.id, name: a.container.name, number: a.container.number, running: false };
        step(`Starting ${a.container.name}`, () => startServiceContainer(rt, registry, service.name, ref), true);
      } else {
        rt.progress.line(`${a.container.name} is up-to-date`);
      }
    }
    // The service is there once all its containers are; a failure fails its dependants.
    void Promise.all(serviceSteps).then(
      () => done.get(service.name)?.resolve(),
      (e: unknown) => done.get(service.name)?.reject(e),
    );
  }
  return steps;
}

async function waitForRunning(rt: ProjectRuntime, services: readonly Service[], registry: ContainerRegistry, monitor: ContainerMonitor): Promise<void> {
  const steps: Step[] = [];
  for (const s of services) {
    for (const c of registry.of(s.name)) {
      steps.push({
        title: `Waiting for ${c.name}`,
        run: async () => {
          const info = await rt.engine.inspectContainer(c.id);
          if (!info) throw new DependencyError('container disappeared');
          if (info.state.health) await monitor.waitHealthy(c.id, c.name);
          else if (!info.state.running) throw new DependencyError(`exited with code ${info.state.exitCode}`);
          return info.state.health ? 'healthy' : 'running';
        },
      });
    }
  }
  failOnErrors(await rt.progress.run(steps), 'Some containers did not become ready.');
}
