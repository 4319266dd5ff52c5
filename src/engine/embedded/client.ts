/**
 * The embedded engine as the CLI sees it: DaemonBackend over gRPC to `flotilla daemon`. Every
 * method is one call; the mapping of its arguments and result is in ./protocol/methods.ts.
 */
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DaemonBackend, DaemonStatus, ImageRef } from '../../contract/backend.js';
import type {
  ContainerPathStat,
  ExtractOptions,
  BuildRequest,
  ContainerInfo,
  ContainerSpec,
  ContainerStatsSample,
  ContainerSummary,
  EndpointSpec,
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
  ProgressEvent,
  ProgressSink,
  PullOptions,
  StreamSession,
  VolumeInfo,
  VolumeSpec,
} from '../../contract/engine.js';
import { parseReference, registryOf } from '../../contract/image-reference.js';
import { allCredentials, getCredentials } from '../credentials.js';
import { EngineError } from '../../contract/errors.js';
import { RpcChannel } from './channel.js';
import { OUTPUT_STREAMS, PROGRESS, SESSIONS, UNARY, UPLOADS, rpcName, type UnaryMethod, type UnaryRpc } from '../../contract/protocol/methods.js';
import { socketAnswers } from '../../contract/probe.js';
import { openSession } from './session.js';

type Backend = Required<DaemonBackend>;

/** The credentials a call names, or else those the Docker config of this (the CLI's) user has for the image's registry. */
async function credentialsFor(ref: string, options: Pick<PullOptions, 'credentials'>): Promise<NonNullable<PullOptions['credentials']> | null> {
  return options.credentials !== undefined ? options.credentials : getCredentials(registryOf(parseReference(ref).repository).host);
}

export class EmbeddedEngine implements DaemonBackend {
  private readonly channel: RpcChannel;

  /** `socket`: the daemon's unix socket (an absolute path). No connection is made until a call. */
  constructor(readonly socket: string) {
    this.channel = new RpcChannel(socket);
  }

  private async call<K extends UnaryMethod>(method: K, ...args: Parameters<Backend[K]>): Promise<Awaited<ReturnType<Backend[K]>>> {
    // The entry for K, seen through the type every entry has (TypeScript cannot follow K through
    // the table); its own type was checked against the method's signature where it is defined.
    const rpc: UnaryRpc<unknown[], unknown> = UNARY[method];
    const signal = rpc.signalAt === undefined ? undefined : (args[rpc.signalAt] as AbortSignal | undefined);
    const reply = await this.channel.unary(rpcName(method), rpc.args.encode(args), signal);
    return rpc.result.decode(reply) as Awaited<ReturnType<Backend[K]>>;
  }

  private async progress<K extends keyof typeof PROGRESS>(method: K, request: unknown, sink: ProgressSink | undefined): Promise<unknown> {
    for await (const reply of this.channel.stream(rpcName(method), request)) {
      const update = reply as { progress?: ProgressEvent; done?: { result: string } };
      if (update.progress) sink?.(update.progress);
      else if (update.done) return PROGRESS[method].result.decode(update.done.result);
    }
    throw new EngineError('engine', `the Flotilla daemon ended ${method} without a result`);
  }

  version(): Promise<EngineVersion> {
    return this.call('version');
  }

  // ---- images ----

  inspectImage(ref: string): Promise<ImageInfo | null> {
    return this.call('inspectImage', ref);
  }

  listImages(): Promise<ImageSummary[]> {
    return this.call('listImages');
  }

  /** The credentials for the image's registry come from the Docker config of this (the CLI's) user. */
  async pullImage(ref: string, progress?: ProgressSink, options: PullOptions = {}): Promise<void> {
    const credentials = await credentialsFor(ref, options);
    await this.progress('pullImage', PROGRESS.pullImage.args.encode([ref, { ...options, credentials }]), progress);
  }

  /** Base images pulled for the build use the Docker config's credentials of this (the CLI's) user. */
  async buildImage(request: BuildRequest, progress?: ProgressSink): Promise<string> {
    const registryAuth = request.registryAuth ?? (await allCredentials());
    const sent = Object.keys(registryAuth).length > 0 ? { ...request, registryAuth } : request;
    return (await this.progress('buildImage', PROGRESS.buildImage.args.encode([sent]), progress)) as string;
  }

  async pushImage(ref: string, progress?: ProgressSink, options: Pick<PullOptions, 'credentials'> = {}): Promise<string> {
    const credentials = await credentialsFor(ref, options);
    return (await this.progress('pushImage', PROGRESS.pushImage.args.encode([ref, { credentials }]), progress)) as string;
  }

  tagImage(source: string, target: string): Promise<void> {
    return this.call('tagImage', source, target);
  }

  removeImage(ref: string, options?: { force?: boolean }): Promise<void> {
    return this.call('removeImage', ref, options);
  }

  imageDetails(ref: string): Promise<string | null> {
    return this.call('imageDetails', ref);
  }

  pruneImages(all: boolean): Promise<string> {
    return this.call('pruneImages', all);
  }

  imageRemoval(ref: string, force: boolean): Promise<string> {
    return this.call('imageRemoval', ref, force);
  }

  pruneBuildCache(all: boolean): Promise<string> {
    return this.call('pruneBuildCache', all);
  }

  /** Asks with the Docker config's credentials for the registry, as pullImage does. */
  async registryDigest(ref: string, options: Pick<PullOptions, 'credentials'> = {}): Promise<string | null> {
    const credentials = await credentialsFor(ref, options);
    return this.call('registryDigest', ref, { credentials });
  }

  async importImage(input: Readable, reference?: string): Promise<ImageRef> {
    const { header, result } = UPLOADS.importImage;
    const reply = await this.channel.upload(rpcName('importImage'), { header: header.encode(reference) }, input, (data) => ({ data }));
    return result.decode(reply);
  }

  async loadImages(input: Readable): Promise<ImageRef[]> {
    const reply = await this.channel.upload(rpcName('loadImages'), undefined, input, (data) => ({ data }));
    return UPLOADS.loadImages.result.decode(reply);
  }

  async statContainerPath(id: string, path: string): Promise<ContainerPathStat | null> {
    return this.call('statContainerPath', id, path);
  }

  async *containerArchive(id: string, path: string, signal?: AbortSignal): AsyncGenerator<Buffer> {
    const rpc = OUTPUT_STREAMS.containerArchive;
    for await (const reply of this.channel.stream(rpcName('containerArchive'), rpc.args.encode([id, path, signal]), signal)) yield rpc.item.decode(reply);
  }

  async extractToContainer(id: string, path: string, archive: NodeJS.ReadableStream, options: ExtractOptions): Promise<void> {
    const { header } = UPLOADS.extractToContainer;
    await this.channel.upload(rpcName('extractToContainer'), { header: header.encode([id, path, options]) }, archive as AsyncIterable<Buffer>, (data) => ({ data }));
  }

  async *saveImages(refs: string[], signal?: AbortSignal): AsyncGenerator<Buffer> {
    const rpc = OUTPUT_STREAMS.saveImages;
    for await (const reply of this.channel.stream(rpcName('saveImages'), rpc.args.encode([refs, signal]), signal)) yield rpc.item.decode(reply);
  }

  // ---- containers ----

  listContainers(query: { labels: Record<string, string | true>; all: boolean }): Promise<ContainerSummary[]> {
    return this.call('listContainers', query);
  }

  inspectContainer(idOrName: string): Promise<ContainerInfo | null> {
    return this.call('inspectContainer', idOrName);
  }

  createContainer(spec: ContainerSpec): Promise<string> {
    return this.call('createContainer', spec);
  }

  startContainer(id: string): Promise<void> {
    return this.call('startContainer', id);
  }

  stopContainer(id: string, timeout?: number): Promise<void> {
    return this.call('stopContainer', id, timeout);
  }

  restartContainer(id: string, timeout?: number): Promise<void> {
    return this.call('restartContainer', id, timeout);
  }

  killContainer(id: string, signal?: string): Promise<void> {
    return this.call('killContainer', id, signal);
  }

  removeContainer(id: string, options?: { force?: boolean; volumes?: boolean }): Promise<void> {
    return this.call('removeContainer', id, options);
  }

  renameContainer(id: string, name: string): Promise<void> {
    return this.call('renameContainer', id, name);
  }

  pauseContainer(id: string): Promise<void> {
    return this.call('pauseContainer', id);
  }

  unpauseContainer(id: string): Promise<void> {
    return this.call('unpauseContainer', id);
  }

  waitContainer(id: string, signal?: AbortSignal): Promise<number> {
    return this.call('waitContainer', id, signal);
  }

  async *containerLogs(id: string, options: LogOptions): AsyncGenerator<LogChunk> {
    const rpc = OUTPUT_STREAMS.containerLogs;
    for await (const reply of this.channel.stream(rpcName('containerLogs'), rpc.args.encode([id, options]), options.signal)) yield rpc.item.decode(reply);
  }

  attachContainer(id: string, options: { stdin: boolean; tty: boolean }): Promise<StreamSession> {
    return openSession(this.channel, rpcName('attachContainer'), SESSIONS.attachContainer.encode([id, options]), options.stdin);
  }

  exec(id: string, spec: ExecSpec): Promise<StreamSession> {
    return openSession(this.channel, rpcName('exec'), SESSIONS.exec.encode([id, spec]), spec.attachStdin && !spec.detach);
  }

  top(id: string, psArgs?: string): Promise<{ titles: string[]; processes: string[][] }> {
    return this.call('top', id, psArgs);
  }

  containerStats(id: string): Promise<ContainerStatsSample> {
    return this.call('containerStats', id);
  }

  // ---- networks and volumes ----

  listNetworks(labels: Record<string, string | true>): Promise<NetworkInfo[]> {
    return this.call('listNetworks', labels);
  }

  inspectNetwork(name: string): Promise<NetworkInfo | null> {
    return this.call('inspectNetwork', name);
  }

  createNetwork(spec: NetworkSpec): Promise<string> {
    return this.call('createNetwork', spec);
  }

  removeNetwork(name: string): Promise<void> {
    return this.call('removeNetwork', name);
  }

  connectNetwork(network: string, container: string, endpoint: EndpointSpec): Promise<void> {
    return this.call('connectNetwork', network, container, endpoint);
  }

  disconnectNetwork(network: string, container: string, force?: boolean): Promise<void> {
    return this.call('disconnectNetwork', network, container, force);
  }

  listVolumes(labels: Record<string, string | true>): Promise<VolumeInfo[]> {
    return this.call('listVolumes', labels);
  }

  inspectVolume(name: string): Promise<VolumeInfo | null> {
    return this.call('inspectVolume', name);
  }

  createVolume(spec: VolumeSpec): Promise<VolumeInfo> {
    return this.call('createVolume', spec);
  }

  removeVolume(name: string, force?: boolean): Promise<void> {
    return this.call('removeVolume', name, force);
  }

  async *events(filter: EventFilter): AsyncGenerator<EngineEvent> {
    const rpc = OUTPUT_STREAMS.events;
    for await (const reply of this.channel.stream(rpcName('events'), rpc.args.encode([filter]), filter.signal)) yield rpc.item.decode(reply);
  }

  // ---- the daemon ----

  status(): Promise<DaemonStatus> {
    return this.call('status');
  }

  swarm(method: string, args: string): Promise<string> {
    return this.call('swarm', method, args);
  }

  /** Asks the daemon to stop, and resolves once its socket no longer answers (10 s at most). */
  async shutdown(): Promise<void> {
    await this.call('shutdown');
    this.channel.close();
    const deadline = Date.now() + 10_000;
    for (let delay = 10; await socketAnswers(this.socket); delay = Math.min(delay * 2, 250)) {
      if (Date.now() > deadline) throw new EngineError('engine', `the Flotilla daemon at ${this.socket} still answers 10 s after it was asked to stop`);
      await sleep(delay);
    }
  }

  close(): void {
    this.channel.close();
  }
}
