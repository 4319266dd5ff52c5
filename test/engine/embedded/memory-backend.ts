/**
 * A small DaemonBackend kept in memory, for testing the gRPC layer (server and client) over a
 * real socket before the real daemon exists. It is stateful and keeps the Engine's rules that
 * the RPC layer must carry across: missing objects (not-found), taken names and wrong states
 * (conflict), labels, streams that follow until their signal aborts, sessions with input, resizes
 * and exit codes (the programs of ./memory-programs.ts). It records the arguments each method
 * received (`received`) and how many follows and sessions are open (`open`), so tests can check
 * what crossed the socket and that nothing leaked. The Engine contract (test/engine/contract.ts)
 * runs against the real daemon, not against this.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { DaemonBackend, DaemonStatus, ImageRef } from '../../../src/contract/backend.js';
import type {
  BuildRequest,
  ContainerInfo,
  ContainerSpec,
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
  ProgressSink,
  StreamSession,
  VolumeInfo,
  VolumeSpec,
} from '../../../src/contract/engine.js';
import { EngineError } from '../../../src/contract/errors.js';
import { Program } from './memory-programs.js';

interface Container {
  id: string;
  spec: ContainerSpec;
  imageId: string;
  created: string;
  runs: Program[];
  paused: boolean;
  restartCount: number;
  startedAt: string;
  finishedAt: string;
  networks: ContainerInfo['networks'];
}

function withoutSignal<T extends { signal?: AbortSignal }>(options: T): Omit<T, 'signal'> {
  const { signal: _signal, ...rest } = options;
  return rest;
}

const hex = () => randomBytes(32).toString('hex');
const now = () => new Date().toISOString();

export function matchesLabels(labels: Record<string, string>, query: Record<string, string | true>): boolean {
  return Object.entries(query).every(([k, v]) => (v === true ? k in labels : labels[k] === v));
}

export class MemoryBackend implements DaemonBackend {
  readonly images = new Map<string, ImageInfo>();
  readonly containers = new Map<string, Container>();
  readonly networks = new Map<string, NetworkInfo>();
  readonly volumes = new Map<string, VolumeInfo>();
  /** The arguments of the last call of each method (signals and sinks left out). */
  readonly received = new Map<string, unknown[]>();
  /** Log follows, event streams and sessions currently open. */
  readonly open = { follows: 0, events: 0, sessions: 0, waits: 0 };
  /** saveImages: chunks of `saved.size` bytes it yields (byte i of chunk n is (n + i) & 0xff), how many were taken, whether it ended. */
  saved = { count: 20, size: 1536 * 1024, taken: 0, closed: false };
  /** Bytes received by importImage/loadImages, and the reads made. */
  upload = { bytes: 0, reads: 0, digest: '' };
  /** Called by shutdown(). */
  onShutdown: (() => Promise<void>) | undefined;
  /** Optional in the Engine interface: tests remove it to see UNIMPLEMENTED. */
  registryDigest?: (ref: string) => Promise<string | null> = async (ref) => {
    this.note('registryDigest', ref);
    return ref.includes('absent') ? null : `sha256:${createHash('sha256').update(ref).digest('hex')}`;
  };

  private readonly history: EngineEvent[] = [];
  private readonly subscribers = new Set<(e: EngineEvent) => void>();
  private sequence = 0;
  private readonly startedAt = now();

  constructor(images: ImageInfo[] = []) {
    for (const image of images) this.images.set(image.id, structuredClone(image));
  }

  /** Records a call's arguments as the method received them (trailing absent ones left out). */
  private note(method: string, ...args: unknown[]): void {
    while (args.length > 0 && args[args.length - 1] === undefined) args.pop();
    this.received.set(method, structuredClone(args));
  }

  private emit(type: EngineEvent['type'], action: string, id: string, attributes: Record<string, string>): void {
    // Nanoseconds beyond a double's precision: the bigint must cross the socket exactly.
    const timeNano = BigInt(Date.now()) * 1_000_000n + BigInt(++this.sequence % 1_000_000);
    const event: EngineEvent = { type, action, id, attributes, timeNano };
    this.history.push(event);
    for (const s of this.subscribers) s(event);
  }

  async version(): Promise<EngineVersion> {
    return { engine: 'embedded', version: '0.1.0-memory', apiVersion: '1.0', os: 'linux', arch: process.arch };
  }

  // ---- images ----

  private findImage(ref: string): ImageInfo | undefined {
    const tagged = ref.includes(':') || ref.startsWith('sha256:') ? ref : `${ref}:latest`;
    for (const image of this.images.values()) if (image.id === ref || image.repoTags.includes(tagged)) return image;
    return undefined;
  }

  private image(ref: string): ImageInfo {
    const image = this.findImage(ref);
    if (!image) throw new EngineError('not-found', `No such image: ${ref}`);
    return image;
  }

  async inspectImage(ref: string): Promise<ImageInfo | null> {
    this.note('inspectImage', ref);
    return structuredClone(this.findImage(ref) ?? null);
  }

  async listImages(): Promise<ImageSummary[]> {
    return [...this.images.values()].map((i) => ({ id: i.id, repoTags: i.repoTags, repoDigests: i.repoDigests, created: Math.floor(Date.parse(i.created) / 1000), size: i.size, labels: i.labels }));
  }

  private addImage(id: string, tags: string[], labels: Record<string, string>): ImageInfo {
    const image: ImageInfo = {
      id,
      repoTags: tags,
      repoDigests: [],
      created: now(),
      size: 1234,
      labels,
      config: { env: [], cmd: ['sh'], entrypoint: null, workingDir: '', user: '', exposedPorts: [], volumes: [] },
    };
    for (const other of this.images.values()) other.repoTags = other.repoTags.filter((t) => !tags.includes(t));
    this.images.set(id, image);
    return image;
  }

  async pullImage(ref: string, progress?: ProgressSink): Promise<void> {
    this.note('pullImage', ref);
    if (ref.includes('absent')) throw new EngineError('not-found', `manifest for ${ref} not found`);
    progress?.({ status: `Pulling from ${ref}` });
    progress?.({ id: 'layer1', status: 'Downloading', detail: '1/2' });
    progress?.({ id: 'layer1', status: 'Pull complete' });
    this.addImage(`sha256:${createHash('sha256').update(ref).digest('hex')}`, [ref], {});
    this.emit('image', 'pull', ref, { name: ref });
  }

  async buildImage(request: BuildRequest, progress?: ProgressSink): Promise<string> {
    this.note('buildImage', request);
    if (request.dockerfile === 'broken.Dockerfile') throw new EngineError('engine', "The command '/bin/sh -c exit 3' returned a non-zero code: 3");
    progress?.({ status: 'Step 1/2 : FROM busybox' });
    progress?.({ status: 'Step 2/2 : RUN true' });
    const id = `sha256:${hex()}`;
    this.addImage(id, request.tags, request.labels);
    return id;
  }

  async pushImage(ref: string, progress?: ProgressSink): Promise<string> {
    this.note('pushImage', ref);
    const image = this.image(ref);
    progress?.({ id: 'layer1', status: 'Pushed' });
    const digest = `sha256:${createHash('sha256').update(image.id).digest('hex')}`;
    image.repoDigests = [...image.repoDigests, `${ref.replace(/:[^/:]+$/, '')}@${digest}`];
    return digest;
  }

  async tagImage(source: string, target: string): Promise<void> {
    this.note('tagImage', source, target);
    const image = this.image(source);
    for (const other of this.images.values()) other.repoTags = other.repoTags.filter((t) => t !== target);
    image.repoTags.push(target);
    this.emit('image', 'tag', image.id, { name: target });
  }

  async removeImage(ref: string, options?: { force?: boolean }): Promise<void> {
    this.note('removeImage', ref, options);
    const image = this.image(ref);
    if (image.repoTags.includes(ref) && image.repoTags.length > 1) {
      image.repoTags = image.repoTags.filter((t) => t !== ref);
      return;
    }
    const user = [...this.containers.values()].find((c) => c.imageId === image.id);
    if (user && !options?.force) throw new EngineError('conflict', `conflict: unable to remove repository reference "${ref}" (must force) - container ${user.id.slice(0, 12)} is using its referenced image`);
    this.images.delete(image.id);
    this.emit('image', 'delete', image.id, {});
  }

  private async consume(input: Readable): Promise<string> {
    const hash = createHash('sha256');
    for await (const chunk of input) {
      const data = chunk as Buffer;
      this.upload.bytes += data.length;
      this.upload.reads++;
      hash.update(data);
      // A slow store: the client must wait for us, not buffer the archive in the daemon.
      if (this.upload.reads % 64 === 0) await new Promise((r) => setImmediate(r));
    }
    this.upload.digest = hash.digest('hex');
    return this.upload.digest;
  }

  async importImage(input: Readable, reference?: string): Promise<ImageRef> {
    this.note('importImage', reference);
    const digest = await this.consume(input);
    if (this.upload.bytes === 0) throw new EngineError('invalid', 'the archive is empty');
    const image = this.addImage(`sha256:${digest}`, reference ? [reference] : [], {});
    this.emit('image', 'import', image.id, {});
    return { id: image.id, tags: image.repoTags };
  }

  async loadImages(input: Readable): Promise<ImageRef[]> {
    this.note('loadImages');
    const digest = await this.consume(input);
    const a = this.addImage(`sha256:${digest}`, ['loaded/a:1'], {});
    const b = this.addImage(`sha256:${createHash('sha256').update(digest).digest('hex')}`, [], {});
    return [a, b].map((i) => ({ id: i.id, tags: i.repoTags }));
  }

  async *saveImages(refs: string[], signal?: AbortSignal): AsyncGenerator<Buffer> {
    this.note('saveImages', refs);
    const missing = refs.find((r) => r.startsWith('no-such'));
    if (missing) throw new EngineError('not-found', `no such image: ${missing}`);
    this.saved.taken = 0;
    this.saved.closed = false;
    const pattern = Buffer.alloc(this.saved.size + 256);
    for (let i = 0; i < pattern.length; i++) pattern[i] = i & 0xff;
    try {
      for (let n = 0; n < this.saved.count; n++) {
        if (signal?.aborted) return;
        this.saved.taken++;
        yield Buffer.from(pattern.subarray(n & 0xff, (n & 0xff) + this.saved.size));
      }
    } finally {
      this.saved.closed = true;
    }
  }

  // ---- containers ----

  private find(idOrName: string): Container | undefined {
    for (const c of this.containers.values()) if (c.id === idOrName || c.spec.name === idOrName || (idOrName.length >= 12 && c.id.startsWith(idOrName))) return c;
    return undefined;
  }

  private container(idOrName: string): Container {
    const c = this.find(idOrName);
    if (!c) throw new EngineError('not-found', `No such container: ${idOrName}`);
    return c;
  }

  private current(c: Container): Program | undefined {
    return c.runs[c.runs.length - 1];
  }

  private running(c: Container): boolean {
    return this.current(c)?.running === true && c.startedAt !== '';
  }

  private state(c: Container): ContainerInfo['state']['status'] {
    if (this.running(c)) return c.paused ? 'paused' : 'running';
    return c.finishedAt === '' ? 'created' : 'exited';
  }

  private attributes(c: Container, extra: Record<string, string> = {}): Record<string, string> {
    return { ...c.spec.labels, image: c.spec.image, name: c.spec.name, ...extra };
  }

  async listContainers(query: { labels: Record<string, string | true>; all: boolean }): Promise<ContainerSummary[]> {
    this.note('listContainers', query);
    return [...this.containers.values()]
      .filter((c) => matchesLabels(c.spec.labels, query.labels) && (query.all || this.running(c)))
      .map((c) => ({
        id: c.id,
        name: c.spec.name,
        image: c.spec.image,
        labels: c.spec.labels,
        state: this.state(c),
        status: this.running(c) ? 'Up 1 second' : c.finishedAt === '' ? 'Created' : `Exited (${this.current(c)?.exitCode ?? 0}) 1 second ago`,
        created: Math.floor(Date.parse(c.created) / 1000),
      }));
  }

  async inspectContainer(idOrName: string): Promise<ContainerInfo | null> {
    this.note('inspectContainer', idOrName);
    const c = this.find(idOrName);
    if (!c) return null;
    const program = this.current(c);
    const ports: ContainerInfo['ports'] = c.spec.exposedPorts.map((p) => ({ containerPort: p.port, protocol: p.protocol }));
    for (const p of c.spec.publishedPorts) ports.push({ containerPort: p.containerPort, protocol: p.protocol, hostIp: p.hostIp, ...(p.hostPorts ? { hostPort: p.hostPorts.start } : {}) });
    return {
      id: c.id,
      name: c.spec.name,
      image: c.spec.image,
      imageId: c.imageId,
      labels: c.spec.labels,
      created: c.created,
      state: {
        status: this.state(c),
        running: this.running(c),
        paused: c.paused,
        restarting: false,
        oomKilled: false,
        pid: this.running(c) ? 4242 : 0,
        exitCode: this.running(c) ? 0 : (program?.exitCode ?? 0),
        startedAt: c.startedAt,
        finishedAt: c.finishedAt,
      },
      config: { cmd: c.spec.command ?? null, entrypoint: c.spec.entrypoint ?? null, env: c.spec.env, tty: c.spec.tty, openStdin: c.spec.openStdin },
      ports,
      networks: structuredClone(c.networks),
      mounts: c.spec.mounts.map((m) => ({ type: m.type, ...(m.type === 'volume' ? { name: m.source ?? 'anonymous' } : {}), source: m.source ?? '', destination: m.target, rw: !m.readOnly })),
      restartCount: c.restartCount,
    };
  }

  async createContainer(spec: ContainerSpec): Promise<string> {
    this.note('createContainer', spec);
    const image = this.image(spec.image);
    if (this.find(spec.name)) throw new EngineError('conflict', `Conflict. The container name "/${spec.name}" is already in use.`);
    const id = hex();
    const networks: ContainerInfo['networks'] = {};
    for (const [name, endpoint] of Object.entries(spec.networks)) {
      const network = this.network(name);
      networks[name] = { ipAddress: `10.0.0.${this.containers.size + 2}`, aliases: endpoint.aliases, networkId: network.id };
      network.containers[id] = spec.name;
    }
    this.containers.set(id, { id, spec: structuredClone(spec), imageId: image.id, created: now(), runs: [], paused: false, restartCount: 0, startedAt: '', finishedAt: '', networks });
    this.emit('container', 'create', id, this.attributes(this.containers.get(id)!));
    return id;
  }

  /** The main process of the next run (made at attach time, when the container has not started). */
  private nextRun(c: Container): Program {
    const program = this.current(c);
    if (program && program.running && c.startedAt === '') return program;
    const next = new Program([...(c.spec.entrypoint ?? []), ...(c.spec.command ?? ['sleep'])], c.spec.tty);
    c.runs.push(next);
    c.startedAt = '';
    return next;
  }

  async startContainer(id: string): Promise<void> {
    this.note('startContainer', id);
    const c = this.container(id);
    if (this.running(c)) return;
    const program = this.nextRun(c);
    c.startedAt = now();
    c.finishedAt = '';
    program.watch(() => {
      if (!program.running && c.finishedAt === '' && this.current(c) === program) {
        c.finishedAt = now();
        this.emit('container', 'die', c.id, this.attributes(c, { exitCode: String(program.exitCode) }));
      }
    });
    this.emit('container', 'start', c.id, this.attributes(c));
    program.start();
  }

  async stopContainer(id: string, timeout?: number): Promise<void> {
    this.note('stopContainer', id, timeout);
    const c = this.container(id);
    if (!this.running(c)) return;
    this.current(c)?.exit(137);
    this.emit('container', 'stop', c.id, this.attributes(c));
  }

  async restartContainer(id: string, timeout?: number): Promise<void> {
    this.note('restartContainer', id, timeout);
    const c = this.container(id);
    this.current(c)?.exit(137);
    c.restartCount++;
    await this.startContainer(id);
  }

  async killContainer(id: string, signal?: string): Promise<void> {
    this.note('killContainer', id, signal);
    const c = this.container(id);
    if (!this.running(c)) throw new EngineError('conflict', `Cannot kill container: ${id}: Container ${c.id} is not running`);
    this.emit('container', 'kill', c.id, this.attributes(c, { signal: signal ?? 'SIGKILL' }));
    this.current(c)?.exit(signal === 'SIGTERM' ? 143 : 137);
  }

  async removeContainer(id: string, options?: { force?: boolean; volumes?: boolean }): Promise<void> {
    this.note('removeContainer', id, options);
    const c = this.container(id);
    if (this.running(c) && !options?.force) throw new EngineError('conflict', `You cannot remove a running container ${c.id}. Stop the container before attempting removal or force remove`);
    this.current(c)?.exit(137);
    for (const network of this.networks.values()) delete network.containers[c.id];
    this.containers.delete(c.id);
    this.emit('container', 'destroy', c.id, this.attributes(c));
  }

  async renameContainer(id: string, name: string): Promise<void> {
    this.note('renameContainer', id, name);
    const c = this.container(id);
    if (this.find(name)) throw new EngineError('conflict', `Conflict. The container name "/${name}" is already in use.`);
    c.spec.name = name;
    this.emit('container', 'rename', c.id, this.attributes(c));
  }

  async pauseContainer(id: string): Promise<void> {
    this.note('pauseContainer', id);
    const c = this.container(id);
    if (!this.running(c)) throw new EngineError('conflict', `Container ${c.id} is not running`);
    c.paused = true;
    this.emit('container', 'pause', c.id, this.attributes(c));
  }

  async unpauseContainer(id: string): Promise<void> {
    this.note('unpauseContainer', id);
    const c = this.container(id);
    if (!c.paused) throw new EngineError('conflict', `Container ${c.id} is not paused`);
    c.paused = false;
    this.emit('container', 'unpause', c.id, this.attributes(c));
  }

  async waitContainer(id: string, signal?: AbortSignal): Promise<number> {
    this.note('waitContainer', id);
    const c = this.container(id);
    const program = this.current(c);
    if (!program || !this.running(c)) return program?.exitCode ?? 0;
    this.open.waits++;
    try {
      return await program.exited(signal);
    } finally {
      this.open.waits--;
    }
  }

  async *containerLogs(id: string, options: LogOptions): AsyncGenerator<LogChunk> {
    this.note('containerLogs', id, withoutSignal(options));
    const c = this.container(id);
    const stamp = (chunk: LogChunk): LogChunk => (options.timestamps ? { stream: chunk.stream, data: Buffer.concat([Buffer.from(`${now()} `), chunk.data]) } : chunk);
    const past = c.runs.flatMap((r) => r.output);
    const from = options.tail === undefined ? 0 : Math.max(0, past.length - options.tail);
    if (options.since !== undefined && options.since * 1000 > Date.now()) return;
    for (const chunk of past.slice(from)) yield stamp(chunk);
    const program = this.current(c);
    if (!options.follow || !program || !this.running(c)) return;
    const signal = options.signal;
    if (signal?.aborted) return;
    this.open.follows++;
    try {
      const aborted = new Promise<void>((resolve) => signal?.addEventListener('abort', () => resolve(), { once: true }));
      for await (const chunk of program.follow(program.output.length, aborted)) yield stamp(chunk);
    } finally {
      this.open.follows--;
    }
  }

  /** A session on `program`, its output from chunk `from` on. */
  private session(program: Program, from: number, stdin: boolean, detach = false): StreamSession {
    this.open.sessions++;
    let closed = false;
    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    return {
      output: detach ? (async function* () {})() : program.follow(from, stopped),
      input: stdin && !detach ? program.input : null,
      resize: async (rows, columns) => {
        if (rows <= 0 || columns <= 0) throw new EngineError('invalid', `bad terminal size ${rows}x${columns}`);
        if (!program.running) throw new EngineError('conflict', 'the process has exited');
        program.resize(rows, columns);
      },
      exitCode: () => program.exited(),
      close: () => {
        if (closed) return;
        closed = true;
        this.open.sessions--;
        stop();
      },
    };
  }

  async attachContainer(id: string, options: { stdin: boolean; tty: boolean }): Promise<StreamSession> {
    this.note('attachContainer', id, options);
    const c = this.container(id);
    const program = this.running(c) ? this.current(c)! : this.nextRun(c);
    // Attaching shows what the process writes from now on.
    return this.session(program, program.output.length, options.stdin);
  }

  async exec(id: string, spec: ExecSpec): Promise<StreamSession> {
    this.note('exec', id, spec);
    const c = this.container(id);
    if (!this.running(c)) throw new EngineError('conflict', `Container ${c.id} is not running`);
    const program = new Program(spec.command, spec.tty).start();
    return this.session(program, 0, spec.attachStdin, spec.detach);
  }

  async top(id: string, psArgs?: string): Promise<{ titles: string[]; processes: string[][] }> {
    this.note('top', id, psArgs);
    const c = this.container(id);
    if (!this.running(c)) throw new EngineError('conflict', `Container ${c.id} is not running`);
    return { titles: ['PID', 'USER', 'COMMAND'], processes: [['4242', 'root', (c.spec.command ?? ['sleep']).join(' ')]] };
  }

  // ---- networks and volumes ----

  private findNetwork(name: string): NetworkInfo | undefined {
    for (const n of this.networks.values()) if (n.name === name || n.id === name) return n;
    return undefined;
  }

  private network(name: string): NetworkInfo {
    const n = this.findNetwork(name);
    if (!n) throw new EngineError('not-found', `network ${name} not found`);
    return n;
  }

  async listNetworks(labels: Record<string, string | true>): Promise<NetworkInfo[]> {
    this.note('listNetworks', labels);
    return [...this.networks.values()].filter((n) => matchesLabels(n.labels, labels)).map((n) => structuredClone(n));
  }

  async inspectNetwork(name: string): Promise<NetworkInfo | null> {
    this.note('inspectNetwork', name);
    return structuredClone(this.findNetwork(name) ?? null);
  }

  async createNetwork(spec: NetworkSpec): Promise<string> {
    this.note('createNetwork', spec);
    if (this.findNetwork(spec.name)) throw new EngineError('conflict', `network with name ${spec.name} already exists`);
    const id = hex();
    const info: NetworkInfo = { id, name: spec.name, driver: spec.driver ?? 'bridge', labels: spec.labels, internal: spec.internal, containers: {}, options: spec.driverOpts, ipam: spec.ipam };
    if (info.ipam === undefined) delete info.ipam;
    this.networks.set(id, structuredClone(info));
    this.emit('network', 'create', id, { name: spec.name });
    return id;
  }

  async removeNetwork(name: string): Promise<void> {
    this.note('removeNetwork', name);
    const n = this.network(name);
    if (Object.keys(n.containers).length > 0) throw new EngineError('conflict', `error while removing network: network ${n.name} id ${n.id} has active endpoints`);
    this.networks.delete(n.id);
    this.emit('network', 'destroy', n.id, { name: n.name });
  }

  async connectNetwork(network: string, container: string, endpoint: EndpointSpec): Promise<void> {
    this.note('connectNetwork', network, container, endpoint);
    const n = this.network(network);
    const c = this.container(container);
    c.networks[n.name] = { ipAddress: `10.0.1.${Object.keys(n.containers).length + 2}`, aliases: endpoint.aliases, networkId: n.id };
    n.containers[c.id] = c.spec.name;
    this.emit('network', 'connect', n.id, { container: c.id, name: n.name });
  }

  async disconnectNetwork(network: string, container: string, force?: boolean): Promise<void> {
    this.note('disconnectNetwork', network, container, force);
    const n = this.network(network);
    const c = this.container(container);
    if (!(c.id in n.containers)) throw new EngineError('conflict', `container ${c.id} is not connected to network ${n.name}`);
    delete n.containers[c.id];
    delete c.networks[n.name];
    this.emit('network', 'disconnect', n.id, { container: c.id, name: n.name });
  }

  async listVolumes(labels: Record<string, string | true>): Promise<VolumeInfo[]> {
    this.note('listVolumes', labels);
    return [...this.volumes.values()].filter((v) => matchesLabels(v.labels, labels)).map((v) => structuredClone(v));
  }

  async inspectVolume(name: string): Promise<VolumeInfo | null> {
    this.note('inspectVolume', name);
    return structuredClone(this.volumes.get(name) ?? null);
  }

  async createVolume(spec: VolumeSpec): Promise<VolumeInfo> {
    this.note('createVolume', spec);
    let volume = this.volumes.get(spec.name);
    if (!volume) {
      volume = { name: spec.name, driver: spec.driver ?? 'local', labels: spec.labels, mountpoint: `/var/lib/flotilla/volumes/${spec.name}/_data`, options: spec.driverOpts };
      this.volumes.set(spec.name, volume);
      this.emit('volume', 'create', spec.name, {});
    }
    return structuredClone(volume);
  }

  async removeVolume(name: string, force?: boolean): Promise<void> {
    this.note('removeVolume', name, force);
    if (!this.volumes.has(name)) {
      if (force) return;
      throw new EngineError('not-found', `get ${name}: no such volume`);
    }
    const user = [...this.containers.values()].find((c) => c.spec.mounts.some((m) => m.source === name));
    if (user) throw new EngineError('conflict', `remove ${name}: volume is in use - [${user.id}]`);
    this.volumes.delete(name);
    this.emit('volume', 'destroy', name, {});
  }

  // ---- events ----

  async *events(filter: EventFilter): AsyncGenerator<EngineEvent> {
    this.note('events', withoutSignal(filter));
    const { signal } = filter;
    const wanted = (e: EngineEvent) =>
      (filter.types === undefined || filter.types.length === 0 || filter.types.includes(e.type)) &&
      (filter.labels ?? []).every((l) => {
        const [k, v] = l.split('=', 2) as [string, string | undefined];
        return v === undefined ? k in e.attributes : e.attributes[k] === v;
      });
    const queue: EngineEvent[] = filter.since === undefined ? [] : this.history.filter((e) => e.timeNano >= BigInt(filter.since!) * 1_000_000_000n && wanted(e));
    let wake: (() => void) | undefined;
    const subscriber = (e: EngineEvent) => {
      if (!wanted(e)) return;
      queue.push(e);
      wake?.();
    };
    const onAbort = () => wake?.();
    this.subscribers.add(subscriber);
    signal?.addEventListener('abort', onAbort);
    this.open.events++;
    try {
      for (;;) {
        while (queue.length > 0) yield queue.shift()!;
        if (signal?.aborted) return;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      this.open.events--;
      signal?.removeEventListener('abort', onAbort);
      this.subscribers.delete(subscriber);
    }
  }

  // ---- the daemon ----

  /** The image's info as JSON (enough to carry a result across the wire). */
  async imageDetails(ref: string): Promise<string | null> {
    const info = await this.inspectImage(ref);
    return info === null ? null : JSON.stringify({ inspect: { Id: info.id, RepoTags: info.repoTags }, history: [] });
  }

  async pruneImages(all: boolean): Promise<string> {
    return JSON.stringify({ deleted: [], untagged: [], reclaimed: all ? 1 : 0 });
  }

  async imageRemoval(ref: string, force: boolean): Promise<string> {
    this.note('imageRemoval', ref, force);
    return JSON.stringify({ untagged: [ref], deleted: force ? ['sha256:forced'] : [] });
  }

  async pruneBuildCache(all: boolean): Promise<string> {
    return JSON.stringify({ deleted: all ? ['step'] : [], reclaimed: all ? 2 : 0 });
  }

  async status(): Promise<DaemonStatus> {
    const all = [...this.containers.values()];
    return {
      pid: process.pid,
      version: '0.1.0-memory',
      root: '/var/lib/flotilla',
      socket: '/run/flotilla/engine.sock',
      startedAt: this.startedAt,
      containers: { running: all.filter((c) => this.running(c)).length, total: all.length },
      images: this.images.size,
      networks: this.networks.size,
      volumes: this.volumes.size,
      rss: process.memoryUsage().rss,
    };
  }

  async shutdown(): Promise<void> {
    await this.onShutdown?.();
  }

  close(): void {}
}
