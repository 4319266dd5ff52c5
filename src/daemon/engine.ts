/**
 * DaemonEngine: the Engine interface (and the daemon's extras) implemented inside the daemon from
 * its parts: the image store, the network manager, the runtime, the volume store and the
 * container manager. The gRPC server exposes exactly this object.
 */
import type { Readable } from 'node:stream';
import type {
  BuildRequest,
  ContainerInfo,
  ContainerPathStat,
  ContainerSpec,
  ContainerStatsSample,
  ContainerSummary,
  EndpointSpec,
  EngineEvent,
  EngineVersion,
  EventFilter,
  ExecSpec,
  ExtractOptions,
  ImageInfo,
  ImageSummary,
  LogChunk,
  LogOptions,
  NetworkInfo,
  NetworkSpec,
  ProgressSink,
  PullOptions,
  StreamSession,
  VolumeInfo,
  VolumeSpec,
} from '../contract/engine.js';
import { networkBytes } from './runtime/top-stats.js';
import { readContainerFile } from './runtime/rootfs.js';
import { resolveUser } from './runtime/process-config.js';
import { archivePath, extractInto, statPath } from './containers/archive.js';
import { EngineError } from '../contract/errors.js';
import { imageConfigInfo } from '../contract/image-config.js';
import { VERSION } from '../version.js';
import type { DaemonBackend, DaemonStatus, ImageRef } from '../contract/backend.js';
import type { ImageView, NetworkView } from './containers/collaborators.js';
import { notRunning, type ContainerManager } from './containers/manager.js';
import { attachTo, containerLogs, execIn, startAttached, type PendingAttach } from './containers/sessions.js';
import type { EventBus } from './events.js';
import type { DaemonPaths } from './paths.js';
import type { RegistryService } from './registry/service.js';
import type { VolumeStore } from './volumes/store.js';
import type { SwarmCore } from '../swarm/core.js';
import { callSwarm } from '../swarm/serve.js';

/** What the engine needs of the image store (src/daemon/images). */
export interface ImageStoreLike {
  resolve(reference: string): Promise<ImageView | null>;
  list(): Promise<ImageView[]>;
  tag(source: string, target: string): Promise<void>;
  remove(reference: string, options: { force: boolean; inUse: (id: string) => boolean }): Promise<{ untagged: string[]; deleted: string[] }>;
  importRootfs(input: Readable, options?: { reference?: string }): Promise<ImageView>;
  load(input: Readable): Promise<ImageView[]>;
  save(refs: string[]): Promise<Readable>;
}

export interface DaemonEngineParts {
  paths: DaemonPaths;
  images: ImageStoreLike;
  registry: RegistryService;
  containers: ContainerManager;
  volumes: VolumeStore;
  events: EventBus;
  startedAt: string;
  /** Stops the daemon (the server and the process); containers keep running. */
  requestShutdown: () => void;
  /** The Dockerfile builder (src/daemon/build). */
  builder?: { build(request: BuildRequest, progress?: ProgressSink): Promise<string>; prune(all: boolean): Promise<string> };
}


export class DaemonEngine implements DaemonBackend {
  private readonly pendingAttach = new Map<string, PendingAttach>();

  constructor(private readonly parts: DaemonEngineParts) {
    parts.containers.startHook = (record) => startAttached(parts.containers, this.pendingAttach, record);
  }

  private get containers(): ContainerManager {
    return this.parts.containers;
  }

  private get network() {
    return this.parts.containers.deps.network;
  }

  async version(): Promise<EngineVersion> {
    return { engine: 'embedded', version: VERSION, apiVersion: '1.0', os: 'linux', arch: process.arch === 'x64' ? 'amd64' : process.arch };
  }

  // ---- images ---------------------------------------------------------------------------------

  async inspectImage(ref: string): Promise<ImageInfo | null> {
    const image = await this.parts.images.resolve(ref);
    return image ? imageInfo(image) : null;
  }

  async listImages(): Promise<ImageSummary[]> {
    return (await this.parts.images.list()).map((i) => ({
      id: i.id,
      repoTags: i.repoTags,
      repoDigests: i.repoDigests,
      created: Math.floor(Date.parse(i.created) / 1000),
      size: i.size,
      labels: i.config.Labels ?? {},
    }));
  }

  registryDigest(ref: string, options: Pick<PullOptions, 'credentials'> = {}): Promise<string | null> {
    return this.parts.registry.digest(ref, options.credentials ?? null);
  }

  async pullImage(ref: string, progress?: ProgressSink, options: PullOptions = {}): Promise<void> {
    const image = await this.parts.registry.pull(ref, progress, options);
    this.parts.events.emit('image', 'pull', ref, { name: image.repoTags[0] ?? ref });
  }

  async buildImage(request: BuildRequest, progress?: ProgressSink): Promise<string> {
    if (!this.parts.builder) throw new EngineError('invalid', `cannot build ${request.tags[0] ?? request.context}: this daemon has no builder`);
    const id = await this.parts.builder.build(request, progress);
    for (const tag of request.tags) this.parts.events.emit('image', 'tag', id, { name: tag });
    return id;
  }

  async pushImage(ref: string, progress?: ProgressSink, options: Pick<PullOptions, 'credentials'> = {}): Promise<string> {
    const digest = await this.parts.registry.push(ref, progress, options);
    this.parts.events.emit('image', 'push', ref, { name: ref });
    return digest;
  }

  async tagImage(source: string, target: string): Promise<void> {
    await this.parts.images.tag(source, target);
    this.parts.events.emit('image', 'tag', source, { name: target });
  }

  async removeImage(ref: string, options?: { force?: boolean }): Promise<void> {
    await this.imageRemoval(ref, options?.force === true);
  }

  async imageRemoval(ref: string, force: boolean): Promise<string> {
    const result = await this.parts.images.remove(ref, { force, inUse: (id) => this.containers.usesImage(id) });
    for (const tag of result.untagged) this.parts.events.emit('image', 'untag', tag, { name: tag });
    for (const id of result.deleted) this.parts.events.emit('image', 'delete', id, {});
    return JSON.stringify(result);
  }

  async imageDetails(ref: string): Promise<string | null> {
    const details = await this.parts.registry.details(ref);
    return details === null ? null : JSON.stringify(details);
  }

  async pruneBuildCache(all: boolean): Promise<string> {
    if (!this.parts.builder) return JSON.stringify({ deleted: [], reclaimed: 0 });
    return this.parts.builder.prune(all);
  }

  async pruneImages(all: boolean): Promise<string> {
    const result = await this.parts.registry.prune(all, (id) => this.containers.usesImage(id));
    for (const id of result.deleted) this.parts.events.emit('image', 'delete', id, {});
    return JSON.stringify(result);
  }

  async importImage(input: Readable, reference?: string): Promise<ImageRef> {
    const image = await this.parts.images.importRootfs(input, reference ? { reference } : {});
    this.parts.events.emit('image', 'import', image.id, {});
    return { id: image.id, tags: image.repoTags };
  }

  async loadImages(input: Readable): Promise<ImageRef[]> {
    const images = await this.parts.images.load(input);
    for (const i of images) this.parts.events.emit('image', 'load', i.id, {});
    return images.map((i) => ({ id: i.id, tags: i.repoTags }));
  }

  /** The archive is made as it is read: a client that stops reading (or cancels) stops it. */
  async *saveImages(refs: string[], signal?: AbortSignal): AsyncGenerator<Buffer> {
    const archive = await this.parts.images.save(refs);
    try {
      for await (const chunk of archive) {
        if (signal?.aborted) return;
        yield chunk as Buffer;
      }
    } finally {
      archive.destroy();
    }
  }

  // ---- containers -----------------------------------------------------------------------------

  async listContainers(query: { labels: Record<string, string | true>; all: boolean }): Promise<ContainerSummary[]> {
    return this.containers.list(query);
  }

  inspectContainer(idOrName: string): Promise<ContainerInfo | null> {
    return this.containers.inspect(idOrName);
  }

  createContainer(spec: ContainerSpec): Promise<string> {
    return this.containers.create(spec);
  }

  startContainer(id: string): Promise<void> {
    return this.containers.start(id);
  }

  stopContainer(id: string, timeout?: number): Promise<void> {
    return this.containers.stop(id, timeout);
  }

  restartContainer(id: string, timeout?: number): Promise<void> {
    return this.containers.restart(id, timeout);
  }

  killContainer(id: string, signal?: string): Promise<void> {
    return this.containers.kill(id, signal);
  }

  async removeContainer(id: string, options?: { force?: boolean; volumes?: boolean }): Promise<void> {
    this.pendingAttach.delete(this.containers.find(id)?.id ?? id);
    await this.containers.remove(id, options);
  }

  renameContainer(id: string, name: string): Promise<void> {
    return this.containers.rename(id, name);
  }

  pauseContainer(id: string): Promise<void> {
    return this.containers.pause(id);
  }

  unpauseContainer(id: string): Promise<void> {
    return this.containers.unpause(id);
  }

  waitContainer(id: string, signal?: AbortSignal): Promise<number> {
    return this.containers.wait(id, signal);
  }

  containerLogs(id: string, options: LogOptions): AsyncIterable<LogChunk> {
    return containerLogs(this.containers, id, options);
  }

  attachContainer(id: string, options: { stdin: boolean; tty: boolean }): Promise<StreamSession> {
    return attachTo(this.containers, this.pendingAttach, id, options);
  }

  exec(id: string, spec: ExecSpec): Promise<StreamSession> {
    return execIn(this.containers, id, spec);
  }

  async top(id: string, psArgs?: string): Promise<{ titles: string[]; processes: string[][] }> {
    const record = this.containers.get(id);
    if (record.state.status !== 'running' && record.state.status !== 'paused') {
      throw new EngineError('conflict', `Container ${record.id} is not running`);
    }
    return this.containers.deps.runtime.top(record.id, psArgs).catch(notRunning(`Container ${record.id} is not running`));
  }

  statContainerPath(id: string, path: string): Promise<ContainerPathStat | null> {
    return this.containers.withFilesystem(id, (view) => statPath(view, path));
  }

  async *containerArchive(id: string, path: string, signal?: AbortSignal): AsyncGenerator<Buffer> {
    const fs = await this.containers.openFilesystem(id);
    try {
      for await (const chunk of await archivePath(fs.view, path)) {
        if (signal?.aborted) return;
        yield chunk as Buffer;
      }
    } finally {
      await fs.release();
    }
  }

  extractToContainer(id: string, path: string, archive: NodeJS.ReadableStream, options: ExtractOptions): Promise<void> {
    return this.containers.withFilesystem(id, async (view, record) => {
      let owner: { uid: number; gid: number } | undefined;
      if (options.copyUIDGID && record.spec.user) {
        const [passwd, group] = await Promise.all([readContainerFile(view.rootfs, '/etc/passwd'), readContainerFile(view.rootfs, '/etc/group')]);
        const user = resolveUser(record.spec.user, { passwd, group });
        owner = { uid: user.uid, gid: user.gid };
      }
      await extractInto(view, path, archive as AsyncIterable<unknown>, owner ? { owner } : {});
    });
  }

  async containerStats(id: string): Promise<ContainerStatsSample> {
    const record = this.containers.get(id);
    if (record.state.status !== 'running' && record.state.status !== 'paused') {
      throw new EngineError('conflict', `Container ${record.id} is not running`);
    }
    const stats = await this.containers.deps.runtime.stats(record.id).catch(notRunning(`Container ${record.id} is not running`));
    return { readAt: Date.now(), ...stats, ...(await networkBytes(record.state.pid)) };
  }

  // ---- networks -------------------------------------------------------------------------------

  async listNetworks(labels: Record<string, string | true>): Promise<NetworkInfo[]> {
    return this.network
      .list()
      .filter((n) => Object.entries(labels).every(([k, v]) => k in n.labels && (v === true || n.labels[k] === v)))
      .map(networkInfo);
  }

  async inspectNetwork(name: string): Promise<NetworkInfo | null> {
    const net = this.network.get(name);
    return net ? networkInfo(net) : null;
  }

  async createNetwork(spec: NetworkSpec): Promise<string> {
    if (spec.driver && spec.driver !== 'bridge') {
      throw new EngineError('invalid', `network ${spec.name}: driver "${spec.driver}" is not available on the embedded engine (bridge only)`);
    }
    const net = await this.network.create(spec);
    this.parts.events.emit('network', 'create', net.id, { name: net.name, type: 'bridge' });
    return net.id;
  }

  async removeNetwork(name: string): Promise<void> {
    const net = this.network.get(name);
    if (!net) throw new EngineError('not-found', `network ${name} not found`);
    await this.network.remove(net.id);
    this.parts.events.emit('network', 'destroy', net.id, { name: net.name, type: 'bridge' });
  }

  async connectNetwork(network: string, container: string, endpoint: EndpointSpec): Promise<void> {
    const net = this.network.get(network);
    if (!net) throw new EngineError('not-found', `network ${network} not found`);
    const record = this.containers.get(container);
    await this.containers.mutex.run(record.id, async () => {
      if (net.name in record.spec.networks && (record.state.status !== 'running' || net.name in record.state.endpoints)) {
        throw new EngineError('conflict', `endpoint with name ${record.name} already exists in network ${net.name}`);
      }
      record.spec = { ...record.spec, networks: { ...record.spec.networks, [net.name]: endpoint } };
      const sandbox = record.state.sandbox;
      if ((record.state.status === 'running' || record.state.status === 'paused') && sandbox && sandbox !== 'host') {
        const ep = await this.network.connect(net.name, record.id, sandbox, {
          containerName: record.name,
          aliases: endpoint.aliases,
          ...(endpoint.ipv4Address ? { ipv4Address: endpoint.ipv4Address } : {}),
        });
        record.state.endpoints[net.name] = { ...ep, networkId: net.id };
      }
      await this.containers.save(record);
    });
    this.parts.events.emit('network', 'connect', net.id, { container: record.id, name: net.name, type: 'bridge' });
  }

  async disconnectNetwork(network: string, container: string): Promise<void> {
    const net = this.network.get(network);
    if (!net) throw new EngineError('not-found', `network ${network} not found`);
    const record = this.containers.get(container);
    await this.containers.mutex.run(record.id, async () => {
      if (!(net.name in record.spec.networks) && !(net.name in record.state.endpoints)) {
        throw new EngineError('conflict', `container ${record.id} is not connected to network ${net.name}`);
      }
      const { [net.name]: _dropped, ...rest } = record.spec.networks;
      record.spec = { ...record.spec, networks: rest };
      if (net.name in record.state.endpoints) {
        await this.network.disconnect(net.name, record.id);
        delete record.state.endpoints[net.name];
      }
      await this.containers.save(record);
    });
    this.parts.events.emit('network', 'disconnect', net.id, { container: record.id, name: net.name, type: 'bridge' });
  }

  // ---- volumes --------------------------------------------------------------------------------

  async listVolumes(labels: Record<string, string | true>): Promise<VolumeInfo[]> {
    return this.parts.volumes.list().filter((v) => Object.entries(labels).every(([k, want]) => k in v.labels && (want === true || v.labels[k] === want)));
  }

  async inspectVolume(name: string): Promise<VolumeInfo | null> {
    return this.parts.volumes.get(name);
  }

  async createVolume(spec: VolumeSpec): Promise<VolumeInfo> {
    const existed = this.parts.volumes.get(spec.name) !== null;
    const info = await this.parts.volumes.create(spec);
    if (!existed) this.parts.events.emit('volume', 'create', info.name, { driver: 'local' });
    return info;
  }

  async removeVolume(name: string, force?: boolean): Promise<void> {
    await this.parts.volumes.remove(name, this.containers.usersOfVolume(name), force === true);
    this.parts.events.emit('volume', 'destroy', name, { driver: 'local' });
  }

  // ---- events and the daemon ------------------------------------------------------------------

  events(filter: EventFilter): AsyncIterable<EngineEvent> {
    return this.parts.events.subscribe(filter);
  }

  async status(): Promise<DaemonStatus> {
    const all = this.containers.list({ labels: {}, all: true });
    return {
      pid: process.pid,
      version: VERSION,
      root: this.parts.paths.root,
      socket: this.parts.paths.socket,
      startedAt: this.parts.startedAt,
      containers: { running: all.filter((c) => c.state === 'running').length, total: all.length },
      images: (await this.parts.images.list()).length,
      networks: this.network.list().length,
      volumes: this.parts.volumes.list().length,
      rss: process.memoryUsage().rss,
    };
  }

  /** The swarm core this daemon hosts (assemble.ts attaches it once the engine is made). */
  swarmCore: SwarmCore | undefined;

  async swarm(method: string, args: string): Promise<string> {
    if (!this.swarmCore) throw new EngineError('engine', 'the daemon has no swarm core');
    return callSwarm(this.swarmCore, method, args);
  }

  async shutdown(): Promise<void> {
    setImmediate(this.parts.requestShutdown);
  }

  close(): void {
    // In-process: nothing to release.
  }
}

function imageInfo(i: ImageView): ImageInfo {
  return { id: i.id, repoTags: i.repoTags, repoDigests: i.repoDigests, created: i.created, size: i.size, labels: i.config.Labels ?? {}, config: imageConfigInfo(i.config) };
}

function networkInfo(n: NetworkView): NetworkInfo {
  return {
    id: n.id,
    name: n.name,
    driver: n.driver,
    labels: { ...n.labels },
    internal: n.internal,
    containers: Object.fromEntries(Object.entries(n.endpoints).map(([id, e]) => [id, e.containerName])),
    options: { ...n.options },
    ipam: { driver: 'default', config: [{ subnet: n.subnet, gateway: n.gateway, ...(n.ipRange ? { ipRange: n.ipRange } : {}) }] },
  };
}
