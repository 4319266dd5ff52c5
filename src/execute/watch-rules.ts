/**
 * Which `develop.watch` rule a changed host path falls under, as Compose v2 decides it
 * (docker/compose pkg/compose/watch.go): the path must be the rule's path or under it, match one of
 * its `include` patterns when it has any, and match none of the ignores: the service's build
 * context .dockerignore, editors' temporary files, `.git`, and the rule's own `ignore`. The
 * patterns use .dockerignore syntax relative to the rule's path (the .dockerignore's to the
 * build context).
 */
import { readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { IgnoreMatcher, readDockerignore } from '../util/dockerignore.js';
import type { Service, WatchRule } from '../model/service.js';

/** Editors' and tools' temporary files, never synced (Compose v2's list). */
const EPHEMERAL = ['**/*___jb_old___', '**/*___jb_tmp___', '**/.idea', '**/.#*', '**/#*#', '**/4913', '**/*~', '**/.*.swp', '**/.*.swx', '**/.*.swo', '**/.*.swn', '**/.*.kate-swp', '**/*-go-tmp-umask'];
const ephemeral = new IgnoreMatcher(EPHEMERAL);

/** A changed host path and where it goes in the service's containers (sync actions). */
export interface PathMapping {
  hostPath: string;
  containerPath: string;
}

/** `child` relative to `parent` with "/" separators, or null when it is not `parent` or under it. */
function relativeUnder(parent: string, child: string): string | null {
  const rel = relative(parent, child);
  if (rel === '') return '';
  if (rel === '..' || rel.startsWith(`..${sep}`) || rel.startsWith(sep)) return null;
  return rel.split(sep).join('/');
}

function buildIgnore(service: Service): { dir: string; matcher: IgnoreMatcher } | undefined {
  const context = service.build?.context;
  if (!context || !context.startsWith('/')) return undefined;
  let text: string;
  try {
    text = readFileSync(join(context, '.dockerignore'), 'utf8');
  } catch {
    return undefined;
  }
  return { dir: context, matcher: new IgnoreMatcher(readDockerignore(text)) };
}

export class RuleMatcher {
  private readonly include: IgnoreMatcher | undefined;
  private readonly ignore: IgnoreMatcher;
  private readonly dockerignore: { dir: string; matcher: IgnoreMatcher } | undefined;

  constructor(
    readonly service: Service,
    readonly rule: WatchRule,
    readonly index: number,
  ) {
    this.include = rule.include.length > 0 ? new IgnoreMatcher(rule.include) : undefined;
    this.ignore = new IgnoreMatcher(rule.ignore);
    this.dockerignore = buildIgnore(service);
  }

  /** Whether a path under the rule's path (relative to it, "/"-separated) is ignored. */
  ignored(hostPath: string, rel: string): boolean {
    if (rel.split('/').includes('.git')) return true;
    if (ephemeral.excludes(hostPath.slice(1))) return true;
    if (rel !== '' && this.ignore.excludes(rel)) return true;
    if (this.dockerignore) {
      const inContext = relativeUnder(this.dockerignore.dir, hostPath);
      if (inContext !== null && inContext !== '' && this.dockerignore.matcher.excludes(inContext)) return true;
    }
    return false;
  }

  /** Where a changed host path goes, or null when this rule does not take it. */
  matches(hostPath: string): PathMapping | null {
    const rel = relativeUnder(this.rule.path, hostPath);
    if (rel === null) return null;
    if (this.include && rel !== '' && !this.include.excludes(rel)) return null;
    if (this.ignored(hostPath, rel)) return null;
    const target = this.rule.target ?? '';
    return { hostPath, containerPath: rel === '' ? target : `${target.replace(/\/+$/, '')}/${rel}` };
  }
}

/** Whether a bind mount of the service already shows `path` in its containers (Compose v2 then leaves a sync rule unwatched). */
export function boundByMount(service: Service, path: string): boolean {
  return service.mounts.some((m) => m.type === 'bind' && relativeUnder(m.source, path) !== null);
}
