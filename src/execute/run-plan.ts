/**
 * Runs a plan (src/plan/) on the engine: each step becomes an engine action with the title the
 * progress display shows (docker-compose's wording: `Creating demo_web_1 ... done`), and the one
 * walker (./walker.ts) runs them in the plan's direction. Failures come back as the walk's results;
 * `failOnErrors` turns them into docker-compose's `ERROR: for <what>: <why>` lines.
 */
import { ErrorList, FlotillaError } from '../errors.js';
import { isNotFound } from '../contract/errors.js';
import type { Service } from '../model/service.js';
import type { Operation, Plan, PlanStep } from '../plan/plan.js';
import { ContainerRegistry, createServiceContainer, recreateServiceContainer, removeContainer, startServiceContainer, stopServiceContainer } from './containers.js';
import { runPostStart, runPreStop } from './hooks.js';
import { buildServiceImage } from './images.js';
import type { ContainerMonitor } from './monitor.js';
import { createNetworkOnce, removeVolume, volumeSpec } from './resources.js';
import type { ProjectRuntime } from './runtime.js';
import { failureOf, walk, type WalkResult, type WalkStep } from './walker.js';

export interface RunPlanOptions {
  /** The containers the run knows, kept current as steps create and remove them. */
  registry?: ContainerRegistry;
  /** For wait steps (depends_on conditions). */
  monitor?: ContainerMonitor;
  /** How a removal is titled: `down` and `rm` say "Removing", up's scale-down "Stopping and removing". */
  removal?: 'Removing' | 'Stopping and removing';
  /** `start` names services in its titles ("Starting web"), as docker-compose does. */
  startTitle?: 'container' | 'service';
}

const driverWords = (driver: string | undefined) => (driver ? `driver "${driver}"` : 'the default driver');

function titleOf(step: PlanStep, options: RunPlanOptions = {}): string {
  const op = step.operation;
  switch (op.kind) {
    case 'pull-image':
      return `Pulling ${op.service} (${op.image})`;
    case 'build-image':
      return `Building ${op.service}`;
    case 'remove-image':
      return `Removing image ${op.image}`;
    case 'create-network':
      return `Creating network "${op.network.name}" with ${driverWords(op.network.driver)}`;
    case 'remove-network':
      return `Removing network ${op.name}`;
    case 'create-volume':
      return `Creating volume "${op.volume.name}" with ${driverWords(op.volume.driver)}`;
    case 'remove-volume':
      return `Removing volume ${op.anonymous ? op.name.slice(0, 12) : op.name}`;
    case 'create-container':
      return `Creating ${op.name}`;
    case 'recreate-container':
      return `Recreating ${op.container.name}`;
    case 'start-container':
      return `Starting ${options.startTitle === 'service' ? op.container.service : op.container.name}`;
    case 'stop-container':
      return `Stopping ${op.container.name}`;
    case 'restart-container':
      return `Restarting ${op.container.name}`;
    case 'kill-container':
      return `Killing ${op.container.name}`;
    case 'pause-container':
      return `Pausing ${op.container.name}`;
    case 'unpause-container':
      return `Unpausing ${op.container.name}`;
    case 'remove-container':
      if (step.id.startsWith('orphan:')) return `Removing orphan container "${op.container.name}"`;
      return `${options.removal ?? 'Removing'} ${op.container.name}`;
    case 'wait-for':
      return `Waiting for ${op.service} to be ${op.condition === 'service_healthy' ? 'healthy' : 'completed successfully'}`;
  }
}

function serviceNamed(rt: ProjectRuntime, name: string): Service {
  const s = rt.deployment.services.find((x) => x.name === name);
  if (!s) throw new FlotillaError(`no such service: ${name}`);
  return s;
}

async function perform(rt: ProjectRuntime, op: Operation, registry: ContainerRegistry, options: RunPlanOptions): Promise<string | void> {
  const { engine, limiter } = rt;
  switch (op.kind) {
    case 'pull-image':
      return limiter.run(() => engine.pullImage(op.image));
    case 'build-image':
      return buildServiceImage(rt, serviceNamed(rt, op.service));
    case 'remove-image':
      try {
        await limiter.run(() => engine.removeImage(op.image));
        return undefined;
      } catch (e) {
        if (!isNotFound(e)) throw e;
        rt.diagnostics.warn(`Image ${op.image} not found.`);
        return 'not found';
      }
    case 'create-network':
      return createNetworkOnce(rt, op.network);
    case 'remove-network':
      try {
        await limiter.run(() => engine.removeNetwork(op.id));
        return undefined;
      } catch (e) {
        if (isNotFound(e)) return 'already gone';
        // Containers of other projects (or orphans left running) keep it in use: warn and go on.
        rt.diagnostics.warn(`error while removing network ${op.name}: ${(e as Error).message}`);
        return 'in use';
      }
    case 'create-volume':
      await limiter.run(() => engine.createVolume(volumeSpec(rt.deployment, op.volume)));
      return undefined;
    case 'remove-volume':
      await removeVolume(rt, op.name);
      return undefined;
    case 'create-container': {
      const ref = await createServiceContainer(rt, registry, serviceNamed(rt, op.service), { number: op.number, configHash: op.hash.hash, configLabel: op.hash.label });
      if (op.start) await startServiceContainer(rt, registry, op.service, ref);
      return undefined;
    }
    case 'recreate-container':
      await recreateServiceContainer(rt, registry, serviceNamed(rt, op.container.service), op.container, {
        configHash: op.hash.hash,
        configLabel: op.hash.label,
        timeout: op.timeout,
        renewAnonymousVolumes: op.renewAnonymousVolumes,
        start: op.start,
      });
      return undefined;
    case 'start-container':
      if (options.startTitle === 'service') {
        await limiter.run(() => engine.startContainer(op.container.id));
        await runPostStart(rt, op.container);
        return undefined;
      }
      return startServiceContainer(rt, registry, op.container.service, { id: op.container.id, name: op.container.name, number: op.container.number, running: false });
    case 'stop-container':
      return stopServiceContainer(rt, op.container, op.timeout);
    case 'restart-container': {
      // As Compose v2's restart: pre_stop hooks, the restart, post_start hooks.
      if (op.container.running) await runPreStop(rt, op.container);
      await limiter.run(() => engine.restartContainer(op.container.id, op.timeout));
      await runPostStart(rt, op.container);
      return undefined;
    }
    case 'kill-container':
      return limiter.run(() => engine.killContainer(op.container.id, op.signal));
    case 'pause-container':
      return limiter.run(() => engine.pauseContainer(op.container.id));
    case 'unpause-container':
      return limiter.run(() => engine.unpauseContainer(op.container.id));
    case 'remove-container':
      await removeContainer(rt, op.container, { timeout: op.timeout, volumes: op.volumes });
      registry.remove(op.container.service, op.container.id);
      return undefined;
    case 'wait-for': {
      const monitor = options.monitor;
      if (!monitor) throw new FlotillaError(`cannot wait for ${op.service}: nothing follows the engine's events`);
      for (const c of registry.of(op.service)) {
        if (op.condition === 'service_healthy') await monitor.waitHealthy(c.id, c.name);
        else await monitor.waitCompleted(c.id, c.name);
      }
      return op.condition === 'service_healthy' ? 'healthy' : 'completed';
    }
  }
}

/** Walks the plan: its steps as engine actions, in its direction, dependants of a failure skipped. */
export async function runPlan(rt: ProjectRuntime, plan: Plan, options: RunPlanOptions = {}): Promise<WalkResult[]> {
  if (rt.dryRun) {
    rt.dryRun(plan);
    return [];
  }
  const registry = options.registry ?? new ContainerRegistry([]);
  const steps = plan.steps.map(
    (s: PlanStep): WalkStep => ({ id: s.id, title: titleOf(s, options), after: s.after, run: () => perform(rt, s.operation, registry, options) }),
  );
  return walk(steps, { progress: rt.progress, direction: plan.direction, concurrency: rt.limiter.limit });
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** What a title names: "Creating demo_web_1" → "demo_web_1". */
function subject(title: string): string {
  return title.replace(/^(Creating|Recreating|Starting|Stopping|Restarting|Killing|Pausing|Unpausing|Pulling|Building|Removing orphan container|Stopping and removing|Removing|Waiting for) /, '');
}

/** The failed and skipped steps as `for <what>: <why>` errors, the `summary` last; nothing when all went well. */
export function failures(results: readonly WalkResult[], summary?: string): FlotillaError[] {
  const errors: FlotillaError[] = [];
  for (const r of results) {
    if (r.status === 'failed') errors.push(new FlotillaError(`for ${subject(r.title)}: ${message(r.error)}`));
    else if (r.status === 'skipped') {
      const cause = r.cause.title.charAt(0).toLowerCase() + r.cause.title.slice(1);
      errors.push(new FlotillaError(`for ${subject(r.title)}: not done, because ${cause} failed: ${message(failureOf(r))}`));
    }
  }
  if (errors.length > 0 && summary !== undefined) errors.push(new FlotillaError(summary));
  return errors;
}

export function failOnErrors(results: readonly WalkResult[], summary?: string): void {
  const errors = failures(results, summary);
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new ErrorList(errors);
}
