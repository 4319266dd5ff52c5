/**
 * Building a service's image: the build section made into an engine build request, tagged with
 * the service's image name. The build output is kept and its end shown when the build fails.
 */
import { FlotillaError } from '../errors.js';
import type { BuildRequest } from '../contract/engine.js';
import type { Deployment } from '../model/deployment.js';
import type { Service } from '../model/service.js';
import type { ProjectRuntime } from './runtime.js';

/**
 * `project`: the deployment the service is in. `build.network` naming one of its networks (other
 * than `default`, which means the engine's default bridge, as for Docker) becomes that network's
 * engine name, so RUN steps join it and reach the project's running services by name.
 */
export function buildRequest(service: Service, project: Pick<Deployment, 'networks'>, overrides: { noCache?: boolean; pull?: boolean; args?: Record<string, string> } = {}): BuildRequest {
  const b = service.build;
  if (!b) throw new FlotillaError(`service "${service.name}" has no build context`);
  const request: BuildRequest = {
    context: b.context,
    dockerfile: b.dockerfile,
    tags: [service.image],
    args: { ...b.args, ...(overrides.args ?? {}) },
    labels: b.labels,
    cacheFrom: b.cacheFrom,
    extraHosts: b.extraHosts,
  };
  if (b.target) request.target = b.target;
  if (b.network) request.network = b.network !== 'default' && Object.hasOwn(project.networks, b.network) ? project.networks[b.network]!.name : b.network;
  if (b.shmSize !== undefined) request.shmSize = b.shmSize;
  if (overrides.noCache) request.noCache = true;
  if (overrides.pull) request.pull = true;
  return request;
}

export async function buildServiceImage(rt: ProjectRuntime, service: Service, overrides: Parameters<typeof buildRequest>[2] = {}): Promise<void> {
  const output: string[] = [];
  try {
    await rt.limiter.run(() =>
      rt.engine.buildImage(buildRequest(service, rt.deployment, overrides), (e) => {
        const line = [e.status, e.detail].filter(Boolean).join(' ').trimEnd();
        if (line) output.push(line);
      }),
    );
  } catch (e) {
    const tail = output.slice(-15).join(' | ');
    throw new FlotillaError(`building ${service.name} failed: ${(e as Error).message}${tail ? ` (last output: ${tail})` : ''}`);
  }
}
