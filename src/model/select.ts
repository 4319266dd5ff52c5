/**
 * Which services a command acts on, with profiles as docker-compose 1.29.2 applies them: a service
 * without `profiles` is always enabled, one with profiles only when one of them is enabled
 * (`--profile`, else COMPOSE_PROFILES); a service named on the command line enables its own
 * profiles. Services keep the deployment's (dependency) order.
 */
import { UsageError } from '../errors.js';
import type { Deployment } from './deployment.js';
import type { Service } from './service.js';

function enabledFor(service: Service, profiles: readonly string[]): boolean {
  return service.profiles.length === 0 || service.profiles.some((p) => profiles.includes(p));
}

/** The services of a command line; unknown names are a usage error. */
export function selectServices(deployment: Deployment, profiles: readonly string[], names?: readonly string[]): Service[] {
  if (!names || names.length === 0) return deployment.services.filter((s) => enabledFor(s, profiles));
  for (const name of names) {
    if (!deployment.services.some((s) => s.name === name)) throw new UsageError(`no such service: ${name}`);
  }
  return deployment.services.filter((s) => names.includes(s.name));
}

/** The distinct services `service` needs before it (itself excluded). */
export function dependencyNames(service: Service): string[] {
  return [...new Set(service.dependencies.map((d) => d.service))].filter((d) => d !== service.name);
}

/**
 * The selected services plus everything they depend on, in the deployment's order. A dependency
 * whose profiles are not enabled is an error, as in docker-compose (profiles of services named on
 * the command line count as enabled).
 */
export function withDependencies(deployment: Deployment, selected: readonly Service[], profiles: readonly string[], named: readonly string[]): Service[] {
  const enabled = new Set(profiles);
  for (const s of selected) if (named.includes(s.name)) for (const p of s.profiles) enabled.add(p);
  const byName = new Map(deployment.services.map((s) => [s.name, s]));
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
    for (const dep of s.dependencies) {
      const d = byName.get(dep.service);
      if (d) visit(d, s);
    }
  };
  for (const s of selected) visit(s);
  return deployment.services.filter((s) => wanted.has(s.name));
}
