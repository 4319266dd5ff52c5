/** Containers: list, inspect, create, and the lifecycle calls. */
import { EngineError } from '../../contract/errors.js';
import type { ContainerFileSpec, ContainerInfo, ContainerPathStat, ContainerSpec, ExtractOptions, ContainerStatsSample, ContainerSummary, EndpointSpec } from '../../contract/engine.js';
import { packTar, type PackItem } from '../../util/tar-pack.js';
import type { DockerContainerInspect, DockerContainerSummary } from './api-types.js';
import type { DockerClient } from './client.js';
import { createPlan, endpointBody } from './create-body.js';
import { containerInfo, containerSummary, labelFilter } from './from-api.js';
import { jsonFilters, orNull, seg } from './paths.js';

export async function listContainers(client: DockerClient, query: { labels: Record<string, string | true>; all: boolean }): Promise<ContainerSummary[]> {
  const filters = jsonFilters({ label: labelFilter(query.labels) });
  const list = await client.json<DockerContainerSummary[]>('GET', '/containers/json', { query: { all: query.all || undefined, filters } });
  return (list ?? []).map(containerSummary);
}

export async function inspectContainerJson(client: DockerClient, id: string): Promise<DockerContainerInspect | null> {
  return orNull(client.json<DockerContainerInspect>('GET', `/containers/${seg(id)}/json`));
}

export async function inspectContainer(client: DockerClient, id: string): Promise<ContainerInfo | null> {
  const j = await inspectContainerJson(client, id);
  return j ? containerInfo(j) : null;
}

export async function connectNetwork(client: DockerClient, network: string, container: string, endpoint: Record<string, unknown>): Promise<void> {
  await client.json('POST', `/networks/${seg(network)}/connect`, { body: { Container: container, EndpointConfig: endpoint } });
}

export function connectEndpoint(client: DockerClient, network: string, container: string, endpoint: EndpointSpec): Promise<void> {
  return connectNetwork(client, network, container, endpointBody(endpoint));
}

/** Creates the container and joins all its networks: one operation for the caller. */
export async function createContainer(client: DockerClient, spec: ContainerSpec): Promise<string> {
  const plan = createPlan(spec, await client.apiVersion());
  const created = await client.json<{ Id: string }>('POST', '/containers/create', { query: plan.query, body: plan.body });
  const id = created?.Id;
  if (!id) throw new EngineError('engine', `the engine created no container for ${spec.name}`);
  if (plan.connect.length > 0 || (spec.files ?? []).length > 0) {
    try {
      await Promise.all(plan.connect.map(([network, endpoint]) => connectNetwork(client, network, id, endpoint)));
      if (spec.files && spec.files.length > 0) await writeFiles(client, id, spec.files);
    } catch (e) {
      // Leave nothing half made: a retry would find the name taken.
      await client.json('DELETE', `/containers/${seg(id)}`, { query: { force: true, v: true } }).catch(() => undefined);
      throw e;
    }
  }
  return id;
}

/** The spec's files, copied into the created container as one archive extracted at "/" (as `docker cp` does). */
async function writeFiles(client: DockerClient, id: string, files: readonly ContainerFileSpec[]): Promise<void> {
  const mtime = Math.floor(Date.now() / 1000);
  const items: PackItem[] = files.map((f) => {
    const body = Buffer.from(f.contentBase64, 'base64');
    return { entry: { name: f.target.replace(/^\/+/, ''), type: 'file', mode: f.mode, mtime, size: body.length, uid: f.uid ?? 0, gid: f.gid ?? 0 }, body };
  });
  await client.json('PUT', `/containers/${seg(id)}/archive`, { query: { path: '/', copyUIDGID: files.some((f) => f.uid !== undefined || f.gid !== undefined) || undefined }, file: packTar(items), headers: { 'Content-Type': 'application/x-tar' } });
}

/** Go's os.FileMode (as X-Docker-Container-Path-Stat carries it) in the Engine's terms. */
function fromGoMode(goMode: number): { type: ContainerPathStat['type']; mode: number } {
  const has = (bit: number) => Math.floor(goMode / 2 ** bit) % 2 === 1;
  // ModeDir 31, ModeSymlink 27; device 26, named pipe 25, socket 24, char device 21, irregular 19.
  const type = has(31) ? 'directory' : has(27) ? 'symlink' : [26, 25, 24, 21, 19].some(has) ? 'other' : 'file';
  // Go keeps setuid (23), setgid (22) and sticky (20) apart from the permission bits.
  const special = (has(23) ? 0o4000 : 0) | (has(22) ? 0o2000 : 0) | (has(20) ? 0o1000 : 0);
  return { type, mode: (goMode % 0o1000) | special };
}

/** `HEAD /containers/{id}/archive`: the path's stat, null when it does not exist. */
export async function statPath(client: DockerClient, id: string, path: string): Promise<ContainerPathStat | null> {
  const res = await orNull(client.response('HEAD', `/containers/${seg(id)}/archive`, { query: { path } }));
  if (!res) return null;
  res.resume();
  const header = res.headers['x-docker-container-path-stat'];
  if (typeof header !== 'string') throw new EngineError('engine', `the Docker engine sent no path stat for ${path}`);
  const raw = JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as { name: string; size: number; mode: number; mtime: string; linkTarget: string };
  const { type, mode } = fromGoMode(raw.mode);
  return { name: raw.name, size: raw.size, mode, type, mtime: raw.mtime, linkTarget: raw.linkTarget ?? '' };
}

/** `GET /containers/{id}/archive`: the tar of a path. */
export async function* archive(client: DockerClient, id: string, path: string, signal?: AbortSignal): AsyncGenerator<Buffer> {
  const res = await client.response('GET', `/containers/${seg(id)}/archive`, signal ? { query: { path }, signal } : { query: { path } });
  for await (const chunk of res) yield chunk as Buffer;
}

/** `PUT /containers/{id}/archive`: a tar extracted into a directory of the container. */
export async function extract(client: DockerClient, id: string, path: string, tar: NodeJS.ReadableStream, options: ExtractOptions): Promise<void> {
  await client.json('PUT', `/containers/${seg(id)}/archive`, { query: { path, copyUIDGID: options.copyUIDGID || undefined, noOverwriteDirNonDir: true }, file: tar, headers: { 'Content-Type': 'application/x-tar' } });
}

export async function waitContainer(client: DockerClient, id: string, signal?: AbortSignal): Promise<number> {
  const options = signal ? { query: { condition: 'not-running' }, signal } : { query: { condition: 'not-running' } };
  const result = await client.json<{ StatusCode: number }>('POST', `/containers/${seg(id)}/wait`, options);
  return result?.StatusCode ?? 0;
}

export async function top(client: DockerClient, id: string, psArgs?: string): Promise<{ titles: string[]; processes: string[][] }> {
  const j = await client.json<{ Titles: string[] | null; Processes: string[][] | null }>('GET', `/containers/${seg(id)}/top`, { query: { ps_args: psArgs } });
  return { titles: j?.Titles ?? [], processes: j?.Processes ?? [] };
}

interface DockerStats {
  read?: string;
  cpu_stats?: { cpu_usage?: { total_usage?: number } };
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
  networks?: Record<string, { rx_bytes?: number; tx_bytes?: number }>;
  blkio_stats?: { io_service_bytes_recursive?: { op?: string; value?: number }[] | null };
  pids_stats?: { current?: number };
}

/** One reading of `GET /containers/{id}/stats` (not streamed), in the Engine's terms. */
export async function stats(client: DockerClient, id: string): Promise<ContainerStatsSample> {
  const j = await client.json<DockerStats>('GET', `/containers/${seg(id)}/stats`, { query: { stream: false, 'one-shot': true } });
  if (!j) throw new EngineError('not-found', `No such container: ${id}`);
  const memory = j.memory_stats ?? {};
  const inactive = memory.stats?.['total_inactive_file'] ?? memory.stats?.['inactive_file'] ?? 0;
  const usage = memory.usage ?? 0;
  const io = j.blkio_stats?.io_service_bytes_recursive ?? [];
  const sum = (op: string) => io.filter((e) => e.op?.toLowerCase() === op).reduce((n, e) => n + (e.value ?? 0), 0);
  const nets = Object.values(j.networks ?? {});
  const readAt = Date.parse(j.read ?? '');
  return {
    readAt: Number.isFinite(readAt) && readAt > 0 ? readAt : Date.now(),
    cpuNanos: j.cpu_stats?.cpu_usage?.total_usage ?? 0,
    memoryBytes: Math.max(0, usage - (inactive < usage ? inactive : 0)),
    memoryLimit: memory.limit ?? 0,
    networkRx: nets.reduce((n, x) => n + (x.rx_bytes ?? 0), 0),
    networkTx: nets.reduce((n, x) => n + (x.tx_bytes ?? 0), 0),
    blockRead: sum('read'),
    blockWrite: sum('write'),
    pids: j.pids_stats?.current ?? 0,
  };
}
