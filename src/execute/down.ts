/**
 * `down`: stop and remove the project's containers (one-offs included; orphans with
 * --remove-orphans), then its networks, then with -v its volumes, then with --rmi its images.
 *
 * Containers stop in reverse dependency order (a service stops once its dependants have), as
 * many at once as that allows. Networks and volumes are found by the project's label, so ones
 * left by an earlier version of the file go too; external ones are never touched.
 *
 * Better than docker-compose: -v also removes the anonymous volumes a container kept from the
 * container it replaced (docker-compose leaks those, as they are mounted by name), and with
 * `-t 0` a container is removed in one call (a forced removal kills it) instead of stop + remove,
 * all containers at once (the kill is immediate, so dependency order would only add waiting).
 */
import { ErrorList, FlotillaError } from '../errors.js';
import type { Service } from '../model/service.js';
import { dependencyNames } from '../model/select.js';
import { isNotFound } from '../contract/errors.js';
import { observe, type ObservedContainer } from '../plan/observe.js';
import { projectFilter } from '../plan/labels.js';
import { ANONYMOUS_VOLUME, ContainerRegistry, stopTimeout } from './containers.js';
import { removeVolume } from './resources.js';
import type { ProjectRuntime } from './runtime.js';
import type { Step } from './progress.js';

export interface DownOptions {
  volumes: boolean;
  removeOrphans: boolean;
  rmi?: 'local' | 'all';
  timeout?: number;
}

export async function down(rt: ProjectRuntime, opts: DownOptions): Promise<void> {
  const { engine, deployment } = rt;
  const observed = await observe(engine, deployment.name);
  const known = new Map(deployment.services.map((s) => [s.name, s]));
  const orphans = observed.containers.filter((c) => !c.oneOff && !known.has(c.service));
  const targets = observed.containers.filter((c) => c.oneOff || known.has(c.service) || opts.removeOrphans);
  if (orphans.length > 0 && !opts.removeOrphans) {
    rt.diagnostics.warn(
      `Found orphan containers (${orphans.map((o) => o.name).join(', ')}) for this project. If you removed or renamed this service ` +
        'in your compose file, you can run this command with the --remove-orphans flag to clean it up.',
    );
  }

  // Anonymous volumes to remove after their containers (when -v): read before removal.
  const anonymous = new Set<string>();
  if (opts.volumes) {
    const infos = await Promise.all(targets.map((c) => rt.limiter.run(() => engine.inspectContainer(c.id))));
    for (const info of infos) for (const m of info?.mounts ?? []) if (m.type === 'volume' && m.name && ANONYMOUS_VOLUME.test(m.name)) anonymous.add(m.name);
  }

  await rt.progress.run(removalSteps(rt, targets, { timeout: opts.timeout, volumes: opts.volumes })).then((results) => {
    const failed = results.filter((r) => r.error !== undefined);
    if (failed.length > 0) {
      throw new ErrorList(failed.map((r) => new FlotillaError(`for ${r.title.replace(/^Removing /, '')}: ${(r.error as Error).message}`)));
    }
  });

  const steps: Step[] = [];
  // By id: a name two concurrent runs both created is ambiguous.
  for (const n of await engine.listNetworks(projectFilter(deployment.name))) {
    steps.push({
      title: `Removing network ${n.name}`,
      run: async () => {
        try {
          await engine.removeNetwork(n.id);
        } catch (e) {
          if (isNotFound(e)) return 'already gone';
          // Containers of other projects (or orphans left running) keep it in use: warn and go on.
          rt.diagnostics.warn(`error while removing network ${n.name}: ${(e as Error).message}`);
          return 'in use';
        }
      },
    });
  }
  if (opts.volumes) {
    for (const v of observed.volumes.values()) steps.push({ title: `Removing volume ${v.name}`, run: () => removeVolume(rt, v.name).then(() => {}) });
    for (const name of anonymous) {
      if (observed.volumes.has(name)) continue;
      steps.push({ title: `Removing volume ${name.slice(0, 12)}`, run: () => removeVolume(rt, name).then(() => {}) });
    }
  }
  if (opts.rmi) {
    const images = new Set<string>();
    for (const s of deployment.services) if (opts.rmi === 'all' || (s.build && !s.imageDeclared)) images.add(s.image);
    for (const image of images) {
      steps.push({
        title: `Removing image ${image}`,
        run: async () => {
          try {
            await engine.removeImage(image);
          } catch (e) {
            if (isNotFound(e)) {
              rt.diagnostics.warn(`Image ${image} not found.`);
              return 'not found';
            }
            throw e;
          }
        },
      });
    }
  }
  const results = await rt.progress.run(steps);
  const failed = results.filter((r) => r.error !== undefined);
  if (failed.length > 0) throw new ErrorList(failed.map((r) => new FlotillaError(`${r.title}: ${(r.error as Error).message}`)));
}

/** Stop-and-remove steps: a service's containers go once its dependants' are gone. */
export function removalSteps(rt: ProjectRuntime, targets: readonly ObservedContainer[], opts: { timeout?: number | undefined; volumes: boolean }): Step[] {
  const byService = new Map<string, ObservedContainer[]>();
  for (const c of targets) byService.set(c.service, [...(byService.get(c.service) ?? []), c]);
  const services = new Map(rt.deployment.services.map((s) => [s.name, s]));
  const dependants = new Map<string, string[]>();
  for (const s of rt.deployment.services) {
    for (const d of dependencyNames(s)) dependants.set(d, [...(dependants.get(d) ?? []), s.name]);
  }
  const gone = new Map<string, Promise<unknown>>();
  const registry = new ContainerRegistry([]);
  const steps: Step[] = [];
  const pending = new Map<string, Promise<unknown>[]>();
  for (const [service, containers] of byService) {
    const list: Promise<unknown>[] = [];
    for (const c of containers) {
      let finish!: (v: unknown) => void;
      list.push(new Promise((r) => (finish = r)));
      steps.push({
        title: `Removing ${c.name}`,
        run: async () => {
          try {
            // Dependants first (one-off containers do not wait). With -t 0 every process is killed
            // outright, so the order shows nowhere and everything goes at once.
            if (!c.oneOff && opts.timeout !== 0) for (const d of dependants.get(service) ?? []) await gone.get(d);
            await removeContainer(rt, registry, services.get(service), c, opts.timeout, opts.volumes);
          } finally {
            finish(undefined);
          }
        },
      });
    }
    pending.set(service, list);
  }
  for (const [service, list] of pending) gone.set(service, Promise.all(list));
  return steps;
}

async function removeContainer(rt: ProjectRuntime, registry: ContainerRegistry, service: Service | undefined, c: ObservedContainer, timeout: number | undefined, volumes: boolean): Promise<void> {
  const t = service ? stopTimeout(service, timeout) : (timeout ?? 10);
  await rt.limiter.run(async () => {
    try {
      if (c.running && t > 0) await rt.engine.stopContainer(c.id, t);
      await rt.engine.removeContainer(c.id, { force: true, volumes });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  });
  registry.remove(c.service, c.id);
}
