/**
 * `up`: converge the engine to the deployment.
 *
 *   1. select services (named ones plus their dependencies, profiles applied); refuse what up
 *      refuses (undefined networks, container_name with scale, ...) before touching the engine;
 *   2. observe the project's containers, and the images, networks and volumes it names;
 *   3. plan (src/plan/up.ts): one DAG of pulls, builds, networks, volumes, orphans and
 *      containers, each step with its reason; `--dry-run` returns it here;
 *   4. walk the preparing steps (a failed pull leaves nothing behind: everything else comes after
 *      the pulls), then plan the containers again with the images the engine now has (the config
 *      hash includes the image's Id), and walk them: each service after its dependencies, a wait
 *      step for a condition (healthy, completed successfully); a failed step skips its dependants
 *      and the rest carry on.
 */
import { ConfigError, ErrorList, FlotillaError, UsageError } from '../errors.js';
import type { Service } from '../model/service.js';
import { selectServices, withDependencies } from '../model/select.js';
import { isContainerStep, orphansOf, planPrepare, planUp, usedNetworks, type UpPlanOptions } from '../plan/up.js';
import type { Observed } from '../plan/observed.js';
import type { Plan } from '../plan/plan.js';
import { ContainerMonitor, DependencyError } from './monitor.js';
import { ContainerRegistry } from './containers.js';
import { observe } from './observe.js';
import { failOnErrors, runPlan } from './run-plan.js';
import { refuseUnbuildable } from './images.js';
import type { ProjectRuntime } from './runtime.js';
import { walk, type WalkStep } from './walker.js';

/** The plan's options, and what only the command uses: which services, --no-deps, --dry-run, --wait. */
export interface UpOptions extends Omit<UpPlanOptions, 'containersOnly'> {
  services: string[];
  noDeps: boolean;
  dryRun: boolean;
  /** --wait: return only when every container is running, and healthy if it has a healthcheck. */
  wait: boolean;
  /** --wait-timeout: seconds --wait waits at most (no limit when absent). */
  waitTimeout?: number;
}

export interface UpResult {
  services: Service[];
  registry: ContainerRegistry;
  /** The plan: what was done, or for --dry-run what would be. */
  plan: Plan;
}

function refuseUndeployable(rt: ProjectRuntime, services: readonly Service[]): void {
  const names = new Set(services.map((s) => s.name));
  const problems = rt.deployment.problems.filter((p) => names.has(p.service));
  if (problems.length === 0) return;
  const errors = problems.map((p) => new ConfigError(p.message, rt.locateService(p.service, p.keyPath)));
  throw errors.length === 1 ? errors[0] : new ErrorList(errors);
}

/** One warning per key the engines do not act on yet, where it is written. */
function warnNotActedOn(rt: ProjectRuntime, services: readonly Service[]): void {
  const names = new Set(services.map((s) => s.name));
  for (const n of rt.deployment.notActedOn) {
    if (names.has(n.service)) rt.diagnostics.warn(n.message, rt.locateService(n.service, n.keyPath));
  }
}

async function observeFor(rt: ProjectRuntime, services: readonly Service[]): Promise<Observed> {
  return observe(rt, { images: services.map((s) => s.image), networks: usedNetworks(rt.deployment, services), volumes: Object.values(rt.deployment.volumes) });
}

export async function up(rt: ProjectRuntime, opts: UpOptions): Promise<UpResult> {
  const { deployment } = rt;
  let services = selectServices(deployment, rt.profiles, opts.services);
  if (!opts.noDeps) services = withDependencies(deployment, services, rt.profiles, opts.services);
  for (const name of Object.keys(opts.scale)) {
    if (!deployment.services.some((s) => s.name === name)) throw new UsageError(`no such service: ${name}`);
  }
  refuseUndeployable(rt, services);
  warnNotActedOn(rt, services);
  // Compose v2 runs provider services through a plugin; Flotilla leaves them out (warned above).
  services = services.filter((s) => s.provider === undefined);

  const observed = await observeFor(rt, services);
  const orphans = orphansOf(deployment, observed.containers);
  if (orphans.length > 0 && !opts.removeOrphans && rt.env['COMPOSE_IGNORE_ORPHANS'] !== 'True' && rt.env['COMPOSE_IGNORE_ORPHANS'] !== '1') {
    rt.diagnostics.warn(
      `Found orphan containers (${orphans.map((o) => o.name).join(', ')}) for this project. If you removed or renamed this service ` +
        'in your compose file, you can run this command with the --remove-orphans flag to clean it up.',
    );
  }
  const planOptions: UpPlanOptions = {
    strategy: opts.strategy,
    alwaysRecreateDeps: opts.alwaysRecreateDeps,
    scale: opts.scale,
    removeOrphans: opts.removeOrphans,
    build: opts.build,
    ...(opts.pull === undefined ? {} : { pull: opts.pull }),
    renewAnonymousVolumes: opts.renewAnonymousVolumes,
    start: opts.start,
    timeout: opts.timeout,
  };
  const plan = planUp(deployment, services, observed, planOptions);
  // A build no builder here can do stops `up` before it changes anything.
  for (const step of plan.steps) {
    const op = step.operation;
    const service = op.kind === 'build-image' ? services.find((s) => s.name === op.service) : undefined;
    if (service) refuseUnbuildable(rt, service);
  }
  const registry = new ContainerRegistry(observed.containers);
  if (opts.dryRun) return { services, registry, plan };

  // The steps that prepare (images, networks, volumes, orphans), then the containers planned
  // again with the images as they are now.
  const preparing: Plan = { ...plan, steps: plan.steps.filter((s) => !isContainerStep(s)) };
  let containers: Plan = { ...plan, steps: plan.steps.filter(isContainerStep) };
  if (preparing.steps.length > 0) {
    failOnErrors(await runPlan(rt, preparing, { registry }), 'Encountered errors while preparing the project.');
    const changedImages = preparing.steps.some((s) => s.operation.kind === 'pull-image' || s.operation.kind === 'build-image');
    const now = changedImages ? { ...observed, images: (await observeFor(rt, services)).images } : observed;
    containers = planUp(deployment, services, now, { ...planOptions, containersOnly: true });
  }
  for (const name of containers.unchanged) rt.progress.line(`${name} is up-to-date`);

  const monitor = new ContainerMonitor(rt.engine, deployment.name);
  if (opts.wait || containers.steps.some((s) => s.operation.kind === 'wait-for')) monitor.start();
  try {
    failOnErrors(await runPlan(rt, containers, { registry, monitor, removal: 'Stopping and removing' }), 'Encountered errors while bringing up the project.');
    if (opts.wait && opts.start) await waitForRunning(rt, services, registry, monitor, opts.waitTimeout);
  } finally {
    monitor.stop();
  }
  return { services, registry, plan };
}

/** `up` as other commands use it (run's dependencies, watch): no scaling, orphans left alone, the containers started. */
export function upServices(rt: ProjectRuntime, services: string[], o: Pick<UpOptions, 'noDeps' | 'strategy' | 'build'>): Promise<UpResult> {
  return up(rt, { services, alwaysRecreateDeps: false, scale: {}, removeOrphans: false, renewAnonymousVolumes: false, start: true, dryRun: false, wait: false, ...o });
}

/** What `run` needs before it creates a one-off container of `service`: its image, networks and the volumes. */
export async function prepareService(rt: ProjectRuntime, service: Service): Promise<void> {
  failOnErrors(await runPlan(rt, await preparePlan(rt, service)));
}

/** prepareService's plan, without acting on it (`run --dry-run` prints it). */
export async function preparePlan(rt: ProjectRuntime, service: Service): Promise<Plan> {
  return planPrepare(rt.deployment, [service], await observeFor(rt, [service]), { build: 'when-missing', removeOrphans: false });
}

/**
 * --wait: every container running, and healthy when it has a healthcheck; a service another waits
 * for with `service_completed_successfully` is done when its containers exited 0 (Compose v2 since
 * docker/compose#9572: a one-shot container would never be "running").
 */
async function waitForRunning(rt: ProjectRuntime, services: readonly Service[], registry: ContainerRegistry, monitor: ContainerMonitor, timeout?: number): Promise<void> {
  const completing = new Set(rt.deployment.services.flatMap((s) => s.dependencies.filter((d) => d.condition === 'service_completed_successfully').map((d) => d.service)));
  const deadline = timeout === undefined ? undefined : AbortSignal.timeout(timeout * 1000);
  const steps: WalkStep[] = [];
  for (const s of services) {
    for (const c of registry.of(s.name)) {
      steps.push({
        id: c.id,
        title: `Waiting for ${c.name}`,
        after: [],
        run: async () => {
          if (completing.has(s.name)) {
            await monitor.waitCompleted(c.id, c.name, deadline);
            return 'exited 0';
          }
          const info = await rt.engine.inspectContainer(c.id);
          if (!info) throw new DependencyError('container disappeared');
          if (info.state.health) await monitor.waitHealthy(c.id, c.name, deadline);
          else if (!info.state.running) throw new DependencyError(`exited with code ${info.state.exitCode}`);
          return info.state.health ? 'healthy' : 'running';
        },
      });
    }
  }
  const failed = await walk(steps, { progress: rt.progress });
  if (deadline?.aborted) throw new FlotillaError(`application not healthy after ${timeout ?? 0}s`);
  failOnErrors(failed, 'Some containers did not become ready.');
}
