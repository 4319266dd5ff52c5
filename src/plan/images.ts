/**
 * How a service's image gets to the engine, as docker-compose decides: a service with `build` is
 * built when its image is missing (or always with --build), any other missing image is pulled
 * (`up --pull always`: pulled even when present; `--pull never`: never pulled, Compose v2's).
 */
import type { Service } from '../model/service.js';

export type BuildPolicy = 'when-missing' | 'always' | 'never';

export type PullPolicy = 'missing' | 'always' | 'never';

export type ImageStep =
  | { kind: 'present'; image: string }
  | { kind: 'pull'; image: string; reason: string }
  | { kind: 'build'; image: string; reason: string };

/** What to do about a service's image, given whether the engine has it. */
export function imageStep(service: Service, present: boolean, policy: BuildPolicy, pull: PullPolicy = 'missing'): ImageStep | { kind: 'error'; message: string } {
  const image = service.image;
  if (service.build) {
    if (policy === 'always') return { kind: 'build', image, reason: '--build' };
    if (present) return { kind: 'present', image };
    if (policy === 'never') return { kind: 'error', message: `service "${service.name}" needs its image ${image} built, but --no-build was given` };
    return { kind: 'build', image, reason: 'image not built yet' };
  }
  if (pull === 'always') return { kind: 'pull', image, reason: '--pull always' };
  if (present) return { kind: 'present', image };
  if (pull === 'never') return { kind: 'error', message: `service "${service.name}" needs the image ${image}, which is not on the engine, and --pull never was given` };
  return { kind: 'pull', image, reason: 'image not on the engine' };
}
