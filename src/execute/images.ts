/**
 * Building a service's image: the build section made into an engine build request, tagged with
 * the service's image name. The build output is kept and its end shown when the build fails.
 */
import { readFileSync, statSync } from 'node:fs';
import { ConfigError, FlotillaError } from '../errors.js';
import type { BuildRequest } from '../contract/engine.js';
import type { Deployment } from '../model/deployment.js';
import type { Service } from '../model/service.js';
import type { ProjectRuntime } from './runtime.js';

/**
 * `project`: the deployment the service is in. `build.network` naming one of its networks (other
 * than `default`, which means the engine's default bridge, as for Docker) becomes that network's
 * engine name, so RUN steps join it and reach the project's running services by name.
 */
export function buildRequest(
  service: Service,
  project: Pick<Deployment, 'networks' | 'secrets'>,
  overrides: { noCache?: boolean; pull?: boolean; args?: Record<string, string> } = {},
  env: Environment = {},
): BuildRequest {
  const b = service.build;
  if (!b) throw new FlotillaError(`service "${service.name}" has no build context`);
  const request: BuildRequest = {
    context: b.context,
    dockerfile: b.dockerfile,
    tags: [...new Set([service.image, ...b.tags])],
    args: { ...b.args, ...(overrides.args ?? {}) },
    labels: b.labels,
    cacheFrom: b.cacheFrom,
    extraHosts: b.extraHosts,
  };
  if (b.dockerfileInline !== undefined) request.dockerfileInline = b.dockerfileInline;
  if (b.target) request.target = b.target;
  if (b.network) request.network = b.network !== 'default' && Object.hasOwn(project.networks, b.network) ? project.networks[b.network]!.name : b.network;
  if (b.shmSize !== undefined) request.shmSize = b.shmSize;
  if (overrides.noCache || b.noCache) request.noCache = true;
  if (overrides.pull || b.pull) request.pull = true;
  // Only linux/amd64 builds here (buildProblem refuses the others): asked for, it is passed on.
  if (b.platforms.length > 0) request.platform = b.platforms[0]!;
  if (b.secrets.length > 0) request.secrets = buildSecrets(service, project);
  if (Object.keys(b.additionalContexts).length > 0) request.additionalContexts = b.additionalContexts;
  if (b.ssh.length > 0) request.ssh = Object.fromEntries(b.ssh.map((key) => [key.id, agentSocket(key, env) ?? '']));
  return request;
}

type Environment = Readonly<Record<string, string | undefined>>;

/** The agent socket of a `build.ssh` entry: its path, else the CLI's SSH_AUTH_SOCK (as buildx takes `default`). */
function agentSocket(key: { id: string; path?: string }, env: Environment): string | undefined {
  return key.path ?? (env['SSH_AUTH_SOCK'] || undefined);
}

function isSocket(path: string): boolean {
  try {
    return statSync(path).isSocket();
  } catch {
    return false;
  }
}

/** Platforms this machine builds for: its own (the builders do not emulate). */
const BUILDABLE_PLATFORMS = new Set(['linux/amd64', 'linux/amd64/v1']);

/**
 * What in a service's build section cannot be built, at its key (the caller locates it in the
 * files): a secret with no value, a platform other than linux/amd64, an `ssh` entry with no agent
 * socket (a key file is not forwarded: only agents are).
 */
function buildProblem(service: Service, project: Pick<Deployment, 'secrets'>, env: Environment): { keyPath: (string | number)[]; message: string } | undefined {
  const b = service.build;
  if (!b) return undefined;
  for (const [i, ref] of b.secrets.entries()) {
    const def = project.secrets[ref.source];
    if (!def) return { keyPath: ['build', 'secrets', i], message: `service "${service.name}" refers to undefined build secret ${ref.source}` };
    if (def.content === undefined && def.file === undefined) {
      return { keyPath: ['build', 'secrets', i], message: `build secret "${ref.source}" has no value here: it is external, or the variable its environment names is not set` };
    }
  }
  const platform = b.platforms.findIndex((p) => !BUILDABLE_PLATFORMS.has(p.toLowerCase()));
  if (platform >= 0) return { keyPath: ['build', 'platforms', platform], message: `${b.platforms[platform]} cannot be built here: Flotilla builds for linux/amd64 only (no emulation)` };
  for (const [i, key] of b.ssh.entries()) {
    const socket = agentSocket(key, env);
    if (socket === undefined) return { keyPath: ['build', 'ssh', i], message: `ssh ${key.id}: no SSH agent: SSH_AUTH_SOCK is not set (start ssh-agent, or give the socket as ${key.id}=PATH)` };
    if (!isSocket(socket)) {
      return { keyPath: ['build', 'ssh', i], message: `ssh ${key.id}: ${socket} is not an SSH agent socket (key files are not forwarded: add the key to an agent with ssh-add)` };
    }
  }
  return undefined;
}

/**
 * Build secrets as Compose v2 passes them to BuildKit: the top-level secret's file, or its
 * `environment` variable's value (or `content`), under the id RUN --mount=type=secret names.
 * Contents travel base64, read here by the CLI, never a path the engine would read.
 */
function buildSecrets(service: Service, project: Pick<Deployment, 'secrets'>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const ref of service.build?.secrets ?? []) {
    const def = project.secrets[ref.source];
    if (!def) throw new FlotillaError(`service "${service.name}" refers to undefined build secret ${ref.source}`);
    let data: Buffer;
    if (def.content !== undefined) data = Buffer.from(def.content, 'utf8');
    else if (def.file !== undefined) {
      try {
        data = readFileSync(def.file);
      } catch (e) {
        throw new FlotillaError(`build secret "${ref.source}" of service "${service.name}": cannot read ${def.file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
      }
    } else throw new FlotillaError(`build secret "${ref.source}" of service "${service.name}" has no value: an external secret, or its environment variable is not set`);
    out[ref.id] = data.toString('base64');
  }
  return out;
}

/** A build section no builder here can do, as a located error (./buildProblem). */
export function refuseUnbuildable(rt: Pick<ProjectRuntime, 'locateService' | 'deployment' | 'env'>, service: Service): void {
  const problem = buildProblem(service, rt.deployment, rt.env);
  if (problem) throw new ConfigError(problem.message, rt.locateService(service.name, problem.keyPath));
}

export async function buildServiceImage(rt: ProjectRuntime, service: Service, overrides: Parameters<typeof buildRequest>[2] = {}): Promise<void> {
  refuseUnbuildable(rt, service);
  const output: string[] = [];
  try {
    await rt.limiter.run(() =>
      rt.engine.buildImage(buildRequest(service, rt.deployment, overrides, rt.env), (e) => {
        const line = [e.status, e.detail].filter(Boolean).join(' ').trimEnd();
        if (line) output.push(line);
      }),
    );
  } catch (e) {
    const tail = output.slice(-15).join(' | ');
    throw new FlotillaError(`building ${service.name} failed: ${(e as Error).message}${tail ? ` (last output: ${tail})` : ''}`);
  }
}
