/**
 * What the engine runs for a project, found by labels (never by names): the project's containers
 * (service and one-off), and its networks and volumes. One list call each.
 */
import type { ContainerSummary, Engine, NetworkInfo, VolumeInfo } from '../contract/engine.js';
import { LABEL, projectFilter } from './labels.js';

export interface ObservedContainer {
  id: string;
  name: string;
  service: string;
  /** 0 when the label is missing or not a number. */
  number: number;
  oneOff: boolean;
  configHash: string | undefined;
  /** The normalised definition Flotilla stored (undefined for containers docker-compose made). */
  configLabel: string | undefined;
  running: boolean;
  state: ContainerSummary['state'];
  status: string;
  created: number;
  labels: Record<string, string>;
  image: string;
}

export interface Observed {
  containers: ObservedContainer[];
  networks: Map<string, NetworkInfo>;
  volumes: Map<string, VolumeInfo>;
}

export function toObserved(c: ContainerSummary): ObservedContainer {
  const n = Number(c.labels[LABEL.number]);
  return {
    id: c.id,
    name: c.name,
    service: c.labels[LABEL.service] ?? '',
    number: Number.isInteger(n) ? n : 0,
    oneOff: c.labels[LABEL.oneOff] === 'True',
    configHash: c.labels[LABEL.configHash],
    configLabel: c.labels[LABEL.flotillaConfig],
    running: c.state === 'running' || c.state === 'restarting' || c.state === 'paused',
    state: c.state,
    status: c.status,
    created: c.created,
    labels: c.labels,
    image: c.image,
  };
}

export async function observeContainers(engine: Engine, project: string): Promise<ObservedContainer[]> {
  const list = await engine.listContainers({ labels: projectFilter(project), all: true });
  return list.map(toObserved);
}

export async function observe(engine: Engine, project: string): Promise<Observed> {
  const [containers, networks, volumes] = await Promise.all([
    observeContainers(engine, project),
    engine.listNetworks(projectFilter(project)),
    engine.listVolumes(projectFilter(project)),
  ]);
  return {
    containers,
    networks: new Map(networks.map((n) => [n.name, n])),
    volumes: new Map(volumes.map((v) => [v.name, v])),
  };
}

/** A service's containers (not one-offs), by number. */
export function serviceContainers(observed: readonly ObservedContainer[], service: string): ObservedContainer[] {
  return observed.filter((c) => c.service === service && !c.oneOff).sort((a, b) => a.number - b.number || a.created - b.created);
}
