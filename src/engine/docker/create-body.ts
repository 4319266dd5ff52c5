/**
 * ContainerSpec → the body of POST /containers/create (Config + HostConfig + NetworkingConfig).
 * Docker's string encodings are made here and nowhere else: ports as "80/tcp" with host ports
 * "8000-8010", binds "src:dst:ro,z", links and volumes_from "name:mode", "container:<id>" modes.
 * Engines before API 1.44 take one endpoint at creation; the others are returned as `connect`
 * for createContainer to join before it returns.
 */
import type { ContainerSpec, EndpointSpec, HealthcheckSpec, LinkSpec, MountSpec, NamespaceSpec, NetworkModeSpec, PublishedPortSpec } from '../../contract/engine.js';
import { EngineError } from '../../contract/errors.js';
import { compareVersions } from './client.js';

export interface CreatePlan {
  query: { name: string; platform?: string };
  body: Record<string, unknown>;
  /** Networks to connect after the create call: name → endpoint body. */
  connect: [string, Record<string, unknown>][];
}

/** Drops undefined values, so the engine applies its defaults. */
function defined(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out;
}

export function healthcheckBody(h: HealthcheckSpec): Record<string, unknown> {
  return defined({ Test: h.test, Interval: h.interval, Timeout: h.timeout, StartPeriod: h.startPeriod, StartInterval: h.startInterval, Retries: h.retries });
}

/** "80/tcp": a port as Docker keys ExposedPorts and PortBindings. */
export function portKey(port: number, protocol: string): string {
  return `${port}/${protocol}`;
}

function hostPort(p: PublishedPortSpec): string {
  if (!p.hostPorts) return '';
  const { start, end } = p.hostPorts;
  return start === end ? String(start) : `${start}-${end}`;
}

function links(list: readonly LinkSpec[]): string[] {
  return list.map((l) => `${l.container}:${l.alias}`);
}

function networkMode(mode: NetworkModeSpec, primary: string | undefined): string {
  if (mode.kind === 'networks') return primary ?? 'default';
  return mode.kind === 'container' ? `container:${mode.container}` : mode.kind;
}

function namespace(mode: NamespaceSpec | undefined): string | undefined {
  if (!mode) return undefined;
  return mode.kind === 'container' ? `container:${mode.container}` : mode.kind;
}

/** A bind that creates its missing host path is a `-v` bind: only HostConfig.Binds does that (and relabels). */
function isLegacyBind(m: MountSpec): boolean {
  return m.type === 'bind' && m.createHostPath === true;
}

function bindString(m: MountSpec): string {
  const modes = [m.readOnly ? 'ro' : 'rw'];
  if (m.selinuxRelabel) modes.push(m.selinuxRelabel);
  if (m.bindPropagation) modes.push(m.bindPropagation);
  if (m.consistency) modes.push(m.consistency);
  return `${m.source ?? ''}:${m.target}:${modes.join(',')}`;
}

export function endpointBody(e: EndpointSpec, macAddress?: string): Record<string, unknown> {
  const ipam =
    e.ipv4Address || e.ipv6Address || (e.linkLocalIps && e.linkLocalIps.length > 0)
      ? defined({ IPv4Address: e.ipv4Address || undefined, IPv6Address: e.ipv6Address || undefined, LinkLocalIPs: e.linkLocalIps?.length ? e.linkLocalIps : undefined })
      : undefined;
  return defined({ Aliases: e.aliases, IPAMConfig: ipam, Links: e.links?.length ? links(e.links) : undefined, MacAddress: macAddress });
}

function mountBody(m: MountSpec): Record<string, unknown> {
  return defined({
    Type: m.type,
    Source: m.source,
    Target: m.target,
    ReadOnly: m.readOnly,
    Consistency: m.consistency,
    BindOptions: m.type === 'bind' && m.bindPropagation ? { Propagation: m.bindPropagation } : undefined,
    VolumeOptions: m.type === 'volume' && m.volumeNoCopy !== undefined ? { NoCopy: m.volumeNoCopy } : undefined,
    TmpfsOptions: m.type === 'tmpfs' && m.tmpfsSize !== undefined ? { SizeBytes: m.tmpfsSize } : undefined,
  });
}

function toSet(keys: string[]): Record<string, object> | undefined {
  if (keys.length === 0) return undefined;
  return Object.fromEntries(keys.map((k) => [k, {}]));
}

export function createPlan(spec: ContainerSpec, apiVersion: string): CreatePlan {
  // Compose v2's refusal (an older engine would ignore the field, and probe at `interval`).
  if (spec.healthcheck?.startInterval !== undefined && compareVersions(apiVersion, '1.44') < 0) {
    throw new EngineError('invalid', `can't set healthcheck.start_interval as feature require Docker Engine v25 or later (the engine speaks API ${apiVersion})`);
  }
  const multiEndpoint = compareVersions(apiVersion, '1.44') >= 0;
  const networkNames = Object.keys(spec.networks);
  const primary = networkNames[0];
  // Since API 1.44 the MAC address belongs to an endpoint (the primary one).
  const macInEndpoint = multiEndpoint && primary !== undefined && spec.macAddress !== undefined;
  const endpoints: Record<string, unknown> = {};
  const connect: [string, Record<string, unknown>][] = [];
  networkNames.forEach((name, i) => {
    const body = endpointBody(spec.networks[name]!, i === 0 && macInEndpoint ? spec.macAddress : undefined);
    if (i === 0 || multiEndpoint) endpoints[name] = body;
    else connect.push([name, body]);
  });

  const portBindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of spec.publishedPorts) (portBindings[portKey(p.containerPort, p.protocol)] ??= []).push({ HostIp: p.hostIp, HostPort: hostPort(p) });
  const exposed = [...new Set([...spec.exposedPorts.map((p) => portKey(p.port, p.protocol)), ...Object.keys(portBindings)])];

  const config = defined({
    Hostname: spec.hostname,
    Domainname: spec.domainname,
    User: spec.user,
    // Attaching stdin to an interactive container closes it when that client's stdin ends (EOF),
    // as `docker run -i` does; see the report on ContainerSpec for a dedicated field.
    AttachStdin: spec.openStdin,
    StdinOnce: spec.openStdin,
    OpenStdin: spec.openStdin,
    Tty: spec.tty,
    Env: spec.env,
    Cmd: spec.command,
    // An empty list clears the image's entrypoint, which the API spells [""].
    Entrypoint: spec.entrypoint === undefined ? undefined : spec.entrypoint.length === 0 ? [''] : spec.entrypoint,
    Image: spec.image,
    Labels: spec.labels,
    WorkingDir: spec.workingDir,
    MacAddress: macInEndpoint ? undefined : spec.macAddress,
    StopSignal: spec.stopSignal,
    StopTimeout: spec.stopTimeout,
    ExposedPorts: toSet(exposed),
    Healthcheck: spec.healthcheck ? healthcheckBody(spec.healthcheck) : undefined,
  });

  const hostConfig = defined({
    NetworkMode: networkMode(spec.networkMode, primary),
    Binds: spec.mounts.filter(isLegacyBind).map(bindString),
    Mounts: spec.mounts.filter((m) => !isLegacyBind(m)).map(mountBody),
    VolumesFrom: spec.volumesFrom.map((v) => (v.mode ? `${v.container}:${v.mode}` : v.container)),
    Tmpfs: Object.fromEntries(spec.tmpfs.map((t) => [t.target, t.options.join(',')])),
    Links: links(spec.links),
    PortBindings: portBindings,
    RestartPolicy: spec.restartPolicy ? { Name: spec.restartPolicy.name, MaximumRetryCount: spec.restartPolicy.maximumRetryCount } : undefined,
    Privileged: spec.privileged,
    ReadonlyRootfs: spec.readOnlyRootfs,
    Init: spec.init,
    CapAdd: spec.capAdd,
    CapDrop: spec.capDrop,
    Devices: spec.devices.map((d) => ({ PathOnHost: d.pathOnHost, PathInContainer: d.pathInContainer, CgroupPermissions: d.permissions })),
    DeviceCgroupRules: spec.deviceCgroupRules,
    Dns: spec.dns,
    DnsSearch: spec.dnsSearch,
    DnsOptions: spec.dnsOptions,
    ExtraHosts: spec.extraHosts.map((h) => `${h.host}:${h.ip}`),
    GroupAdd: spec.groupAdd,
    IpcMode: namespace(spec.ipcMode),
    PidMode: namespace(spec.pidMode),
    UsernsMode: spec.userNsMode,
    CgroupParent: spec.cgroupParent,
    ShmSize: spec.shmSize,
    Sysctls: spec.sysctls,
    Ulimits: spec.ulimits.map((u) => ({ Name: u.name, Soft: u.soft, Hard: u.hard })),
    SecurityOpt: spec.securityOpt,
    LogConfig: spec.logConfig ? { Type: spec.logConfig.type, Config: spec.logConfig.config } : undefined,
    Memory: spec.memory,
    MemorySwap: spec.memorySwap,
    MemoryReservation: spec.memoryReservation,
    MemorySwappiness: spec.memorySwappiness,
    NanoCpus: spec.nanoCpus,
    CpuShares: spec.cpuShares,
    CpuQuota: spec.cpuQuota,
    CpuPeriod: spec.cpuPeriod,
    CpusetCpus: spec.cpusetCpus,
    PidsLimit: spec.pidsLimit,
    OomKillDisable: spec.oomKillDisable,
    OomScoreAdj: spec.oomScoreAdj,
    Runtime: spec.runtime,
    Isolation: spec.isolation,
    StorageOpt: spec.storageOpt,
  });

  const query: CreatePlan['query'] = { name: spec.name };
  if (spec.platform) query.platform = spec.platform;
  return {
    query,
    body: { ...config, HostConfig: hostConfig, NetworkingConfig: { EndpointsConfig: endpoints } },
    connect,
  };
}
