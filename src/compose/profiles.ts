/**
 * Which services a command acts on, with profiles as docker-compose 1.29.2 applies them: a service
 * without `profiles` is always enabled, one with profiles only when one of them is enabled
 * (`--profile`, else COMPOSE_PROFILES); a service named on the command line enables its own
 * profiles. Services keep the project's (dependency) order.
 */
import { UsageError } from '../errors.js';
import type { Project, Service } from '../model/project.js';

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
