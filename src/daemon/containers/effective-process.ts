/**
 * What a container runs, as Docker merges a container's settings with its image's: the image's
 * Cmd is used when the container sets neither Cmd nor a non-empty Entrypoint; the image's
 * Entrypoint when the container does not set one (an empty list clears it); environment
 * variables from the image, overridden by name by the container's.
 */
import type { ContainerSpec } from '../../contract/engine.js';
import type { ImageConfigJson } from '../../contract/image-config.js';

export interface EffectiveProcess {
  entrypoint: string[] | null;
  cmd: string[] | null;
  env: string[];
}

export function effectiveProcess(spec: ContainerSpec, image: ImageConfigJson): EffectiveProcess {
  const ownEntrypoint = spec.entrypoint !== undefined && spec.entrypoint.length > 0;
  let cmd: string[] | null = spec.command !== undefined && spec.command.length > 0 ? spec.command : null;
  if (cmd === null && !ownEntrypoint) cmd = image.Cmd ?? null;
  const entrypoint = spec.entrypoint !== undefined ? spec.entrypoint : (image.Entrypoint ?? null);
  return { entrypoint, cmd, env: mergeEnv(image.Env ?? [], spec.env) };
}

export function mergeEnv(base: string[], overrides: string[]): string[] {
  const out = new Map<string, string>();
  for (const e of [...base, ...overrides]) {
    const eq = e.indexOf('=');
    out.set(eq < 0 ? e : e.slice(0, eq), e);
  }
  return [...out.values()];
}
