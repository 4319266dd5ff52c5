/** The container a task runs as: its spec made from the task's container spec, with swarm's labels. */
import type { ContainerSpec, EndpointSpec, MountSpec } from '../contract/engine.js';
import type { Mount, Service } from '../contract/swarm.js';
import type { SwarmTask } from './store.js';
import { taskName } from './tasks.js';

export const TASK_ID_LABEL = 'com.docker.swarm.task.id';

function mountSpec(m: Mount): MountSpec {
  if (m.type === 'bind') return { type: 'bind', source: m.source, target: m.target, readOnly: m.readOnly === true, ...(m.propagation ? { bindPropagation: m.propagation } : {}) };
  if (m.type === 'volume') return { type: 'volume', ...(m.source ? { source: m.source } : {}), target: m.target, readOnly: m.readOnly === true, ...(m.noCopy ? { volumeNoCopy: true } : {}) };
  return { type: 'tmpfs', target: m.target, readOnly: m.readOnly === true, ...(m.sizeBytes ? { tmpfsSize: m.sizeBytes } : {}) };
}

/** `networks`: the swarm network names the task joins, mapped to the engine's network names. */
export function taskContainerSpec(service: Service, task: SwarmTask, networks: Record<string, EndpointSpec>): ContainerSpec {
  const c = task.spec.container;
  const name = taskName(service.spec.name, task);
  const hc = c.healthcheck;
  return {
    name,
    image: c.image,
    labels: {
      ...c.labels,
      'com.docker.swarm.node.id': task.nodeId,
      'com.docker.swarm.service.id': service.id,
      'com.docker.swarm.service.name': service.spec.name,
      'com.docker.swarm.task': '',
      [TASK_ID_LABEL]: task.id,
      'com.docker.swarm.task.name': name,
    },
    // A Command replaces the image's entrypoint and drops its CMD; Args alone replace the CMD.
    ...(c.command && c.command.length > 0 ? { entrypoint: c.command, command: c.args ?? [] } : c.args && c.args.length > 0 ? { command: c.args } : {}),
    env: (c.env ?? []).filter((e) => e.includes('=')),
    ...(c.dir ? { workingDir: c.dir } : {}),
    ...(c.user ? { user: c.user } : {}),
    ...(c.hostname ? { hostname: c.hostname } : {}),
    tty: c.tty === true,
    openStdin: c.openStdin === true,
    ...(c.stopSignal ? { stopSignal: c.stopSignal } : {}),
    stopTimeout: Math.round((c.stopGracePeriod ?? 10e9) / 1e9),
    exposedPorts: [],
    ...(hc && hc.test ? { healthcheck: { test: hc.test, interval: hc.interval ?? 0, timeout: hc.timeout ?? 0, startPeriod: hc.startPeriod ?? 0, retries: hc.retries ?? 0 } } : {}),
    networkMode: { kind: 'networks' },
    networks,
    publishedPorts: [],
    mounts: (c.mounts ?? []).map(mountSpec),
    volumesFrom: [],
    tmpfs: [],
    links: [],
    privileged: false,
    readOnlyRootfs: c.readOnly === true,
    ...(c.init !== undefined ? { init: c.init } : {}),
    capAdd: c.capabilityAdd ?? [],
    capDrop: c.capabilityDrop ?? [],
    devices: [],
    deviceCgroupRules: [],
    dns: c.dns?.nameservers ?? [],
    dnsSearch: c.dns?.search ?? [],
    dnsOptions: c.dns?.options ?? [],
    extraHosts: (c.hosts ?? []).flatMap((line) => {
      const [ip, ...hosts] = line.trim().split(/\s+/);
      return ip ? hosts.map((host) => ({ host, ip })) : [];
    }),
    groupAdd: c.groups ?? [],
    sysctls: c.sysctls ?? {},
    ulimits: c.ulimits ?? [],
    securityOpt: [],
    ...(task.spec.resources?.limits?.memoryBytes ? { memory: task.spec.resources.limits.memoryBytes } : {}),
    ...(task.spec.resources?.limits?.nanoCpus ? { nanoCpus: task.spec.resources.limits.nanoCpus } : {}),
    ...(task.spec.resources?.limits?.pids ? { pidsLimit: task.spec.resources.limits.pids } : {}),
    ...(task.spec.resources?.reservations?.memoryBytes ? { memoryReservation: task.spec.resources.reservations.memoryBytes } : {}),
    ...(c.oomScoreAdj !== undefined ? { oomScoreAdj: c.oomScoreAdj } : {}),
  };
}
