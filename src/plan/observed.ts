/**
 * What the planner knows of the engine: the project's containers as found by their labels (never
 * their names), and the images, networks and volumes the deployment names. execute/observe.ts
 * asks the engine; this is the shape of its answer.
 */
import type { ContainerSummary, ImageInfo, NetworkInfo, VolumeInfo } from '../contract/engine.js';
import { LABEL } from './labels.js';

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
  /** Published ports the engine could not hold again after a restart (127.0.0.1:8080/tcp). */
  unheldPorts: string[];
}

export interface Observed {
  containers: ObservedContainer[];
  /** By engine name, for the networks the services join: null when the engine has none. */
  networks: Map<string, NetworkInfo | null>;
  volumes: Map<string, VolumeInfo | null>;
  /** By image reference, for the services' images: null when the engine does not have it. */
  images: Map<string, ImageInfo | null>;
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
    unheldPorts: c.unheldPorts ?? [],
  };
}

/** A service's containers (not one-offs), by number. */
export function serviceContainers(observed: readonly ObservedContainer[], service: string): ObservedContainer[] {
  return observed.filter((c) => c.service === service && !c.oneOff).sort((a, b) => a.number - b.number || a.created - b.created);
}
