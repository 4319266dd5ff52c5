/**
 * Engine names of a project's networks and volumes, and the networks a service joins in the order
 * docker-compose 1.29.2 attaches them (by priority when any is set, else by name).
 */
import { networkName, volumeName } from '../../model/names.js';
import type { ComposeProject, ComposeService, ComposeServiceNetwork } from '../document.js';

/** `<project>_<key>`, or the resource's own `name:` (external resources always have one). */
export function fullName(project: ComposeProject, kind: 'networks' | 'volumes', key: string): string {
  const def = project[kind][key];
  if (def && typeof def['name'] === 'string') return def['name'];
  return kind === 'volumes' ? volumeName(project.name, key) : networkName(project.name, key);
}

export interface AttachedNetwork {
  key: string;
  name: string;
  options: ComposeServiceNetwork;
}

/** The service's networks as docker-compose attaches them; none in v1 or with a network_mode. */
export function attachedNetworks(project: ComposeProject, service: ComposeService): AttachedNetwork[] {
  if (project.format === 'v1' || service.network_mode !== undefined) return [];
  const defs = service.networks ?? { default: null };
  const entries = Object.entries(defs).map(([key, cfg]) => ({ key, name: fullName(project, 'networks', key), options: cfg ?? {} }));
  if (entries.some((e) => e.options.priority)) return entries.sort((a, b) => Number(b.options.priority ?? 0) - Number(a.options.priority ?? 0));
  return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
