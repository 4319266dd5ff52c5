/**
 * The dependency graph of a project's services: what must start before what. A service depends
 * on the services it names in `depends_on` (with a condition), `links`, `volumes_from` and
 * `network_mode`/`pid`/`ipc: service:NAME`.
 */
import { ConfigError } from '../errors.js';
import type { DependsOn, Service } from '../model/project.js';

export type DependencyKind = 'depends_on' | 'links' | 'volumes_from' | 'network_mode' | 'pid' | 'ipc';

export interface Dependency {
  /** The service that must be there first. */
  on: string;
  kind: DependencyKind;
  /** For depends_on: what "there" means (started, healthy, completed successfully). */
  condition: DependsOn['condition'];
}

function serviceRef(mode: unknown): string | undefined {
  return typeof mode === 'string' && mode.startsWith('service:') ? mode.slice('service:'.length) || undefined : undefined;
}

/** Everything `service` needs before it, in a stable order; a service named twice is listed once per kind. */
export function dependenciesOf(service: Service): Dependency[] {
  const out: Dependency[] = [];
  for (const [on, dep] of Object.entries(service.depends_on ?? {})) out.push({ on, kind: 'depends_on', condition: dep.condition });
  for (const link of service.links ?? []) {
    out.push({ on: link.split(':')[0] ?? link, kind: 'links', condition: 'service_started' });
  }
  for (const vf of service.volumes_from ?? []) {
    if (vf.type === 'service') out.push({ on: vf.source, kind: 'volumes_from', condition: 'service_started' });
  }
  for (const kind of ['network_mode', 'pid', 'ipc'] as const) {
    const on = serviceRef(service[kind]);
    if (on !== undefined) out.push({ on, kind, condition: 'service_started' });
  }
  return out;
}

export class DependencyCycleError extends ConfigError {
  constructor(readonly cycle: string[]) {
    super(
      cycle.length === 2
        ? `service '${cycle[0]}' depends on itself`
        : `dependency cycle between services: ${cycle.join(' -> ')}`,
    );
  }
}

/**
 * Services ordered so that each comes after everything it depends on. Ties keep docker-compose
 * 1.29.2's order (a depth-first walk from the last service), so `config --services` lists
 * services the way it does. A cycle is an error naming the services in it, in order.
 */
export function dependencyOrder(services: readonly Service[]): Service[] {
  const dependents = new Map<string, Service[]>(services.map((s) => [s.name, []]));
  for (const s of services) {
    // docker-compose also orders by `volumes_from: container:NAME` when NAME is a service (its
    // sort ignores the type), so a cycle through one is refused as it refuses it.
    const containerSources = (s.volumes_from ?? []).filter((v) => v.type === 'container').map((v) => v.source);
    for (const d of new Set([...dependenciesOf(s).map((x) => x.on), ...containerSources])) dependents.get(d)?.push(s);
  }
  const sorted: Service[] = [];
  const done = new Set<string>();
  const onPath: string[] = [];
  const visit = (s: Service): void => {
    const at = onPath.indexOf(s.name);
    if (at !== -1) {
      // onPath runs from a dependency to its dependents; a cycle reads better as "x needs y".
      throw new DependencyCycleError([...onPath.slice(at), s.name].reverse());
    }
    if (done.has(s.name)) return;
    onPath.push(s.name);
    for (const d of dependents.get(s.name) ?? []) visit(d);
    onPath.pop();
    done.add(s.name);
    sorted.unshift(s);
  };
  for (let i = services.length - 1; i >= 0; i--) {
    const s = services[i] as Service;
    if (!done.has(s.name)) visit(s);
  }
  return sorted;
}

/**
 * Start levels for parallel work: level 0 needs nothing, level n needs only services of lower
 * levels. Names within a level are sorted.
 */
export function startLevels(services: readonly Service[]): string[][] {
  const byName = new Map(services.map((s) => [s.name, s]));
  const level = new Map<string, number>();
  const levelOf = (s: Service): number => {
    const known = level.get(s.name);
    if (known !== undefined) return known;
    let l = 0;
    for (const d of dependenciesOf(s)) {
      const dep = byName.get(d.on);
      if (dep && dep !== s) l = Math.max(l, levelOf(dep) + 1);
    }
    level.set(s.name, l);
    return l;
  };
  for (const s of dependencyOrder(services)) levelOf(s);
  const levels: string[][] = [];
  for (const [name, l] of level) (levels[l] ??= []).push(name);
  return levels.map((names) => names.sort());
}
