/** The container a task runs as: its spec made from the task's container spec, with swarm's labels. */
import type { ContainerFileSpec, ContainerSpec, EndpointSpec, MountSpec } from '../contract/engine.js';
import type { FileReference, Mount, Service } from '../contract/swarm.js';
import { posix } from 'node:path';
import type { SwarmTask } from './store.js';
import { taskName } from './tasks.js';

export const TASK_ID_LABEL = 'com.docker.swarm.task.id';

function mountSpec(m: Mount): MountSpec {
  if (m.type === 'bind') return { type: 'bind', source: m.source, target: m.target, readOnly: m.readOnly === true, ...(m.propagation ? { bindPropagation: m.propagation } : {}) };
  if (m.type === 'volume') return { type: 'volume', ...(m.source ? { source: m.source } : {}), target: m.target, readOnly: m.readOnly === true, ...(m.noCopy ? { volumeNoCopy: true } : {}) };
  return { type: 'tmpfs', target: m.target, readOnly: m.readOnly === true, ...(m.sizeBytes ? { tmpfsSize: m.sizeBytes } : {}) };
}

function numericId(value: string, what: string, ref: FileReference): number {
  if (!/^\d+$/.test(value)) throw new Error(`${ref.source}: ${what} "${value}" is not a number`);
  return Number(value);
}

/**
 * The task's secrets and configs as files in memory (never on disk): a secret at
 * /run/secrets/<target> unless its target is absolute, a config at /<target>; with their owner
 * and mode. `content` gives the stored bytes of a secret or config by name.
 */
export function taskFiles(task: SwarmTask, content: (kind: 'secret' | 'config', name: string) => Buffer | undefined): ContainerFileSpec[] {
  const c = task.spec.container;
  const files = (kind: 'secret' | 'config', refs: readonly FileReference[] | undefined, under: string) =>
    (refs ?? []).map((ref): ContainerFileSpec => {
      const data = content(kind, ref.source);
      if (!data) throw new Error(`${kind} not found: ${ref.source}`);
      return {
        target: ref.target.startsWith('/') ? ref.target : posix.join(under, ref.target),
        contentBase64: data.toString('base64'),
        mode: ref.mode,
        uid: numericId(ref.uid, 'uid', ref),
        gid: numericId(ref.gid, 'gid', ref),
        inMemory: true,
      };
    });
  return [...files('secret', c.secrets, '/run/secrets'), ...files('config', c.configs, '/')];
}

/**
 * `networks`: the swarm network names the task joins, mapped to the engine's network names;
 * `files`: its secrets and configs (taskFiles).
 */
export function taskContainerSpec(service: Service, task: SwarmTask, networks: Record<string, EndpointSpec>, files: ContainerFileSpec[] = []): ContainerSpec {
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
    // Host-mode ports are the task's own; ingress ones are the node's (see routing.ts).
    publishedPorts: (service.spec.endpoint?.ports ?? []).flatMap((p) =>
      p.mode === 'host' ? [{ containerPort: p.target, protocol: p.protocol, hostIp: '', ...(p.published ? { hostPorts: { start: p.published, end: p.published } } : {}) }] : [],
    ),
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
    ...(files.length > 0 ? { files } : {}),
  };
}
