/**
 * Compose Specification keys a version-less file may use and `config` prints, but that no engine
 * acts on yet: `up` warns about each, one line per key where it is written, rather than ignoring
 * it silently (docs/compose-compatibility.md lists them). Keys the engines do act on are not here.
 */
import type { DeployProblem } from '../../model/deployment.js';
import type { ComposeProject, ComposeService } from '../document.js';
import { isPlainObject } from '../yaml/read.js';

function serviceNotices(s: ComposeService): DeployProblem[] {
  const out: DeployProblem[] = [];
  const note = (keyPath: (string | number)[], message: string) => out.push({ service: s.name, keyPath, message });
  if (s['provider'] !== undefined) note(['provider'], `service "${s.name}" has a provider: Flotilla does not run provider services, so up leaves it out`);
  if (s['models'] !== undefined) note(['models'], 'models are not run by Flotilla: the service gets no model endpoints');
  if (s['gpus'] !== undefined) note(['gpus'], 'gpus is not acted on yet: the containers get no GPUs');
  for (const [dep, options] of Object.entries(s.depends_on ?? {})) {
    if (options.restart === true) note(['depends_on', dep, 'restart'], `restart is not acted on yet: "${s.name}" is not restarted with "${dep}"`);
  }
  (s.volumes ?? []).forEach((v, i) => {
    if (v.bind?.['create_host_path'] !== undefined) note(['volumes', i, 'bind', 'create_host_path'], 'create_host_path is not acted on yet: a missing host path is created');
    if (v.volume?.['subpath'] !== undefined) note(['volumes', i, 'volume', 'subpath'], 'subpath is not acted on yet: the whole volume is mounted');
  });
  return out;
}

/**
 * Secrets and configs from `environment` whose variable is not set, at each service using one:
 * Compose v2 refuses to start such a container; `up` refuses before touching the engine.
 */
export function unsetSources(project: ComposeProject, variable: (name: string) => string | undefined): DeployProblem[] {
  const out: DeployProblem[] = [];
  for (const s of project.services) {
    for (const kind of ['secrets', 'configs'] as const) {
      (s[kind] ?? []).forEach((ref, i) => {
        const def = project[kind][ref.source];
        const name = def?.['content'] === undefined ? def?.['environment'] : undefined;
        if (typeof name === 'string' && variable(name) === undefined) {
          out.push({ service: s.name, keyPath: [kind, i], message: `environment variable "${name}" required by ${kind === 'secrets' ? 'secret' : 'config'} "${ref.source}" is not set` });
        }
      });
    }
  }
  return out;
}

/** What `up` warns it does not act on, per service, in the project's service order. */
export function notActedOn(project: ComposeProject): DeployProblem[] {
  return project.services.flatMap((s) => serviceNotices(s));
}

/** A `provider` service's type (Compose v2 runs it through a plugin; Flotilla does not run it). */
export function providerType(s: ComposeService): string | undefined {
  const p = s['provider'];
  if (!isPlainObject(p)) return undefined;
  return typeof p['type'] === 'string' ? p['type'] : '';
}
