/**
 * Labels exactly as docker-compose 1.29.2 writes them (`com.docker.compose.*`), so each tool finds
 * and manages the other's containers, networks and volumes; names are in src/model/names.ts.
 * Identity always comes from labels, never from names.
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

export function projectFilter(project: string): Record<string, string> {
  return { [LABEL.project]: project };
}

export function flotillaVersionLabel(): Record<string, string> {
  return { [LABEL.flotillaVersion]: VERSION };
}
