/**
 * Which image a service runs and how it gets there, as docker-compose decides: the `image`, else
 * `<project>_<service>` for a service that is built; a service with `build` is built when its
 * image is missing (or always with --build), any other missing image is pulled.
 */
import type { Project, Service } from '../model/project.js';
import { builtImageName } from './labels.js';

export function defaultImage(project: Project, service: Service): string {
  return service.image ?? builtImageName(project.name, service.name);
}

export type BuildPolicy = 'when-missing' | 'always' | 'never';

export type ImageStep =
  | { kind: 'present'; image: string }
  | { kind: 'pull'; image: string; reason: string }
  | { kind: 'build'; image: string; reason: string };

/** What to do about a service's image, given whether the engine has it. */
export function imageStep(project: Project, service: Service, present: boolean, policy: BuildPolicy): ImageStep | { kind: 'error'; message: string } {
  const image = defaultImage(project, service);
  if (service.build) {
    if (policy === 'always') return { kind: 'build', image, reason: '--build' };
    if (present) return { kind: 'present', image };
    if (policy === 'never') return { kind: 'error', message: `service "${service.name}" needs its image ${image} built, but --no-build was given` };
    return { kind: 'build', image, reason: 'image not built yet' };
  }
  if (present) return { kind: 'present', image };
  return { kind: 'pull', image, reason: 'image not on the engine' };
}
