/**
 * The last bound on a project's size: `extends` and `env_file` repeat one file's text in every
 * service that uses it, and several files add up, past what the per-file checks (aliases and
 * variables, in interpolate/) can see. Counted in characters of keys and strings, stopping as soon
 * as the limit is passed, so the count itself stays cheap.
 */
import { ConfigError, type SourceLocation } from '../errors.js';
import type { ComposeProject } from './document.js';
import { EXPANDED_LIMIT_TEXT, MAX_EXPANDED_BYTES } from './limits.js';

export function checkProjectSize(project: ComposeProject, locateService: (name: string) => SourceLocation): void {
  let budget = MAX_EXPANDED_BYTES;
  const over = (root: unknown): boolean => {
    const stack: unknown[] = [root];
    while (stack.length > 0) {
      const v = stack.pop();
      if (typeof v === 'string') budget -= v.length;
      else if (Array.isArray(v)) for (const item of v) stack.push(item);
      else if (typeof v === 'object' && v !== null) {
        for (const [k, item] of Object.entries(v)) {
          budget -= k.length;
          stack.push(item);
        }
      } else budget -= 1;
      if (budget < 0) return true;
    }
    return false;
  };
  const message = `the project expands to ${EXPANDED_LIMIT_TEXT} of text (extends, env_file and aliases repeat text); refusing it`;
  for (const service of project.services) {
    if (over(service)) throw new ConfigError(`${message}; the limit is passed at service '${service.name}'`, locateService(service.name));
  }
  if (over([project.networks, project.volumes, project.secrets, project.configs])) throw new ConfigError(message);
}
