/** Networks, volumes and the event stream. */
import type { EndpointSpec, EngineEvent, EventFilter, NetworkInfo, NetworkSpec, VolumeInfo, VolumeSpec } from '../../contract/engine.js';
import { EngineError } from '../../contract/errors.js';
import type { DockerNetwork, DockerVolume } from './api-types.js';
import type { DockerClient } from './client.js';
import { connectEndpoint } from './containers.js';
import { engineEvent, labelFilter, networkInfo, volumeInfo } from './from-api.js';
import { jsonFilters, orNull, seg } from './paths.js';
import { lines, untilAborted } from './streams.js';

export async function listNetworks(client: DockerClient, labels: Record<string, string | true>): Promise<NetworkInfo[]> {
  const list = await client.json<DockerNetwork[]>('GET', '/networks', { query: { filters: jsonFilters({ label: labelFilter(labels) }) } });
  return (list ?? []).map(networkInfo);
}

export async function inspectNetwork(client: DockerClient, name: string): Promise<NetworkInfo | null> {
  const j = await orNull(client.json<DockerNetwork>('GET', `/networks/${seg(name)}`));
  return j ? networkInfo(j) : null;
}

export async function createNetwork(client: DockerClient, spec: NetworkSpec): Promise<string> {
  const body: Record<string, unknown> = {
    Name: spec.name,
    CheckDuplicate: true,
    Driver: spec.driver ?? 'bridge',
    Options: spec.driverOpts,
    Internal: spec.internal,
    EnableIPv6: spec.enableIpv6,
    Attachable: spec.attachable,
    Labels: spec.labels,
  };
  if (spec.ipam) {
    body['IPAM'] = {
      Driver: spec.ipam.driver ?? 'default',
      Config: spec.ipam.config.map((c) => ({ Subnet: c.subnet, IPRange: c.ipRange, Gateway: c.gateway, AuxiliaryAddresses: c.auxAddresses })),
      Options: spec.ipam.options ?? {},
    };
  }
  const created = await client.json<{ Id: string }>('POST', '/networks/create', { body });
  if (!created?.Id) throw new EngineError('engine', `the engine created no network for ${spec.name}`);
  return created.Id;
}

export async function removeNetwork(client: DockerClient, name: string): Promise<void> {
  await client.json('DELETE', `/networks/${seg(name)}`);
}

export function connectNetwork(client: DockerClient, network: string, container: string, endpoint: EndpointSpec): Promise<void> {
  return connectEndpoint(client, network, container, endpoint);
}

export async function disconnectNetwork(client: DockerClient, network: string, container: string, force = false): Promise<void> {
  await client.json('POST', `/networks/${seg(network)}/disconnect`, { body: { Container: container, Force: force } });
}

export async function listVolumes(client: DockerClient, labels: Record<string, string | true>): Promise<VolumeInfo[]> {
  const j = await client.json<{ Volumes: DockerVolume[] | null }>('GET', '/volumes', { query: { filters: jsonFilters({ label: labelFilter(labels) }) } });
  return (j?.Volumes ?? []).map(volumeInfo);
}

export async function inspectVolume(client: DockerClient, name: string): Promise<VolumeInfo | null> {
  const j = await orNull(client.json<DockerVolume>('GET', `/volumes/${seg(name)}`));
  return j ? volumeInfo(j) : null;
}

export async function createVolume(client: DockerClient, spec: VolumeSpec): Promise<VolumeInfo> {
  const j = await client.json<DockerVolume>('POST', '/volumes/create', {
    body: { Name: spec.name, Driver: spec.driver ?? 'local', DriverOpts: spec.driverOpts, Labels: spec.labels },
  });
  if (!j) throw new EngineError('engine', `the engine created no volume for ${spec.name}`);
  return volumeInfo(j);
}

export async function removeVolume(client: DockerClient, name: string, force = false): Promise<void> {
  await client.json('DELETE', `/volumes/${seg(name)}`, { query: { force: force || undefined } });
}

export async function* events(client: DockerClient, filter: EventFilter): AsyncGenerator<EngineEvent> {
  const { signal } = filter;
  if (signal?.aborted) return;
  const filters = jsonFilters({ label: filter.labels, type: filter.types });
  const query = { filters, since: filter.since === undefined ? undefined : String(filter.since) };
  let res;
  try {
    res = await client.response('GET', '/events', signal ? { query, signal } : { query });
  } catch (e) {
    if (signal?.aborted) return;
    throw e;
  }
  const body = res;
  for await (const line of untilAborted(lines(body), signal, () => body.destroy())) {
    const event = engineEvent(line);
    if (event) yield event;
  }
}
