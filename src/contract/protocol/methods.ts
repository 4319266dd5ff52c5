/**
 * Every method of DaemonBackend as an RPC: how its arguments make the request message and how
 * the reply makes its result. The RPC is the method's name capitalised (stopContainer ->
 * StopContainer). The client (src/engine/embedded/client.ts) and the server
 * (src/daemon/rpc/handlers.ts) both read these tables, so each mapping is written once; the types
 * tie every entry to the method's own signature.
 */
import type { DaemonBackend, ImageRef } from '../backend.js';
import type { AttachOptions, BuildRequest, ContainerPathStat, ExtractOptions, EngineEvent, EventFilter, ExecSpec, LogChunk, LogOptions, PullOptions } from '../engine.js';
import { args, empty, fields, labelQuery, list, mapped, none, nullable, omitted, same, single, wrapped, type Codec } from './codec.js';
import * as m from './messages.js';

type Backend = Required<DaemonBackend>;
type Result<K extends keyof Backend> = Backend[K] extends (...a: never[]) => Promise<infer R> ? R : never;
type Args<K extends keyof Backend> = Backend[K] extends (...a: infer A) => unknown ? A : never;

export function rpcName(method: string): string {
  return method.charAt(0).toUpperCase() + method.slice(1);
}

// ---- unary methods -----------------------------------------------------------------------------

export interface UnaryRpc<A extends unknown[], R> {
  args: Codec<A>;
  result: Codec<R>;
  /** The index of the method's AbortSignal argument: aborting it cancels the call. */
  signalAt?: number;
}

type StreamedMethods = 'containerLogs' | 'events' | 'saveImages' | 'containerArchive' | 'extractToContainer' | 'pullImage' | 'buildImage' | 'pushImage' | 'importImage' | 'loadImages' | 'exec' | 'attachContainer' | 'close';
export type UnaryMethod = Exclude<keyof Backend, StreamedMethods>;

const idOnly = args<[string]>('id');
const nameOnly = args<[string]>('name');
const refOnly = args<[string]>('ref');

export const UNARY: { [K in UnaryMethod]: UnaryRpc<Args<K>, Result<K>> } = {
  version: { args: none, result: same() },

  inspectImage: { args: refOnly, result: wrapped('image', nullable(m.imageInfo)) },
  listImages: { args: none, result: wrapped('images') },
  tagImage: { args: args('source', 'target'), result: empty },
  removeImage: { args: args('ref', 'options'), result: empty },
  imageDetails: { args: refOnly, result: mapped((v: string | null) => ({ value: v ?? undefined }), (w: { value?: string }) => w.value ?? null) },
  pruneImages: { args: args<[boolean]>('all'), result: mapped((v: string) => ({ value: v }), (w: { value?: string }) => w.value ?? '{}') },
  imageRemoval: { args: args<[string, boolean]>('ref', 'force'), result: mapped((v: string) => ({ value: v }), (w: { value?: string }) => w.value ?? '{}') },
  pruneBuildCache: { args: args<[boolean]>('all'), result: mapped((v: string) => ({ value: v }), (w: { value?: string }) => w.value ?? '{}') },
  registryDigest: {
    args: mapped(
      ([ref, o]: Args<'registryDigest'>) => ({ ref, auth: o?.credentials ? JSON.stringify(o.credentials) : '' }),
      (w: { ref: string; auth?: string }): Args<'registryDigest'> => [w.ref, { credentials: w.auth ? (JSON.parse(w.auth) as PullOptions['credentials']) : null }],
    ),
    result: mapped((v: string | null) => ({ value: v ?? undefined }), (w: { value?: string }) => w.value ?? null) },

  listContainers: { args: single(fields<Args<'listContainers'>[0]>({ labels: labelQuery })), result: wrapped('containers') },
  inspectContainer: { args: args('idOrName'), result: wrapped('container', nullable(m.containerInfo)) },
  createContainer: { args: single(m.containerSpec), result: wrapped('id') },
  startContainer: { args: idOnly, result: empty },
  stopContainer: { args: args('id', 'timeout'), result: empty },
  restartContainer: { args: args('id', 'timeout'), result: empty },
  killContainer: { args: args('id', 'signal'), result: empty },
  removeContainer: { args: args('id', 'options'), result: empty },
  renameContainer: { args: args('id', 'name'), result: empty },
  pauseContainer: { args: idOnly, result: empty },
  unpauseContainer: { args: idOnly, result: empty },
  waitContainer: { args: args('id'), result: wrapped('exitCode'), signalAt: 1 },
  top: { args: args('id', 'psArgs'), result: fields<Result<'top'>>({ processes: m.topRows }) },
  containerStats: { args: idOnly, result: same() },
  statContainerPath: {
    args: args('id', 'path'),
    result: mapped((v: ContainerPathStat | null) => ({ value: v === null ? undefined : JSON.stringify(v) }), (w: { value?: string }) => (w.value === undefined ? null : (JSON.parse(w.value) as ContainerPathStat))),
  },

  listNetworks: { args: single(labelQuery), result: wrapped('networks', list(m.networkInfo)) },
  inspectNetwork: { args: nameOnly, result: wrapped('network', nullable(m.networkInfo)) },
  createNetwork: { args: single(m.networkSpec), result: wrapped('id') },
  removeNetwork: { args: nameOnly, result: empty },
  connectNetwork: { args: args('network', 'container', ['endpoint', m.endpointSpec]), result: empty },
  disconnectNetwork: { args: args('network', 'container', 'force'), result: empty },

  listVolumes: { args: single(labelQuery), result: wrapped('volumes') },
  inspectVolume: { args: nameOnly, result: wrapped('volume', nullable(same())) },
  createVolume: { args: single(), result: same() },
  removeVolume: { args: args('name', 'force'), result: empty },

  status: { args: none, result: same() },
  swarm: { args: args('method', 'args'), result: mapped((v: string) => ({ json: v }), (w: { json?: string }) => w.json ?? '') },
  shutdown: { args: none, result: empty },
};

// ---- streamed output: logs and events ------------------------------------------------------------

export interface OutputStreamRpc<A extends unknown[], T> {
  args: Codec<A>;
  item: Codec<T>;
  /** The AbortSignal among the arguments (it cancels the call). */
  signalOf(a: A): AbortSignal | undefined;
  /** The arguments the backend is called with on the server: the call's own signal put in. */
  withSignal(a: A, signal: AbortSignal): A;
}

export const OUTPUT_STREAMS: {
  containerLogs: OutputStreamRpc<[string, LogOptions], LogChunk>;
  events: OutputStreamRpc<[EventFilter], EngineEvent>;
  saveImages: OutputStreamRpc<[string[], AbortSignal?], Buffer>;
  containerArchive: OutputStreamRpc<[string, string, AbortSignal?], Buffer>;
} = {
  containerLogs: {
    args: args('id', ['options', m.logOptions]),
    item: same(),
    signalOf: ([, options]) => options.signal,
    withSignal: ([id, options], signal) => [id, { ...options, signal }],
  },
  events: {
    args: single(m.eventFilter),
    item: m.engineEvent,
    signalOf: ([filter]) => filter.signal,
    withSignal: ([filter], signal) => [{ ...filter, signal }],
  },
  saveImages: {
    args: args('refs', ['signal', omitted()]),
    item: mapped((data: Buffer) => ({ data }), (w: { data?: Buffer }) => w.data ?? Buffer.alloc(0)),
    signalOf: ([, signal]) => signal,
    withSignal: ([refs], signal) => [refs, signal],
  },
  containerArchive: {
    args: args('id', 'path', ['signal', omitted()]),
    item: mapped((data: Buffer) => ({ data }), (w: { data?: Buffer }) => w.data ?? Buffer.alloc(0)),
    signalOf: ([, , signal]) => signal,
    withSignal: ([id, path], signal) => [id, path, signal],
  },
};

// ---- progress: pull, build, push -----------------------------------------------------------------

export interface ProgressRpc<A extends unknown[], R> {
  args: Codec<A>;
  /** Carried by the last message (`done.result`). */
  result: Codec<R>;
}

/** A reference with a platform and the registry credentials (JSON; the daemon never logs them). */
const refWithOptions = mapped(
  ([ref, o]: [string, PullOptions]) => ({ ref, platform: o.platform ?? '', auth: o.credentials ? JSON.stringify(o.credentials) : '' }),
  (w: { ref: string; platform?: string; auth?: string }): [string, PullOptions] => [w.ref, { ...(w.platform ? { platform: w.platform } : {}), credentials: w.auth ? (JSON.parse(w.auth) as PullOptions['credentials']) : null }],
);

export const PROGRESS: {
  pullImage: ProgressRpc<[string, PullOptions], void>;
  buildImage: ProgressRpc<[BuildRequest], string>;
  pushImage: ProgressRpc<[string, PullOptions], string>;
} = {
  pullImage: { args: refWithOptions, result: mapped(() => '', () => undefined) },
  buildImage: {
    args: single(
      fields<BuildRequest>({
        registryAuth: mapped((v: BuildRequest['registryAuth']) => (v ? JSON.stringify(v) : undefined), (w: string | undefined) => (w ? (JSON.parse(w) as BuildRequest['registryAuth']) : undefined)),
        // An absent map arrives empty: a request without secrets stays without them.
        secrets: mapped((v: BuildRequest['secrets']) => v, (w: Record<string, string> | undefined) => (w && Object.keys(w).length > 0 ? w : undefined)),
        additionalContexts: mapped((v: BuildRequest['additionalContexts']) => v, (w: Record<string, string> | undefined) => (w && Object.keys(w).length > 0 ? w : undefined)),
        ssh: mapped((v: BuildRequest['ssh']) => v, (w: Record<string, string> | undefined) => (w && Object.keys(w).length > 0 ? w : undefined)),
      }),
    ),
    result: same(),
  },
  pushImage: { args: refWithOptions, result: same() },
};

// ---- sessions: exec and attach -----------------------------------------------------------------

/** The arguments as the SessionOpen message. */
export const SESSIONS: {
  exec: Codec<[string, ExecSpec]>;
  attachContainer: Codec<[string, AttachOptions]>;
} = {
  exec: args('id', 'exec'),
  attachContainer: args('id', 'attach'),
};

// ---- uploads: import and load ------------------------------------------------------------------

export const UPLOADS: {
  importImage: { header: Codec<string | undefined>; result: Codec<ImageRef> };
  loadImages: { result: Codec<ImageRef[]> };
  extractToContainer: { header: Codec<[string, string, ExtractOptions]> };
} = {
  importImage: { header: mapped((reference?: string) => ({ reference }), (w: { reference?: string }) => w.reference), result: same() },
  loadImages: { result: wrapped('images') },
  extractToContainer: {
    header: mapped(
      ([id, path, o]: [string, string, ExtractOptions]) => ({ id, path, copyUidGid: o.copyUIDGID }),
      (w: { id: string; path: string; copyUidGid?: boolean }): [string, string, ExtractOptions] => [w.id, w.path, { copyUIDGID: w.copyUidGid === true }],
    ),
  },
};

