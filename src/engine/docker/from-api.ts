/** The engine's JSON → the Engine interface's types. */
import type {
  ContainerInfo,
  ContainerState,
  ContainerSummary,
  EngineEvent,
  ImageInfo,
  ImageSummary,
  NetworkInfo,
  PortState,
  VolumeInfo,
} from '../../contract/engine.js';
import type {
  DockerContainerInspect,
  DockerContainerSummary,
  DockerEvent,
  DockerImageInspect,
  DockerImageSummary,
  DockerNetwork,
  DockerPortBinding,
  DockerVolume,
} from './api-types.js';
import { imageConfigInfo, parsePortKey } from '../../contract/image-config.js';

const STATES: readonly ContainerState[] = ['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead'];

function state(s: string): ContainerState {
  return (STATES as readonly string[]).includes(s) ? (s as ContainerState) : 'dead';
}

/** Docker's placeholders for an untagged image. */
function realRefs(refs: string[] | null | undefined): string[] {
  return (refs ?? []).filter((r) => r !== '<none>:<none>' && r !== '<none>@<none>');
}

export function imageInfo(j: DockerImageInspect): ImageInfo {
  const c = j.Config ?? {};
  return {
    id: j.Id,
    repoTags: realRefs(j.RepoTags),
    repoDigests: realRefs(j.RepoDigests),
    created: j.Created,
    size: j.Size,
    labels: c.Labels ?? {},
    config: imageConfigInfo(c),
  };
}

export function imageSummary(j: DockerImageSummary): ImageSummary {
  return { id: j.Id, repoTags: realRefs(j.RepoTags), repoDigests: realRefs(j.RepoDigests), created: j.Created, size: j.Size, labels: j.Labels ?? {} };
}

/** A container's own name: Names also lists the aliases links give it ("/other/alias"). */
function ownName(names: string[]): string {
  const own = names.find((n) => n.lastIndexOf('/') === 0) ?? names[0] ?? '';
  return own.replace(/^\//, '');
}

export function containerSummary(j: DockerContainerSummary): ContainerSummary {
  return { id: j.Id, name: ownName(j.Names ?? []), image: j.Image, labels: j.Labels ?? {}, state: state(j.State), status: j.Status, created: j.Created };
}

/** "80/tcp" and a binding list as PortStates (a host port "" or "8000-8010" is for the engine to pick). */
function portStates(key: string, list: DockerPortBinding[] | null | undefined): PortState[] {
  const port = parsePortKey(key);
  if (!port) return [];
  const base = { containerPort: port.port, protocol: port.protocol };
  if (!list || list.length === 0) return [base];
  return list.map((b) => {
    const out: PortState = { ...base, hostIp: b.HostIp };
    if (/^\d+$/.test(b.HostPort)) out.hostPort = Number(b.HostPort);
    return out;
  });
}

/**
 * Published ports. A running container reports the bindings actually made (ephemeral host ports
 * filled in); a stopped one reports none, so its configured bindings and exposed ports are used.
 */
function ports(j: DockerContainerInspect): PortState[] {
  const live = j.NetworkSettings?.Ports;
  if (live && Object.keys(live).length > 0) return Object.entries(live).flatMap(([key, list]) => portStates(key, list));
  const configured = j.HostConfig?.PortBindings ?? {};
  const exposed = Object.keys(j.Config.ExposedPorts ?? {}).filter((key) => !(key in configured));
  return [...exposed.flatMap((key) => portStates(key, [])), ...Object.entries(configured).flatMap(([key, list]) => portStates(key, list))];
}

export function containerInfo(j: DockerContainerInspect): ContainerInfo {
  const s = j.State;
  const info: ContainerInfo = {
    id: j.Id,
    name: j.Name.replace(/^\//, ''),
    image: j.Config.Image,
    imageId: j.Image,
    labels: j.Config.Labels ?? {},
    created: j.Created,
    state: {
      status: state(s.Status),
      running: s.Running,
      paused: s.Paused,
      restarting: s.Restarting,
      oomKilled: s.OOMKilled,
      pid: s.Pid,
      exitCode: s.ExitCode,
      startedAt: s.StartedAt,
      finishedAt: s.FinishedAt,
    },
    config: {
      cmd: j.Config.Cmd ?? null,
      entrypoint: j.Config.Entrypoint ?? null,
      env: j.Config.Env ?? [],
      tty: j.Config.Tty,
      openStdin: j.Config.OpenStdin,
    },
    ports: ports(j),
    networks: Object.fromEntries(
      Object.entries(j.NetworkSettings?.Networks ?? {}).map(([name, n]) => [name, { ipAddress: n.IPAddress ?? '', aliases: n.Aliases ?? [], networkId: n.NetworkID ?? '' }]),
    ),
    mounts: (j.Mounts ?? []).map((m) => {
      const mount: ContainerInfo['mounts'][number] = { type: m.Type, source: m.Source, destination: m.Destination, rw: m.RW };
      if (m.Name) mount.name = m.Name;
      return mount;
    }),
    restartCount: j.RestartCount,
  };
  if (s.Health) {
    info.state.health = {
      status: s.Health.Status === 'healthy' || s.Health.Status === 'unhealthy' ? s.Health.Status : 'starting',
      failingStreak: s.Health.FailingStreak,
      log: (s.Health.Log ?? []).map((l) => ({ exitCode: l.ExitCode, output: l.Output })),
    };
  }
  return info;
}

export function networkInfo(j: DockerNetwork): NetworkInfo {
  const ipam = j.IPAM;
  const info: NetworkInfo = {
    id: j.Id,
    name: j.Name,
    driver: j.Driver,
    labels: j.Labels ?? {},
    internal: j.Internal,
    containers: Object.fromEntries(Object.entries(j.Containers ?? {}).map(([id, c]) => [id, c.Name])),
    options: j.Options ?? {},
    ipam: undefined,
  };
  if (ipam) {
    info.ipam = {
      config: (ipam.Config ?? []).map((c) => {
        const out: NonNullable<NetworkInfo['ipam']>['config'][number] = {};
        if (c.Subnet) out.subnet = c.Subnet;
        if (c.IPRange) out.ipRange = c.IPRange;
        if (c.Gateway) out.gateway = c.Gateway;
        if (c.AuxiliaryAddresses && Object.keys(c.AuxiliaryAddresses).length > 0) out.auxAddresses = c.AuxiliaryAddresses;
        return out;
      }),
    };
    if (ipam.Driver) info.ipam.driver = ipam.Driver;
    if (ipam.Options && Object.keys(ipam.Options).length > 0) info.ipam.options = ipam.Options;
  }
  return info;
}

export function volumeInfo(j: DockerVolume): VolumeInfo {
  return { name: j.Name, driver: j.Driver, labels: j.Labels ?? {}, mountpoint: j.Mountpoint, options: j.Options ?? {} };
}

const EVENT_TYPES: readonly string[] = ['container', 'image', 'network', 'volume'];

/**
 * One line of GET /events. `timeNano` is read from the text: as a JSON number it exceeds 2^53 and
 * would lose its last digits.
 */
export function engineEvent(line: string): EngineEvent | null {
  const j = JSON.parse(line) as DockerEvent;
  if (!j.Type || !EVENT_TYPES.includes(j.Type)) return null;
  const nano = /"timeNano"\s*:\s*(\d+)/.exec(line)?.[1];
  return {
    type: j.Type as EngineEvent['type'],
    action: j.Action ?? '',
    id: j.Actor?.ID ?? '',
    attributes: j.Actor?.Attributes ?? {},
    timeNano: nano !== undefined ? BigInt(nano) : BigInt(j.time ?? 0) * 1_000_000_000n,
  };
}

/** `{"k": "v", "x": true}` → Docker's label filter values ["k=v", "x"]. */
export function labelFilter(labels: Record<string, string | true>): string[] {
  return Object.entries(labels).map(([k, v]) => (v === true ? k : `${k}=${v}`));
}
