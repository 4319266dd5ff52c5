/**
 * Relative paths of Compose Specification keys docker-compose 1.29.2 does not have, made absolute
 * against the defining file's directory as Compose v2 does (compose-go paths/resolve.go):
 * `build.additional_contexts` values (not URLs, `name://` contexts or `service:` references) and
 * `develop.watch[].path`. Keys left out of a service stay left out. Also the canonical shapes v2
 * prints for build keys written in a short form.
 */
import { setOwn } from '../../util/own.js';
import { isPlainObject } from '../yaml/read.js';
import { expandPath } from '../syntax/paths.js';
import { isBuildUrl } from './process.js';

type Dict = Record<string, unknown>;

function contextPath(value: string, dir: string, home: string): string {
  if (value.includes('://') || value.startsWith('service:') || isBuildUrl(value) || value.startsWith('ssh://')) return value;
  return expandPath(dir, value, home);
}

/** `build` with its additional contexts resolved (a list of `name=path` or a mapping). */
export function resolveAdditionalContexts(build: Dict, dir: string, home: string): Dict {
  const contexts = build['additional_contexts'];
  if (isPlainObject(contexts)) {
    const out: Dict = {};
    for (const [name, v] of Object.entries(contexts)) setOwn(out, name, typeof v === 'string' ? contextPath(v, dir, home) : v);
    return { ...build, additional_contexts: out };
  }
  if (Array.isArray(contexts)) {
    // A list of `name=value` becomes a mapping, as compose-go's transformKeyValue prints it.
    const out: Dict = {};
    for (const entry of contexts) {
      if (typeof entry !== 'string') continue;
      const at = entry.indexOf('=');
      if (at < 0) setOwn(out, entry, null);
      else setOwn(out, entry.slice(0, at), contextPath(entry.slice(at + 1), dir, home));
    }
    return { ...build, additional_contexts: out };
  }
  return build;
}

/** `build.secrets` short entries (`- name`) in the long form, as compose-go's transformFileMount prints them. */
export function longBuildSecrets(build: Dict): Dict {
  const secrets = build['secrets'];
  if (!Array.isArray(secrets)) return build;
  return { ...build, secrets: secrets.map((entry) => (typeof entry === 'string' ? { source: entry } : entry)) };
}

/** `develop` with each watched path absolute. */
export function resolveWatchPaths(develop: unknown, dir: string, home: string): unknown {
  if (!isPlainObject(develop) || !Array.isArray(develop['watch'])) return develop;
  const watch = develop['watch'].map((rule) =>
    isPlainObject(rule) && typeof rule['path'] === 'string' ? { ...rule, path: expandPath(dir, rule['path'], home) } : rule,
  );
  return { ...develop, watch };
}
