/**
 * Names and labels, exactly as docker-compose 1.29.2 writes them, so each tool finds and manages
 * the other's containers: containers `<project>_<service>_<n>` (one-offs `<project>_<service>_run_
 * <12 hex>`), networks and volumes `<project>_<name>`, images built for a service `<project>_<service>`,
 * and the `com.docker.compose.*` labels. Identity always comes from labels, never from names.
 */
import { VERSION } from '../version.js';

export const LABEL = {
  project: 'com.docker.compose.project',
  service: 'com.docker.compose.service',
  oneOff: 'com.docker.compose.oneoff',
  number: 'com.docker.compose.container-number',
  configHash: 'com.docker.compose.config-hash',
  version: 'com.docker.compose.version',
  workingDir: 'com.docker.compose.project.working_dir',
  configFiles: 'com.docker.compose.project.config_files',
  environmentFile: 'com.docker.compose.project.environment_file',
  slug: 'com.docker.compose.slug',
  network: 'com.docker.compose.network',
  volume: 'com.docker.compose.volume',
  /** Flotilla's own: the normalised definition a container was made from (to explain a recreate). */
  flotillaConfig: 'dev.flotilla.config',
  flotillaVersion: 'dev.flotilla.version',
} as const;

/**
 * The version docker-compose's labels carry. Flotilla writes the version whose behaviour it
 * follows, so tools that read it treat the containers alike; its own version is in
 * dev.flotilla.version.
 */
export const COMPOSE_COMPAT_VERSION = '1.29.2';

/** The project name as docker-compose puts it in container and image names (leading "-" and "_" dropped). */
function namePrefix(project: string): string {
  return project.replace(/^[-_]+/, '');
}

export function containerName(project: string, service: string, number: number): string {
  return `${namePrefix(project)}_${service}_${number}`;
}

export function oneOffContainerName(project: string, service: string, slug: string): string {
  return `${namePrefix(project)}_${service}_run_${slug.slice(0, 12)}`;
}

/** The image a service with `build` but no `image` is tagged as. */
export function builtImageName(project: string, service: string): string {
  return `${namePrefix(project)}_${service}`;
}

/** `web_1` for `demo_web_1`: the prefix logs show. */
export function nameWithoutProject(name: string, project: string): string {
  const prefix = `${namePrefix(project)}_`;
  return name.startsWith(prefix) ? name.slice(prefix.length) : name;
}

/** Labels that find a project's service containers (one-offs excluded unless asked for). */
export function serviceFilter(project: string, service?: string, oneOff = false): Record<string, string> {
  const out: Record<string, string> = { [LABEL.project]: project, [LABEL.oneOff]: oneOff ? 'True' : 'False' };
  if (service !== undefined) out[LABEL.service] = service;
  return out;
}

export function projectFilter(project: string): Record<string, string> {
  return { [LABEL.project]: project };
}

export function flotillaVersionLabel(): Record<string, string> {
  return { [LABEL.flotillaVersion]: VERSION };
}
