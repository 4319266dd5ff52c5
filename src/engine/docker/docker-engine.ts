/**
 * The Docker Engine backend: the Engine interface over the Docker Engine API (dockerd 20.10 and
 * later; API 1.25 to 1.47, negotiated once per engine). One keep-alive connection pool serves
 * every call, so the reconciler's many small requests cost a round trip each and nothing more.
 */
import type {
  AttachOptions,
  BuildRequest,
  ContainerInfo,
  ContainerSpec,
  ContainerPathStat,
  ContainerStatsSample,
  ExtractOptions,
  ContainerSummary,
  EndpointSpec,
  Engine,
  EngineEvent,
  EngineVersion,
  EventFilter,
  ExecSpec,
  ImageInfo,
  ImageSummary,
  LogChunk,
  LogOptions,
  NetworkInfo,
  NetworkSpec,
  ProgressSink,
  StreamSession,
  VolumeInfo,
  VolumeSpec,
} from '../../contract/engine.js';
import { DockerClient } from './client.js';
import * as containers from './containers.js';
import { resolveEndpoint, type EndpointOptions } from './endpoint.js';
import * as images from './images.js';
import * as io from './io.js';
import * as objects from './objects.js';
import { registryAuthFor } from './registry-auth.js';
import { seg } from './paths.js';

export type DockerEngineOptions = EndpointOptions;

export class DockerEngine implements Engine {
  private readonly client: DockerClient;
  /** Where the Docker config (registry credentials) is found: DOCKER_CONFIG, HOME. */
  private readonly env: Readonly<Record<string, string | undefined>>;

  /** Throws an EngineError (unreachable) when the host or the TLS files are unusable. */
  constructor(options: DockerEngineOptions = {}) {
    this.client = new DockerClient(resolveEndpoint(options));
    this.env = options.env ?? process.env;
  }

  /** `unix:///var/run/docker.sock`, `tcp://host:2376`: how messages name this engine. */
  get address(): string {
    return this.client.endpoint.address;
  }

  /** Starts the version negotiation without waiting; a failure is reported by the next call. */
  warmUp(): void {
    this.client.serverVersion().catch(() => undefined);
  }

  async version(): Promise<EngineVersion> {
    const { server, api } = await this.client.serverVersion();
    return { engine: 'docker', version: server.Version, apiVersion: api, os: server.Os, arch: server.Arch };
  }

  // ---- images ----

  inspectImage(ref: string): Promise<ImageInfo | null> {
    return images.inspectImage(this.client, ref);
  }

  listImages(): Promise<ImageSummary[]> {
    return images.listImages(this.client);
  }

  /** With the Docker config's credentials for the image's registry, as the docker CLI sends them. */
  async pullImage(ref: string, progress?: ProgressSink): Promise<void> {
    return images.pullImage(this.client, ref, await registryAuthFor(ref, this.env), progress);
  }

  buildImage(request: BuildRequest, progress?: ProgressSink): Promise<string> {
    return images.buildImage(this.client, request, progress);
  }

  async pushImage(ref: string, progress?: ProgressSink): Promise<string> {
    return images.pushImage(this.client, ref, await registryAuthFor(ref, this.env), progress);
  }

  /**
   * Not part of the Engine interface (yet): the registry's manifest digest for a reference, without
   * pulling it; null when the registry does not have it. `bundle` and `config
   * --resolve-image-digests` use it when the image is not on the engine.
   */
  async registryDigest(ref: string): Promise<string | null> {
    return images.registryDigest(this.client, ref, await registryAuthFor(ref, this.env));
  }

  tagImage(source: string, target: string): Promise<void> {
    return images.tagImage(this.client, source, target);
  }

  removeImage(ref: string, options?: { force?: boolean }): Promise<void> {
    return images.removeImage(this.client, ref, options?.force);
  }

  // ---- containers ----

  listContainers(query: { labels: Record<string, string | true>; all: boolean }): Promise<ContainerSummary[]> {
    return containers.listContainers(this.client, query);
  }

  inspectContainer(idOrName: string): Promise<ContainerInfo | null> {
    return containers.inspectContainer(this.client, idOrName);
  }

  createContainer(spec: ContainerSpec): Promise<string> {
    return containers.createContainer(this.client, spec);
  }

  private async post(path: string, query?: Record<string, string | number | boolean | undefined>): Promise<void> {
    await this.client.json('POST', path, query ? { query } : {});
  }

  startContainer(id: string): Promise<void> {
    return this.post(`/containers/${seg(id)}/start`);
  }

  stopContainer(id: string, timeout?: number): Promise<void> {
    return this.post(`/containers/${seg(id)}/stop`, { t: timeout });
  }

  restartContainer(id: string, timeout?: number): Promise<void> {
    return this.post(`/containers/${seg(id)}/restart`, { t: timeout });
  }

  killContainer(id: string, signal?: string): Promise<void> {
    return this.post(`/containers/${seg(id)}/kill`, { signal });
  }

  async removeContainer(id: string, options?: { force?: boolean; volumes?: boolean }): Promise<void> {
    await this.client.json('DELETE', `/containers/${seg(id)}`, { query: { force: options?.force || undefined, v: options?.volumes || undefined } });
  }

  renameContainer(id: string, name: string): Promise<void> {
    return this.post(`/containers/${seg(id)}/rename`, { name });
  }

  pauseContainer(id: string): Promise<void> {
    return this.post(`/containers/${seg(id)}/pause`);
  }

  unpauseContainer(id: string): Promise<void> {
    return this.post(`/containers/${seg(id)}/unpause`);
  }

  waitContainer(id: string, signal?: AbortSignal): Promise<number> {
    return containers.waitContainer(this.client, id, signal);
  }

  containerLogs(id: string, options: LogOptions): AsyncIterable<LogChunk> {
    return io.containerLogs(this.client, id, options);
  }

  attachContainer(id: string, options: AttachOptions): Promise<StreamSession> {
    return io.attachContainer(this.client, id, options);
  }

  exec(id: string, spec: ExecSpec): Promise<StreamSession> {
    return io.exec(this.client, id, spec);
  }

  top(id: string, psArgs?: string): Promise<{ titles: string[]; processes: string[][] }> {
    return containers.top(this.client, id, psArgs);
  }

  containerStats(id: string): Promise<ContainerStatsSample> {
    return containers.stats(this.client, id);
  }

  statContainerPath(id: string, path: string): Promise<ContainerPathStat | null> {
    return containers.statPath(this.client, id, path);
  }

  containerArchive(id: string, path: string, signal?: AbortSignal): AsyncIterable<Buffer> {
    return containers.archive(this.client, id, path, signal);
  }

  extractToContainer(id: string, path: string, archive: NodeJS.ReadableStream, options: ExtractOptions): Promise<void> {
    return containers.extract(this.client, id, path, archive, options);
  }

  // ---- networks and volumes ----

  listNetworks(labels: Record<string, string | true>): Promise<NetworkInfo[]> {
    return objects.listNetworks(this.client, labels);
  }

  inspectNetwork(name: string): Promise<NetworkInfo | null> {
    return objects.inspectNetwork(this.client, name);
  }

  createNetwork(spec: NetworkSpec): Promise<string> {
    return objects.createNetwork(this.client, spec);
  }

  removeNetwork(name: string): Promise<void> {
    return objects.removeNetwork(this.client, name);
  }

  connectNetwork(network: string, container: string, endpoint: EndpointSpec): Promise<void> {
    return objects.connectNetwork(this.client, network, container, endpoint);
  }

  disconnectNetwork(network: string, container: string, force?: boolean): Promise<void> {
    return objects.disconnectNetwork(this.client, network, container, force);
  }

  listVolumes(labels: Record<string, string | true>): Promise<VolumeInfo[]> {
    return objects.listVolumes(this.client, labels);
  }

  inspectVolume(name: string): Promise<VolumeInfo | null> {
    return objects.inspectVolume(this.client, name);
  }

  createVolume(spec: VolumeSpec): Promise<VolumeInfo> {
    return objects.createVolume(this.client, spec);
  }

  removeVolume(name: string, force?: boolean): Promise<void> {
    return objects.removeVolume(this.client, name, force);
  }

  events(filter: EventFilter): AsyncIterable<EngineEvent> {
    return objects.events(this.client, filter);
  }

  close(): void {
    this.client.close();
  }
}
