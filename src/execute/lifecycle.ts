/**
 * The container commands on a project's existing containers, each one plan walked by the one
 * walker: stop and restart dependants first (reverse dependency order), start dependencies first,
 * kill, pause and unpause all at once, rm dependants first. Containers are found by label;
 * services named on the command line narrow the set.
 */
import { FlotillaError, UsageError } from '../errors.js';
import { planKill, planPause, planRemove, planRestart, planStart, planStop } from '../plan/down.js';
import type { ObservedContainer } from '../plan/observed.js';
import type { Plan } from '../plan/plan.js';
import { observeContainers } from './observe.js';
import { failOnErrors, runPlan, type RunPlanOptions } from './run-plan.js';
import type { ProjectRuntime } from './runtime.js';

export interface Which {
  oneOff: 'exclude' | 'include' | 'only';
  /** Only running (true) or stopped (false) containers; both when undefined. */
  running?: boolean;
}

/** The project's containers for the named services (all services when none are named), by name. */
export async function containersOf(rt: ProjectRuntime, services: readonly string[], which: Which): Promise<ObservedContainer[]> {
  const { deployment } = rt;
  for (const s of services) if (!deployment.services.some((x) => x.name === s)) throw new UsageError(`no such service: ${s}`);
  const all = await observeContainers(rt.engine, deployment.name);
  return all
    .filter((c) => (services.length === 0 ? deployment.services.some((s) => s.name === c.service) : services.includes(c.service)))
    .filter((c) => (which.oneOff === 'exclude' ? !c.oneOff : which.oneOff === 'only' ? c.oneOff : true))
    .filter((c) => (which.running === undefined ? true : c.running === which.running))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

async function run(rt: ProjectRuntime, plan: Plan, options: RunPlanOptions = {}): Promise<void> {
  failOnErrors(await runPlan(rt, plan, options));
}

/** `stop`: running containers (one-offs too, unless `oneOffs` is false), dependants first. */
export async function stop(rt: ProjectRuntime, services: readonly string[], opts: { timeout?: number | undefined; oneOffs?: boolean } = {}): Promise<void> {
  const list = await containersOf(rt, services, { oneOff: opts.oneOffs === false ? 'exclude' : 'include', running: true });
  await run(rt, planStop(rt.deployment, list, opts.timeout));
}

/** `start`: the stopped service containers, dependencies first. */
export async function start(rt: ProjectRuntime, services: readonly string[]): Promise<void> {
  const list = await containersOf(rt, services, { oneOff: 'exclude' });
  if (list.length === 0) throw new FlotillaError('No containers to start');
  await run(rt, planStart(rt.deployment, list.filter((c) => !c.running)), { startTitle: 'service' });
}

/** `restart`: the service containers, dependants first. */
export async function restart(rt: ProjectRuntime, services: readonly string[], timeout?: number): Promise<void> {
  const list = await containersOf(rt, services, { oneOff: 'exclude' });
  if (list.length === 0) throw new FlotillaError('No containers to restart');
  await run(rt, planRestart(rt.deployment, list, timeout));
}

/** `kill -s SIGNAL`: the running containers (one-offs too), all at once. */
export async function kill(rt: ProjectRuntime, services: readonly string[], signal: string): Promise<void> {
  const list = await containersOf(rt, services, { oneOff: 'include', running: true });
  if (list.length === 0) throw new FlotillaError('No containers to kill');
  await run(rt, planKill(rt.deployment, list, signal));
}

/** `pause` (true) or `unpause` (false): the running service containers not yet (or still) paused. */
export async function pause(rt: ProjectRuntime, services: readonly string[], paused: boolean): Promise<void> {
  const list = (await containersOf(rt, services, { oneOff: 'exclude' })).filter((c) => (c.state === 'paused') !== paused && c.running);
  if (list.length === 0) throw new FlotillaError(`No containers to ${paused ? 'pause' : 'unpause'}`);
  await run(rt, planPause(rt.deployment, list, paused));
}

export interface RmOptions {
  /** Stop running containers first (-s). */
  stop: boolean;
  /** Their anonymous volumes too (-v). */
  volumes: boolean;
  /** Asked with the names of the stopped containers (none: told so); false keeps them. */
  confirm(names: string[]): Promise<boolean>;
}

/** `rm`: the stopped containers (one-offs too), dependants first, once confirmed. */
export async function remove(rt: ProjectRuntime, services: readonly string[], opts: RmOptions): Promise<void> {
  if (opts.stop) await stop(rt, services);
  const stopped = await containersOf(rt, services, { oneOff: 'include', running: false });
  if (!(await opts.confirm(stopped.map((c) => c.name))) || stopped.length === 0) return;
  await run(rt, planRemove(rt.deployment, stopped, { volumes: opts.volumes }));
}
