/**
 * The config hash of each service (the `com.docker.compose.config-hash` label): a SHA-256 of the
 * service's normalised definition. Filled in by the reconciler issue; until then `config --hash`
 * reports it is not available.
 */
import { UsageError } from '../errors.js';
import type { Project } from '../model/project.js';

export function configHashes(_project: Project, _services?: string[]): [string, string][] {
  throw new UsageError('config --hash is not available yet');
}
