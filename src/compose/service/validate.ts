/**
 * Checks on one service after `extends` and merging, before it is finalised (docker-compose
 * 1.29.2's validate_service): an image or a build, references to other services that exist,
 * ulimits, cpus precision, healthcheck shape, build context present.
 */
import { existsSync } from 'node:fs';
import { isPlainObject } from '../yaml/read.js';
import { isBuildUrl, ServiceProblem } from './process.js';

type Dict = Record<string, unknown>;

export interface ValidateContext {
  serviceNames: ReadonlySet<string>;
  legacy: boolean;
  /** Whether a missing build context is an error (not for commands that do not build). */
  checkBuildContext: boolean;
}

/** "service:NAME" → NAME, for network_mode, pid and ipc. */
export function serviceReference(mode: unknown): string | undefined {
  if (typeof mode !== 'string' || !mode.startsWith('service:')) return undefined;
  // `service:` with no name refers to nothing (docker-compose skips it too).
  return mode.slice('service:'.length) || undefined;
}

export function validateService(name: string, s: Dict, ctx: ValidateContext): void {
  const hasImage = 'image' in s;
  const hasBuild = 'build' in s;
  if (ctx.legacy && hasImage && (hasBuild || 'dockerfile' in s)) {
    throw new ServiceProblem(
      `service ${name} has both an image and a ${hasBuild ? 'build path' : 'dockerfile'}; a v1 service either builds its image or uses an existing one`,
      [hasBuild ? 'build' : 'dockerfile'],
    );
  }
  // A provider service (Compose Specification) is run by a plugin, not from an image.
  if (!hasImage && !hasBuild && !('provider' in s)) {
    throw new ServiceProblem(`service ${name} has neither an image nor a build context; set "image" or "build"`, []);
  }
  const build = s['build'];
  if (isPlainObject(build) && !ctx.legacy && !('context' in build)) {
    throw new ServiceProblem(`build.context is required`, ['build']);
  }
  if (ctx.checkBuildContext) {
    const context = typeof build === 'string' ? build : isPlainObject(build) ? build['context'] : undefined;
    if (typeof context === 'string' && !isBuildUrl(context) && !existsSync(context)) {
      throw new ServiceProblem(`build path ${context} either does not exist, is not accessible, or is not a valid URL`, ['build']);
    }
  }

  const cpus = s['cpus'];
  if (typeof cpus === 'number' && !Number.isInteger(cpus * 1e9)) {
    throw new ServiceProblem('cpus must have nine or fewer digits after the decimal point', ['cpus']);
  }

  if (isPlainObject(s['ulimits'])) {
    for (const [limit, v] of Object.entries(s['ulimits'])) {
      if (isPlainObject(v) && typeof v['soft'] === 'number' && typeof v['hard'] === 'number' && v['soft'] > v['hard']) {
        throw new ServiceProblem(`ulimit ${limit}: soft (${v['soft']}) must not be greater than hard (${v['hard']})`, ['ulimits', limit]);
      }
    }
  }

  const checkRef = (key: string, what: string) => {
    const dep = serviceReference(s[key]);
    if (dep !== undefined && !ctx.serviceNames.has(dep)) {
      throw new ServiceProblem(`service '${name}' uses the ${what} of service '${dep}', which is not defined`, [key]);
    }
  };
  checkRef('ipc', 'IPC namespace');
  if (s['network_mode']) {
    if ('networks' in s) throw new ServiceProblem("'network_mode' and 'networks' cannot be combined", ['network_mode']);
    checkRef('network_mode', 'network stack');
  }
  checkRef('pid', 'PID namespace');

  if (isPlainObject(s['depends_on'])) {
    for (const dep of Object.keys(s['depends_on'])) {
      if (!ctx.serviceNames.has(dep)) {
        throw new ServiceProblem(`service '${name}' depends on service '${dep}', which is not defined`, ['depends_on', dep]);
      }
    }
  }
  if (Array.isArray(s['links'])) {
    s['links'].forEach((link, i) => {
      const target = String(link).split(':')[0] ?? '';
      if (!ctx.serviceNames.has(target)) {
        throw new ServiceProblem(`service '${name}' links to service '${target}', which is not defined`, ['links', i]);
      }
    });
  }

  const hc = s['healthcheck'];
  if (isPlainObject(hc) && Array.isArray(hc['test'])) {
    const test = hc['test'];
    if (test.length === 0) throw new ServiceProblem('healthcheck "test" is an empty list', ['healthcheck', 'test']);
    if (test[0] === 'NONE' && Object.keys(hc).length > 1) {
      throw new ServiceProblem('a disabled healthcheck ("disable: true" or test NONE) cannot have other options', ['healthcheck']);
    }
    if (!['NONE', 'CMD', 'CMD-SHELL'].includes(String(test[0]))) {
      throw new ServiceProblem('when healthcheck "test" is a list its first item must be NONE, CMD or CMD-SHELL', ['healthcheck', 'test', 0]);
    }
  }

  const cred = s['credential_spec'];
  if (isPlainObject(cred) && Object.keys(cred).length > 0 && !('registry' in cred) && !('file' in cred)) {
    throw new ServiceProblem("credential_spec needs 'file' or 'registry'", ['credential_spec']);
  }

  if (!hasImage && /[A-Z]/.test(name)) {
    throw new ServiceProblem(
      `service '${name}' has uppercase letters, which an image name cannot have; use a lowercase name or set "image"`,
      [],
    );
  }
}
