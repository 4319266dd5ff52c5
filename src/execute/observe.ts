/**
 * Asking the engine what the planner needs to know (src/plan/observed.ts): the project's
 * containers by label, and the images, networks and volumes the deployment names. Each distinct
 * image, network and volume is asked about once (thirty services on one image: one call).
 */
import type { Engine, NetworkInfo, VolumeInfo } from '../contract/engine.js';
import { projectFilter } from '../plan/labels.js';
import { toObserved, type Observed, type ObservedContainer } from '../plan/observed.js';
import type { Network, Volume } from '../model/resources.js';
import type { ProjectRuntime } from './runtime.js';

export async function observeContainers(engine: Engine, project: string): Promise<ObservedContainer[]> {
  const list = await engine.listContainers({ labels: projectFilter(project), all: true });
  return list.map(toObserved);
}

async function byName<T>(names: readonly string[], inspect: (name: string) => Promise<T | null>): Promise<Map<string, T | null>> {
  const unique = [...new Set(names)];
  const found = await Promise.all(unique.map(inspect));
  return new Map(unique.map((n, i) => [n, found[i] ?? null]));
}

export interface ObserveRequest {
  images: readonly string[];
  networks: readonly Network[];
  volumes: readonly Volume[];
}

export async function observe(rt: ProjectRuntime, request: ObserveRequest): Promise<Observed> {
  const { engine, limiter } = rt;
  const [containers, images, networks, volumes] = await Promise.all([
    observeContainers(engine, rt.deployment.name),
    byName(request.images, (i) => limiter.run(() => engine.inspectImage(i))),
    byName<NetworkInfo>(request.networks.map((n) => n.name), (n) => limiter.run(() => engine.inspectNetwork(n))),
    byName<VolumeInfo>(request.volumes.map((v) => v.name), (v) => limiter.run(() => engine.inspectVolume(v))),
  ]);
  return { containers, images, networks, volumes };
}
