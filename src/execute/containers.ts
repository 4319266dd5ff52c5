/**
 * Operations on one container, as docker-compose performs them: create (with the service's spec),
 * recreate (stop, rename the old one out of the way, create the new one keeping the old one's
 * anonymous volumes, start it, remove the old one), start, stop-and-remove.
 *
 * Concurrent runs on one project never duplicate a container: names are deterministic, so when a
 * create meets a name conflict, another run made that container and it is used as is.
 */
import { isConflict, isNotFound } from '../contract/errors.js';
import type { ContainerInfo, Engine } from '../contract/engine.js';
import type { Service } from '../model/service.js';
import { containerSpec, type RunningContainerRef, type SpecContext } from '../plan/container-spec.js';
import { LABEL } from '../plan/labels.js';
import type { ObservedContainer } from '../plan/observed.js';
import type { ContainerRef } from '../plan/plan.js';
import { runPostStart, runPreStop } from './hooks.js';
import type { ProjectRuntime } from './runtime.js';

/** A container of a service as the run knows it. */
export interface RegisteredContainer {
  id: string;
  name: string;
  number: number;
  running: boolean;
}

/** What the run knows of each service's containers, kept current as it creates and removes them. */
export class ContainerRegistry {
  private readonly byService = new Map<string, RegisteredContainer[]>();

  constructor(observed: readonly ObservedContainer[]) {
    for (const c of observed) {
      if (c.oneOff) continue;
      this.add(c.service, { id: c.id, name: c.name, number: c.number, running: c.running });
    }
  }

  add(service: string, ref: RegisteredContainer): void {
    const list = (this.byService.get(service) ?? []).filter((c) => c.id !== ref.id);
    list.push(ref);
    list.sort((a, b) => Number(b.running) - Number(a.running) || a.number - b.number);
    this.byService.set(service, list);
  }

  remove(service: string, id: string): void {
    this.byService.set(service, (this.byService.get(service) ?? []).filter((c) => c.id !== id));
  }

  of(service: string): RegisteredContainer[] {
    return this.byService.get(service) ?? [];
  }

  refs(service: string): RunningContainerRef[] {
    return this.of(service).map(({ id, name }) => ({ id, name }));
  }
}

export interface CreateOptions {
  number: number;
  configHash: string;
  configLabel: string;
  inheritVolumes?: Record<string, string>;
}

function specContext(rt: ProjectRuntime, registry: ContainerRegistry, opts: CreateOptions): SpecContext {
  const ctx: SpecContext = {
    deployment: rt.deployment,
    number: opts.number,
    configHash: opts.configHash,
    configLabel: opts.configLabel,
    containersOf: (s) => registry.refs(s),
  };
  if (opts.inheritVolumes) ctx.inheritVolumes = opts.inheritVolumes;
  return ctx;
}

/**
 * Runs an engine call again while a network it names is ambiguous: two concurrent runs can each
 * create the project's network (the engine's duplicate-name check is not atomic), until the one
 * that lost removes its own a moment later (resources.ts).
 */
async function whileNetworkAmbiguous<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (attempt >= 50 || !/network .* is ambiguous|matches found based on name/.test((e as Error).message)) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Creates a service container; a name taken by a concurrent run means that run's container is used. */
export async function createServiceContainer(rt: ProjectRuntime, registry: ContainerRegistry, service: Service, opts: CreateOptions): Promise<RegisteredContainer> {
  const spec = containerSpec(service, specContext(rt, registry, opts));
  let id: string;
  try {
    id = await whileNetworkAmbiguous(() => rt.limiter.run(() => rt.engine.createContainer(spec)));
  } catch (e) {
    if (!isConflict(e)) throw e;
    // The engine reserves a name before the container it names can be inspected: a concurrent
    // run's container may take a moment to appear.
    let existing = await rt.engine.inspectContainer(spec.name);
    for (let attempt = 0; !existing && attempt < 30; attempt++) {
      await new Promise((r) => setTimeout(r, 100));
      existing = await rt.engine.inspectContainer(spec.name);
    }
    if (!existing || existing.labels[LABEL.project] !== rt.deployment.name || existing.labels[LABEL.service] !== service.name) throw e;
    id = existing.id;
  }
  const ref = { id, name: spec.name, number: opts.number, running: false };
  registry.add(service.name, ref);
  return ref;
}

/** Starts a service container, then runs its post_start hooks: a failing hook fails the start, as in Compose v2. */
export async function startServiceContainer(rt: ProjectRuntime, registry: ContainerRegistry, service: string, ref: RegisteredContainer): Promise<void> {
  try {
    await whileNetworkAmbiguous(() => rt.limiter.run(() => rt.engine.startContainer(ref.id)));
  } catch (e) {
    throw new Error(`cannot start service ${service}: ${(e as Error).message}`);
  }
  registry.add(service, { ...ref, running: true });
  await runPostStart(rt, { ...ref, service });
}

/** Stops a container after its service's pre_stop hooks (a one-off container runs none). */
export async function stopServiceContainer(rt: ProjectRuntime, c: ContainerRef, timeout: number): Promise<void> {
  if (c.running) await runPreStop(rt, c);
  await rt.limiter.run(() => rt.engine.stopContainer(c.id, timeout));
}

/** The name the engine gives a volume made without one (an anonymous volume). */
export const ANONYMOUS_VOLUME = /^[0-9a-f]{64}$/;

/**
 * The anonymous volumes of a container that its replacement keeps: those mounted where the service
 * (or its image) declares a volume without a source. Bind mounts and named volumes are not data
 * the container owns.
 */
async function inheritableVolumes(engine: Engine, service: Service, containerId: string, known?: ContainerInfo | null): Promise<Record<string, string>> {
  const info = known === undefined ? await engine.inspectContainer(containerId) : known;
  if (!info) return {};
  const image = await engine.inspectImage(info.imageId);
  const anonymous = new Set<string>([
    ...service.mounts.filter((m) => m.type === 'volume' && m.source === undefined).map((m) => m.target),
    ...(image?.config.volumes ?? []),
  ]);
  const tmpfs = new Set(service.tmpfs.map((t) => t.target));
  const out: Record<string, string> = {};
  for (const m of info.mounts) {
    if (m.type === 'volume' && m.name && anonymous.has(m.destination) && !tmpfs.has(m.destination)) out[m.destination] = m.name;
  }
  return out;
}

export async function recreateServiceContainer(
  rt: ProjectRuntime,
  registry: ContainerRegistry,
  service: Service,
  old: ContainerRef,
  opts: Omit<CreateOptions, 'number' | 'inheritVolumes'> & { timeout: number; renewAnonymousVolumes: boolean; start: boolean },
): Promise<RegisteredContainer> {
  const { engine } = rt;
  await stopServiceContainer(rt, old, opts.timeout);
  const info = await engine.inspectContainer(old.id);
  const inheritVolumes = opts.renewAnonymousVolumes ? {} : await inheritableVolumes(engine, service, old.id, info);
  // Out of the way, so the new container can take the name; an interrupted run leaves it labelled
  // and numbered, and the next run removes it as a duplicate.
  if (!old.name.startsWith(`${old.id.slice(0, 12)}_`)) {
    await rt.limiter.run(() => engine.renameContainer(old.id, `${old.id.slice(0, 12)}_${old.name}`));
  }
  registry.remove(service.name, old.id);
  const ref = await createServiceContainer(rt, registry, service, { ...opts, number: old.number, inheritVolumes });
  if (opts.start) await startServiceContainer(rt, registry, service.name, ref);
  await removeQuietly(rt, old.id, false);
  // The old container's anonymous volumes that the new one does not keep (renewed with -V, or no
  // longer declared): nothing would ever find them again (docker-compose leaves them behind). One
  // still in use (volumes_from) stays.
  const kept = new Set(Object.values(inheritVolumes));
  for (const m of info?.mounts ?? []) {
    if (m.type !== 'volume' || !m.name || !ANONYMOUS_VOLUME.test(m.name) || kept.has(m.name)) continue;
    const name = m.name;
    await rt.limiter.run(() => engine.removeVolume(name)).catch((e: unknown) => {
      if (!isNotFound(e) && !isConflict(e)) rt.diagnostics.warn(`could not remove volume ${name}: ${(e as Error).message}`);
    });
  }
  return ref;
}

/** Stops a container (unless `timeout` is 0: the forced removal kills it) and removes it; one already gone is fine. */
export async function removeContainer(rt: ProjectRuntime, c: ContainerRef, opts: { timeout: number; volumes: boolean }): Promise<void> {
  if (c.running) await runPreStop(rt, c);
  await rt.limiter.run(async () => {
    try {
      if (c.running && opts.timeout > 0) await rt.engine.stopContainer(c.id, opts.timeout);
      await rt.engine.removeContainer(c.id, { force: true, volumes: opts.volumes });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  });
}

async function removeQuietly(rt: ProjectRuntime, id: string, volumes: boolean): Promise<void> {
  try {
    await rt.limiter.run(() => rt.engine.removeContainer(id, { force: true, volumes }));
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}
