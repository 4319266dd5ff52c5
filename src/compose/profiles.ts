/**
 * Which services a command acts on, with profiles as docker-compose 1.29.2 applies them: a service
 * without `profiles` is always enabled, one with profiles only when one of them is enabled
 * (`--profile`, else COMPOSE_PROFILES); a service named on the command line enables its own
 * profiles. Services keep the project's (dependency) order.
 */
import { UsageError } from '../errors.js';
import type { Project, Service } from '../model/project.js';
import { dependenciesOf } from '../graph/dependencies.js';

const dependencyNames = (s: Service): string[] => [...new Set(dependenciesOf(s).map((d) => d.on))];

export function enabledFor(service: Service, profiles: readonly string[]): boolean {
  const own = service.profiles ?? [];
  return own.length === 0 || own.some((p) => profiles.includes(p));
}

export function selectServices(project: Project, profiles: readonly string[], names?: readonly string[]): Service[] {
  if (!names || names.length === 0) return project.services.filter((s) => enabledFor(s, profiles));
  for (const name of names) {
    if (!project.services.some((s) => s.name === name)) throw new UsageError(`no such service: ${name}`);
  }
  return project.services.filter((s) => names.includes(s.name));
}

/**
 * The selected services plus everything they depend on, in the project's order. A dependency whose
 * profiles are not enabled is an error, as in docker-compose (profiles of services named on the
 * command line count as enabled).
 */
export function withDependencies(project: Project, selected: readonly Service[], profiles: readonly string[], named: readonly string[]): Service[] {
  const enabled = new Set(profiles);
  for (const s of selected) if (named.includes(s.name)) for (const p of s.profiles ?? []) enabled.add(p);
  const byName = new Map(project.services.map((s) => [s.name, s]));
  const wanted = new Set<string>();
  const visit = (s: Service, from?: Service) => {
    if (wanted.has(s.name)) return;
    if (from && !enabledFor(s, [...enabled])) {
      throw new UsageError(
        `service "${s.name}" was pulled in as a dependency of service "${from.name}" but is not enabled by the active profiles; ` +
          `add a common profile to "${s.name}" and "${from.name}"`,
      );
    }
    wanted.add(s.name);
    for (const dep of dependencyNames(s)) {
      const d = byName.get(dep);
      if (d) visit(d, s);
    }
  };
  for (const s of selected) visit(s);
  return project.services.filter((s) => wanted.has(s.name));
}
