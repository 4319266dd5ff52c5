/**
 * The project name a version-less file declares (top-level `name`), with Compose v2's precedence
 * (compose-go cli/options.go, loader/loader.go projectName): -p, then COMPOSE_PROJECT_NAME (shell
 * or env files), then the last file that sets a non-empty `name` (after interpolation), then the
 * project directory. An `include`d file's name is not the project's. A file's name is normalised as v2 does: lowercased, characters other than
 * [a-z0-9_-] dropped, leading "_" and "-" dropped; one left empty falls back to the directory.
 */
import type { ComposeFile } from './compose-file.js';

export function nameFromFiles(files: readonly ComposeFile[]): string | undefined {
  let name: string | undefined;
  for (const f of files) {
    const value = f.format.family === 'spec' && !f.included ? f.doc['name'] : undefined;
    if (typeof value !== 'string') continue;
    const normalised = value.toLowerCase().replace(/[^a-z0-9_-]/g, '').replace(/^[_-]+/, '');
    if (normalised !== '') name = normalised;
  }
  return name;
}
