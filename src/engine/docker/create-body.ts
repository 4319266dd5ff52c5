/**
 * ContainerSpec → the body of POST /containers/create (Config + HostConfig + NetworkingConfig).
 * Engines before API 1.44 take one endpoint at creation; the others are returned as `connect`
 * for createContainer to join before it returns.
 */
import type { ContainerSpec, EndpointSpec, HealthcheckSpec, MountSpec } from '../../contract/engine.js';
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
  return { Test: h.test, Interval: h.interval, Timeout: h.timeout, StartPeriod: h.startPeriod, Retries: h.retries };
}

export function endpointBody(e: EndpointSpec, macAddress?: string): Record<string, unknown> {
  const ipam =
    e.ipv4Address || e.ipv6Address || (e.linkLocalIps && e.linkLocalIps.length > 0)
      ? defined({ IPv4Address: e.ipv4Address || undefined, IPv6Address: e.ipv6Address || undefined, LinkLocalIPs: e.linkLocalIps?.length ? e.linkLocalIps : undefined })
      : undefined;
  return defined({ Aliases: e.aliases, IPAMConfig: ipam, Links: e.links?.length ? e.links : undefined, MacAddress: macAddress });
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

  // A bind with no source ("/data") is an anonymous volume: Config.Volumes, not HostConfig.Binds.
  const anonymous = spec.binds.filter((b) => !b.includes(':'));
  const binds = spec.binds.filter((b) => b.includes(':'));

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
    ExposedPorts: toSet([...new Set([...spec.exposedPorts, ...Object.keys(spec.portBindings)])]),
    Volumes: toSet(anonymous),
    Healthcheck: spec.healthcheck ? healthcheckBody(spec.healthcheck) : undefined,
  });

  const hostConfig = defined({
    NetworkMode: spec.networkMode,
    Binds: binds,
    Mounts: spec.mounts.map(mountBody),
    VolumesFrom: spec.volumesFrom,
    Tmpfs: spec.tmpfs,
    Links: spec.links,
    PortBindings: Object.fromEntries(Object.entries(spec.portBindings).map(([port, bs]) => [port, bs.map((b) => ({ HostIp: b.hostIp, HostPort: b.hostPort }))])),
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
    ExtraHosts: spec.extraHosts,
    GroupAdd: spec.groupAdd,
    IpcMode: spec.ipcMode,
    PidMode: spec.pidMode,
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
