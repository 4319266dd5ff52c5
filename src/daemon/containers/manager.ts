/**
 * The embedded engine's containers: create, start, stop, kill, restart, pause, remove, rename,
 * wait, and what happens when a container exits (restart policies, teardown). Each container's
 * operations run one at a time (KeyedMutex); every state change is saved before it is reported.
 * The processes themselves belong to conmon: this daemon can die and come back (./adopt.ts).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContainerInfo, ContainerSpec, ContainerSummary, HealthcheckSpec, Labels } from '../../contract/engine.js';
import { EngineError } from '../../contract/errors.js';
import type { EventBus } from '../events.js';
import type { DaemonPaths } from '../paths.js';
import { readJsonSync, writeJsonAtomic } from '../state/json-file.js';
import { KeyedMutex } from '../state/mutex.js';
import { moveAside, removeLeftoversLater, TreeRemovalError } from '../state/remove-tree.js';
import { HealthMonitor, probeArgv, type ProbeResult } from '../supervisor/health.js';
import { restartDelay, type RestartPolicy } from '../supervisor/restart-policy.js';
import type { VolumeStore } from '../volumes/store.js';
import type { UnheldPort } from '../network/types.js';
import { portKey, type ExitInfo, type ImageView, type ImagesPort, type NetworkPort, type RuntimePort } from './collaborators.js';
import { effectiveProcess } from './effective-process.js';
import { logSettings } from './log-settings.js';
import { containerFiles } from '../runtime/layout.js';
import { mountOverlay, overlayMounted, unmountAll } from '../runtime/rootfs.js';
import type { FilesystemView } from './archive.js';
import { copyUpVolumes, hostMounts, resolveMounts, specFileMounts, unmountSecrets, withoutSecrets } from './mounts.js';
import { attachNetworks, detachNetworks, networkOwner, networkPlan } from './networking.js';
import { freshState, type ContainerRecord } from './record.js';
import { statusText } from './status-text.js';

export interface ManagerDeps {
  paths: DaemonPaths;
  images: ImagesPort;
  network: NetworkPort;
  runtime: RuntimePort;
  volumes: VolumeStore;
  events: EventBus;
  log: (line: string) => void;
}

const NAME = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const DEFAULT_STOP_TIMEOUT = 10;
/** After a SIGKILL, how often the daemon checks that the container's exit is still on its way. */
const KILL_CHECK_MS = 2_000;
/** Exit code recorded when the real one could not be (Docker uses 255 after an unclean stop). */
export const UNKNOWN_EXIT = 255;
/** The prefix of a container folder being removed (containers/.rm-<id>-<hex>). */
const REMOVING = '.rm-';

export class ContainerManager {
  readonly records = new Map<string, ContainerRecord>();
  private readonly names = new Map<string, string>();
  readonly mutex = new KeyedMutex();
  private readonly monitors = new Map<string, HealthMonitor>();
  private readonly restartTimers = new Map<string, NodeJS.Timeout>();
  private readonly lastDelay = new Map<string, number>();
  private readonly exitWaiters = new Map<string, Set<() => void>>();
  /** Exits recorded and restarts by policy scheduled since open() (adoption reports them). */
  readonly tally = { exits: 0, restartsScheduled: 0 };
  /** Hooks run when a container starts (attached runs replace the runtime's start). */
  startHook: ((record: ContainerRecord) => Promise<{ pid: number } | null>) | null = null;
  private unsubscribe: (() => void) | null = null;

  constructor(readonly deps: ManagerDeps) {}

  // ---- loading and lookup ---------------------------------------------------------------------

  /** Removals of what interrupted creates and removals left, started by open(). */
  private leftovers: Promise<void> = Promise.resolve();

  async open(): Promise<void> {
    await mkdir(this.deps.paths.containers, { recursive: true, mode: 0o700 });
    const doomed: string[] = [];
    for (const id of readdirSync(this.deps.paths.containers)) {
      const record = id.startsWith(REMOVING) ? null : readJsonSync<ContainerRecord>(join(this.dir(id), 'container.json'));
      if (!record) {
        // A create the daemon did not finish, or a removal: nothing refers to it.
        await unmountSecrets(this.dir(id));
        const aside = id.startsWith(REMOVING) ? this.dir(id) : await moveAside(this.dir(id), REMOVING);
        if (aside !== null) doomed.push(aside);
        continue;
      }
      this.records.set(record.id, record);
      this.names.set(record.name, record.id);
    }
    this.unsubscribe = this.deps.runtime.onExit((id, info) => void this.handleExit(id, info));
    this.leftovers = removeLeftoversLater(doomed, this.deps.log);
  }

  /** Settles once the leftovers open() found are removed (or reported). */
  whenLeftoversRemoved(): Promise<void> {
    return this.leftovers;
  }

  close(): void {
    this.unsubscribe?.();
    for (const m of this.monitors.values()) m.stop();
    this.monitors.clear();
    for (const t of this.restartTimers.values()) clearTimeout(t);
    this.restartTimers.clear();
  }

  dir(id: string): string {
    return join(this.deps.paths.containers, id);
  }

  logPath(id: string): string {
    return join(this.dir(id), 'ctr.log');
  }

  files(id: string): { hosts: string; resolvConf: string; hostname: string } {
    const d = this.dir(id);
    return { hosts: join(d, 'hosts'), resolvConf: join(d, 'resolv.conf'), hostname: join(d, 'hostname') };
  }

  find(ref: string): ContainerRecord | null {
    const byId = this.records.get(ref);
    if (byId) return byId;
    const name = ref.startsWith('/') ? ref.slice(1) : ref;
    const named = this.names.get(name);
    if (named) return this.records.get(named) ?? null;
    if (/^[0-9a-f]{1,63}$/.test(ref)) {
      const matches = [...this.records.keys()].filter((id) => id.startsWith(ref));
      if (matches.length === 1) return this.records.get(matches[0] as string) ?? null;
    }
    return null;
  }

  get(ref: string): ContainerRecord {
    const record = this.find(ref);
    if (!record) throw new EngineError('not-found', `No such container: ${ref}`);
    return record;
  }

  async save(record: ContainerRecord): Promise<void> {
    await writeJsonAtomic(join(this.dir(record.id), 'container.json'), record);
  }

  private emit(record: ContainerRecord, action: string, extra: Labels = {}): void {
    this.deps.events.emit('container', action, record.id, { ...record.spec.labels, image: record.spec.image, name: record.name, ...extra });
  }

  /** Runs `work` holding the container's lock (the id is resolved first). */
  private locked<T>(ref: string, work: (record: ContainerRecord) => Promise<T>): Promise<T> {
    const id = this.get(ref).id;
    return this.mutex.run(id, async () => work(this.get(id)));
  }

  // ---- queries --------------------------------------------------------------------------------

  list(query: { labels: Record<string, string | true>; all: boolean }): ContainerSummary[] {
    const out: ContainerSummary[] = [];
    for (const r of this.records.values()) {
      if (!query.all && r.state.status !== 'running' && r.state.status !== 'paused' && r.state.status !== 'restarting') continue;
      if (!hasLabels(r.spec.labels, query.labels)) continue;
      const unheld = this.unheldPorts(r).map(portKey);
      out.push({
        id: r.id,
        name: r.name,
        image: r.spec.image,
        labels: { ...r.spec.labels },
        state: r.state.status,
        status: statusText(r.state),
        created: Math.floor(Date.parse(r.created) / 1000),
        ...(unheld.length > 0 ? { unheldPorts: unheld } : {}),
      });
    }
    return out.sort((a, b) => b.created - a.created);
  }

  async inspect(ref: string): Promise<ContainerInfo | null> {
    const r = this.find(ref);
    if (!r) return null;
    const image = await this.deps.images.resolve(r.image.id);
    const proc = effectiveProcess(r.spec, image?.config ?? {});
    const s = r.state;
    const running = s.status === 'running' || s.status === 'paused' || s.status === 'restarting';
    // As Docker shows them: the bindings made while running, the requested ones otherwise.
    const ports: ContainerInfo['ports'] = r.spec.exposedPorts.map((p) => ({ containerPort: p.port, protocol: p.protocol }));
    if (running) {
      const unheld = new Map(this.unheldPorts(r).map((p) => [portKey(p), p.error]));
      for (const p of s.ports) {
        const why = p.hostIp !== undefined && p.hostPort !== undefined ? unheld.get(portKey({ hostIp: p.hostIp, hostPort: p.hostPort, protocol: p.protocol })) : undefined;
        ports.push({ ...p, ...(why !== undefined ? { unheld: why } : {}) });
      }
    } else {
      for (const p of r.spec.publishedPorts) {
        const single = p.hostPorts && p.hostPorts.start === p.hostPorts.end ? { hostPort: p.hostPorts.start } : {};
        ports.push({ containerPort: p.containerPort, protocol: p.protocol, hostIp: p.hostIp, ...single });
      }
    }
    return {
      id: r.id,
      name: r.name,
      image: r.spec.image,
      imageId: r.image.id,
      labels: { ...r.spec.labels },
      created: r.created,
      state: {
        status: s.status,
        running,
        paused: s.status === 'paused',
        restarting: s.status === 'restarting',
        oomKilled: s.oomKilled,
        pid: s.pid,
        exitCode: s.exitCode,
        startedAt: s.startedAt,
        finishedAt: s.finishedAt,
        ...(s.health ? { health: { status: s.health.status, failingStreak: s.health.failingStreak, log: s.health.log.map((l) => ({ exitCode: l.exitCode, output: l.output })) } } : {}),
      },
      config: { cmd: proc.cmd, entrypoint: proc.entrypoint, env: proc.env, tty: r.spec.tty, openStdin: r.spec.openStdin },
      ports,
      networks: running ? Object.fromEntries(Object.entries(s.endpoints).map(([name, e]) => [name, { ipAddress: e.ip, aliases: e.aliases, networkId: e.networkId }])) : this.plannedNetworks(r),
      mounts: r.mounts.map((m) => ({ type: m.type, ...(m.name ? { name: m.name } : {}), source: m.source, destination: m.target, rw: !m.readOnly })),
      restartCount: s.restartCount,
    };
  }

  /** The networks a container not running will join, with the aliases asked for (no address yet). */
  private plannedNetworks(r: ContainerRecord): ContainerInfo['networks'] {
    const plan = networkPlan(r);
    if (plan.kind !== 'networks') return {};
    return Object.fromEntries(
      plan.names.map((name) => [name, { ipAddress: '', aliases: [...(r.spec.networks[name]?.aliases ?? [])], networkId: this.deps.network.get(name)?.id ?? '' }]),
    );
  }

  /** A running container's published ports the daemon could not hold again after a restart. */
  private unheldPorts(r: ContainerRecord): UnheldPort[] {
    const live = r.state.status === 'running' || r.state.status === 'paused' || r.state.status === 'restarting';
    return live ? this.deps.network.unheldPorts(r.id) : [];
  }

  /** Emits `port-unheld` for each published port of a running container the daemon does not hold. */
  reportUnheldPorts(): void {
    for (const r of this.records.values()) {
      for (const p of this.unheldPorts(r)) this.emit(r, 'port-unheld', { port: portKey(p), error: p.error });
    }
  }

  /** Tries to hold the unheld ports again (their program may have let go); emits `port-held` for each regained. */
  async holdPortsAgain(): Promise<void> {
    for (const { containerId, port } of await this.deps.network.holdUnheldAgain()) {
      const r = this.records.get(containerId);
      this.deps.log(`container ${r?.name ?? containerId}: holds its published port ${portKey(port)} again`);
      if (r) this.emit(r, 'port-held', { port: portKey(port) });
    }
  }

  usersOfVolume(name: string): string[] {
    return [...this.records.values()].filter((r) => r.mounts.some((m) => m.type === 'volume' && m.name === name)).map((r) => r.id);
  }

  usesImage(imageId: string): boolean {
    return [...this.records.values()].some((r) => r.image.id === imageId);
  }

  // ---- create ---------------------------------------------------------------------------------

  async create(spec: ContainerSpec): Promise<string> {
    const name = spec.name === '' ? `flotilla_${randomBytes(4).toString('hex')}` : spec.name.replace(/^\//, '');
    if (!NAME.test(name)) throw new EngineError('invalid', `Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    return this.mutex.run(`name:${name}`, async () => {
      const taken = this.names.get(name);
      if (taken) throw new EngineError('conflict', `Conflict. The container name "/${name}" is already in use by container "${taken}". You have to remove (or rename) that container to be able to reuse that name.`);
      const image = await this.deps.images.resolve(spec.image);
      if (!image) throw new EngineError('not-found', `No such image: ${spec.image}`);
      logSettings(spec); // refuses a logging driver the engine does not have
      await this.deps.runtime.checkSpec(spec, image);
      const id = randomBytes(32).toString('hex');
      const mounts = await resolveMounts(spec, { volumes: this.deps.volumes, image, container: (ref) => this.find(ref) });
      const healthcheck = mergeHealthcheck(spec.healthcheck, image);
      const record: ContainerRecord = {
        id,
        name,
        created: new Date().toISOString(),
        spec: withoutSecrets({ ...spec, name }),
        image: { id: image.id, reference: spec.image },
        ...(healthcheck ? { healthcheck } : {}),
        stopSignal: spec.stopSignal ?? image.config.StopSignal ?? 'SIGTERM',
        mounts,
        state: freshState(),
      };
      await mkdir(this.dir(id), { recursive: true, mode: 0o700 });
      try {
        record.mounts = [...mounts, ...(await specFileMounts(spec, this.dir(id), mounts))];
      } catch (e) {
        await unmountSecrets(this.dir(id));
        await rm(this.dir(id), { recursive: true, force: true });
        throw e;
      }
      for (const file of Object.values(this.files(id))) await writeFile(file, '', { mode: 0o644 });
      await this.save(record);
      this.records.set(id, record);
      this.names.set(name, id);
      this.emit(record, 'create');
      return id;
    });
  }

  // ---- start ----------------------------------------------------------------------------------

  async start(ref: string): Promise<void> {
    await this.locked(ref, async (record) => {
      const s = record.state;
      if (s.status === 'running' || s.status === 'paused') return;
      this.cancelRestart(record.id);
      s.stoppedByUser = false;
      s.restartCount = 0;
      this.lastDelay.delete(record.id);
      await this.launch(record);
    });
  }

  /** Sets up and starts the container's process; on failure leaves it exited with the error. */
  private async launch(record: ContainerRecord): Promise<void> {
    const s = record.state;
    const image = await this.deps.images.resolve(record.image.id);
    if (!image) throw new EngineError('not-found', `No such image: ${record.image.id}`);
    try {
      await this.deps.runtime.delete(record.id);
      const owner = networkOwner(record, this.netCtx());
      await attachNetworks(record, this.netCtx());
      const files = owner ? this.files(owner.id) : this.files(record.id);
      if (!owner && s.sandbox !== 'host') {
        await this.deps.network.writeNameFiles(record.id, files, nameSettings(record));
      } else if (!owner) {
        await writeHostFiles(files, record);
      }
      await writeFile(this.files(record.id).hostname, `${record.spec.hostname ?? record.id.slice(0, 12)}\n`);
      const log = logSettings(record.spec);
      await this.deps.runtime.prepare({
        id: record.id,
        spec: record.spec,
        image: { layers: image.layers, config: image.config },
        network: s.sandbox === 'host' || s.sandbox === undefined ? 'host' : { path: s.sandbox },
        ...namespaceModes(record, (ref) => this.find(ref)),
        mounts: hostMounts(record.mounts),
        files: { ...files, hostname: this.files(record.id).hostname },
        cgroupsPath: `${this.deps.paths.cgroupParent}/${record.id}`,
        log: log ? { path: this.logPath(record.id), ...log } : null,
        withRootfs: (rootfs) => copyUpVolumes(record.mounts, rootfs),
      });
      // Taken before the start: a process that ends at once must not finish before it started.
      const startedAt = new Date().toISOString();
      const started = (await this.startHook?.(record)) ?? (await this.deps.runtime.start(record.id));
      Object.assign(s, { status: 'running', pid: started.pid, exitCode: 0, oomKilled: false, error: '', startedAt });
    } catch (e) {
      s.error = e instanceof Error ? e.message : String(e);
      s.status = s.startedAt === '0001-01-01T00:00:00Z' ? 'created' : 'exited';
      s.exitCode = /not found|no such file/i.test(s.error) ? 127 : /permission denied/i.test(s.error) ? 126 : 128;
      await detachNetworks(record, this.netCtx()).catch(() => undefined);
      await this.deps.runtime.release(record.id).catch(() => undefined);
      await this.save(record);
      throw e instanceof EngineError ? e : new EngineError('engine', s.error);
    }
    if (record.healthcheck) s.health = HealthMonitor.initialState();
    else delete s.health;
    await this.save(record);
    this.emit(record, 'start');
    this.watchHealth(record);
  }

  /**
   * `cp`: `work` gets the container's files (its root filesystem and mounts), running or not: a
   * container that does not run has its root mounted for the call and unmounted after it. The
   * container's operations wait meanwhile (a start must not mount the same overlay).
   */
  async withFilesystem<T>(ref: string, work: (view: FilesystemView, record: ContainerRecord) => Promise<T>): Promise<T> {
    return this.locked(ref, async (record) => {
      const files = containerFiles(this.deps.paths, record.id);
      let mountedHere = false;
      if (!(await overlayMounted(files.rootfs))) {
        const image = await this.deps.images.resolve(record.image.id);
        if (!image) throw new EngineError('not-found', `No such image: ${record.image.id}`);
        await Promise.all([files.upper, files.work, files.rootfs].map((d) => mkdir(d, { recursive: true })));
        mountedHere = await mountOverlay(image.layers, files.upper, files.work, files.rootfs);
      }
      try {
        const owner = networkOwner(record, this.netCtx());
        const names = owner ? this.files(owner.id) : this.files(record.id);
        const nameFiles = [
          { target: '/etc/hosts', source: names.hosts },
          { target: '/etc/resolv.conf', source: names.resolvConf },
          { target: '/etc/hostname', source: this.files(record.id).hostname },
        ].filter((f) => existsSync(f.source));
        const view: FilesystemView = {
          rootfs: files.rootfs,
          mounts: [
            ...record.mounts.filter((m) => m.type !== 'tmpfs').map((m) => ({ target: m.target, source: m.source, readOnly: m.readOnly })),
            ...nameFiles.map((f) => ({ ...f, readOnly: false })),
          ],
          unreachable: record.mounts.filter((m) => m.type === 'tmpfs').map((m) => m.target),
        };
        return await work(view, record);
      } finally {
        if (mountedHere) await unmountAll(files.rootfs).catch((e: Error) => this.deps.log(`container ${record.id}: unmount after cp: ${e.message}`));
      }
    });
  }

  /** withFilesystem() held open until `release` (a streamed read). */
  openFilesystem(ref: string): Promise<{ view: FilesystemView; release: () => Promise<void> }> {
    return new Promise((resolve, reject) => {
      let finish!: () => void;
      const finished = new Promise<void>((r) => (finish = r));
      const held = this.withFilesystem(ref, async (view) => {
        resolve({ view, release: () => (finish(), held) });
        await finished;
      });
      held.catch(reject);
    });
  }

  private netCtx() {
    return { network: this.deps.network, container: (ref: string) => this.find(ref) };
  }

  // ---- exits, restarts ------------------------------------------------------------------------

  /** A container's process ended (conmon's exit file): record it, restart it or tear it down. */
  async handleExit(id: string, info: ExitInfo): Promise<void> {
    if (!this.records.has(id)) return;
    await this.mutex.run(id, async () => {
      const record = this.records.get(id);
      if (!record) return;
      const s = record.state;
      if (s.status !== 'running' && s.status !== 'paused') return;
      this.monitors.get(id)?.stop();
      this.monitors.delete(id);
      const ranForMs = Date.now() - Date.parse(s.startedAt);
      // The exit file's time comes from the kernel's coarse clock (a few ms behind): never before the start.
      const finishedAt = Date.parse(info.finishedAt) < Date.parse(s.startedAt) ? s.startedAt : info.finishedAt;
      Object.assign(s, { exitCode: info.code, oomKilled: info.oomKilled, finishedAt, pid: 0 });
      await this.deps.runtime.delete(id).catch((e: Error) => this.deps.log(`container ${id}: runc delete: ${e.message}`));
      const delay = restartDelay(record.spec.restartPolicy as RestartPolicy | undefined, {
        exitCode: info.code,
        restartCount: s.restartCount,
        stoppedByUser: s.stoppedByUser,
        ranForMs,
        previousDelayMs: this.lastDelay.get(id) ?? 0,
      });
      if (info.oomKilled) this.emit(record, 'oom');
      if (delay === null) {
        s.status = 'exited';
        await detachNetworks(record, this.netCtx()).catch((e: Error) => this.deps.log(`container ${id}: network teardown: ${e.message}`));
        await this.deps.runtime.release(id).catch((e: Error) => this.deps.log(`container ${id}: release: ${e.message}`));
      } else {
        s.status = 'restarting';
        this.lastDelay.set(id, delay);
        this.scheduleRestart(id, delay);
      }
      await this.save(record);
      this.emit(record, 'die', { exitCode: String(info.code) });
      const waiters = this.exitWaiters.get(id);
      this.exitWaiters.delete(id);
      for (const w of waiters ?? []) w();
      this.tally.exits++;
      if (s.status === 'restarting') this.tally.restartsScheduled++;
    });
  }

  private scheduleRestart(id: string, delay: number): void {
    this.cancelRestart(id);
    const timer = setTimeout(() => {
      this.restartTimers.delete(id);
      void this.mutex.run(id, async () => {
        const record = this.records.get(id);
        if (!record || record.state.status !== 'restarting' || record.state.stoppedByUser) return;
        record.state.restartCount++;
        try {
          await this.launch(record);
          this.deps.log(`container ${id}: restarted by its restart policy (restart ${record.state.restartCount})`);
        } catch (e) {
          this.deps.log(`container ${id}: restart failed: ${(e as Error).message}`);
          const next = Math.min((this.lastDelay.get(id) ?? 100) * 2, 60_000);
          record.state.status = 'restarting';
          this.lastDelay.set(id, next);
          await this.save(record);
          this.scheduleRestart(id, next);
        }
      });
    }, delay);
    this.restartTimers.set(id, timer);
  }

  private cancelRestart(id: string): void {
    const t = this.restartTimers.get(id);
    if (t) clearTimeout(t);
    this.restartTimers.delete(id);
  }

  /** Resolves once the container's current run has ended and been recorded. */
  private exited(id: string): Promise<void> {
    return new Promise((resolve) => {
      let set = this.exitWaiters.get(id);
      if (!set) this.exitWaiters.set(id, (set = new Set()));
      set.add(resolve);
    });
  }

  private isLive(record: ContainerRecord): boolean {
    return record.state.status === 'running' || record.state.status === 'paused';
  }

  // ---- stop, kill, restart, pause ---------------------------------------------------------------

  async stop(ref: string, timeout?: number): Promise<void> {
    const record = this.get(ref);
    const seconds = timeout ?? record.spec.stopTimeout ?? DEFAULT_STOP_TIMEOUT;
    const waiting = await this.mutex.run(record.id, async () => {
      record.state.stoppedByUser = true;
      if (record.state.status === 'restarting') {
        this.cancelRestart(record.id);
        record.state.status = 'exited';
        await detachNetworks(record, this.netCtx()).catch(() => undefined);
        await this.deps.runtime.release(record.id).catch(() => undefined);
        await this.save(record);
        return null;
      }
      if (!this.isLive(record)) {
        await this.save(record);
        return null;
      }
      await this.save(record);
      const exited = this.exited(record.id);
      if (record.state.status === 'paused') await this.deps.runtime.resume(record.id).catch(() => undefined);
      // As Docker does, the stop signal goes first even with no grace period (`stop -t 0`): a
      // process that exits on it at once reports its own code rather than 137.
      await this.signal(record, record.stopSignal);
      this.emit(record, 'kill', { signal: signalNumber(record.stopSignal) });
      // Wrapped: an async function returning the promise itself would wait for the exit here,
      // holding the lock, and the SIGKILL below would never be sent.
      return { exited };
    });
    if (!waiting) return;
    const done = waiting.exited;
    if (!(await within(done, seconds * 1000))) {
      await this.signal(record, 'SIGKILL');
      await this.killed(record, done);
    }
    this.emit(record, 'stop');
  }

  /**
   * Waits, after a SIGKILL, until the container's exit is recorded. No fixed time: on a loaded
   * machine recording exits falls far behind (a fixed 10 s once failed `down` of 200 containers
   * with "did not exit after SIGKILL" while their exits waited in line). It waits while the exit
   * is on its way: the process still runs (it is killed again), conmon still runs (it writes the
   * exit file once the process is gone), or the exit file is written (its recording is queued).
   * When neither the process nor conmon is left and no exit file was written, the exit can never
   * come: it is recorded as unknown, as adoption does.
   */
  private async killed(record: ContainerRecord, done: Promise<void>): Promise<void> {
    const { runtime } = this.deps;
    while (!(await within(done, KILL_CHECK_MS))) {
      if (await runtime.exitInfo(record.id)) continue;
      const state = await runtime.state(record.id);
      if (state && state.status !== 'stopped') {
        await this.signal(record, 'SIGKILL');
        continue;
      }
      if (await runtime.conmonAlive(record.id)) continue;
      if (await runtime.exitInfo(record.id)) continue; // written since the first look
      this.deps.log(`container ${record.id}: killed, but its monitor left no exit code; recorded as ${UNKNOWN_EXIT}`);
      record.state.error = 'the exit was not recorded (its monitor was gone)';
      await this.handleExit(record.id, { code: UNKNOWN_EXIT, oomKilled: false, finishedAt: new Date().toISOString() });
    }
  }

  private async signal(record: ContainerRecord, signal: string): Promise<void> {
    try {
      await this.deps.runtime.kill(record.id, signal);
    } catch (e) {
      // The process is gone already ('conflict': runc sees it stopped; 'not-found': its exit was
      // recorded and runc's state deleted meanwhile). Its exit is, or is being, recorded. A
      // not-found must never leave here: it would say the *container* is gone.
      if (!(e instanceof EngineError && (e.kind === 'conflict' || e.kind === 'not-found'))) throw e;
    }
  }

  async kill(ref: string, signal = 'SIGKILL'): Promise<void> {
    await this.locked(ref, async (record) => {
      if (!this.isLive(record)) throw new EngineError('conflict', `Cannot kill container: ${ref}: Container ${record.id} is not running`);
      if (/^(SIG)?KILL$|^9$/.test(signal) || normalSignal(signal) === normalSignal(record.stopSignal)) {
        record.state.stoppedByUser = true;
        await this.save(record);
      }
      await this.deps.runtime.kill(record.id, signal);
      this.emit(record, 'kill', { signal: signalNumber(signal) });
    });
  }

  async restart(ref: string, timeout?: number): Promise<void> {
    await this.stop(ref, timeout);
    await this.start(ref);
    this.emit(this.get(ref), 'restart');
  }

  async pause(ref: string): Promise<void> {
    await this.locked(ref, async (record) => {
      if (record.state.status === 'paused') throw new EngineError('conflict', `Container ${record.id} is already paused`);
      if (record.state.status !== 'running') throw new EngineError('conflict', `Container ${record.id} is not running`);
      await this.deps.runtime.pause(record.id);
      record.state.status = 'paused';
      await this.save(record);
      this.emit(record, 'pause');
    });
  }

  async unpause(ref: string): Promise<void> {
    await this.locked(ref, async (record) => {
      if (record.state.status !== 'paused') throw new EngineError('conflict', `Container ${record.id} is not paused`);
      await this.deps.runtime.resume(record.id);
      record.state.status = 'running';
      await this.save(record);
      this.emit(record, 'unpause');
    });
  }

  // ---- remove, rename, wait -------------------------------------------------------------------

  async remove(ref: string, options: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    const record = this.get(ref);
    if (this.isLive(record) || record.state.status === 'restarting') {
      if (!options.force) {
        throw new EngineError('conflict', `You cannot remove a running container ${record.id}. Stop the container before attempting removal or force remove`);
      }
      await this.stop(record.id, 0);
    }
    await this.mutex.run(record.id, async () => {
      if (!this.records.has(record.id)) return;
      record.state.status = 'removing';
      this.monitors.get(record.id)?.stop();
      this.monitors.delete(record.id);
      await detachNetworks(record, this.netCtx()).catch(() => undefined);
      await this.deps.runtime.delete(record.id).catch(() => undefined);
      try {
        await this.deps.runtime.destroy(record.id);
      } catch (e) {
        // Files the container made that cannot be removed (e.g. immutable ones) go aside with its
        // folder below, are logged, and are tried again at every start: the removal completes.
        if (!(e instanceof TreeRemovalError)) throw e;
      }
      await unmountSecrets(this.dir(record.id));
      const aside = await moveAside(this.dir(record.id), REMOVING);
      this.records.delete(record.id);
      this.names.delete(record.name);
      if (aside !== null) await removeLeftoversLater([aside], (line) => this.deps.log(`container ${record.id}: ${line}`));
      if (options.volumes) {
        for (const m of record.mounts) {
          if (m.type === 'volume' && m.anonymous && m.name && this.usersOfVolume(m.name).length === 0) {
            await this.deps.volumes.remove(m.name, [], true).catch(() => undefined);
            this.deps.events.emit('volume', 'destroy', m.name, {});
          }
        }
      }
      this.emit(record, 'destroy');
    });
  }

  async rename(ref: string, name: string): Promise<void> {
    const wanted = name.replace(/^\//, '');
    if (!NAME.test(wanted)) throw new EngineError('invalid', `Invalid container name (${wanted}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    await this.locked(ref, async (record) => {
      const taken = this.names.get(wanted);
      if (taken && taken !== record.id) throw new EngineError('conflict', `Conflict. The container name "/${wanted}" is already in use by container "${taken}". You have to remove (or rename) that container to be able to reuse that name.`);
      this.names.delete(record.name);
      const old = record.name;
      record.name = wanted;
      record.spec = { ...record.spec, name: wanted };
      this.names.set(wanted, record.id);
      await this.save(record);
      this.emit(record, 'rename', { oldName: `/${old}` });
    });
  }

  async wait(ref: string, signal?: AbortSignal): Promise<number> {
    const record = this.get(ref);
    if (!this.isLive(record) && record.state.status !== 'restarting') return record.state.exitCode;
    const exited = this.exited(record.id);
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(new EngineError('engine', 'wait aborted'));
      signal?.addEventListener('abort', onAbort, { once: true });
      void exited.then(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
    });
    return record.state.exitCode;
  }

  // ---- health ---------------------------------------------------------------------------------

  private watchHealth(record: ContainerRecord): void {
    const hc = record.healthcheck;
    if (!hc || !record.state.health) return;
    this.monitors.get(record.id)?.stop();
    const monitor = new HealthMonitor(hc, record.state.health, {
      run: (argv, timeoutMs) => this.probe(record.id, argv, timeoutMs),
      update: (health, changed) => {
        if (!this.isLive(record)) return;
        record.state.health = health;
        void this.save(record);
        if (changed) this.emit(record, `health_status: ${health.status}`);
      },
    });
    this.monitors.set(record.id, monitor);
    monitor.start();
  }

  /** Re-arms the checks of a container adopted by a new daemon. */
  resumeHealth(record: ContainerRecord): void {
    if (record.healthcheck) {
      record.state.health ??= HealthMonitor.initialState();
      this.watchHealth(record);
    }
  }

  private async probe(id: string, argv: string[], timeoutMs: number): Promise<ProbeResult> {
    const session = await this.deps.runtime.exec(id, { command: argv, env: [], privileged: false, tty: false, attachStdin: false, detach: false });
    const chunks: Buffer[] = [];
    session.stdout.on('data', (d: Buffer) => chunks.push(d));
    session.stderr?.on('data', (d: Buffer) => chunks.push(d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      session.kill('SIGKILL');
    }, timeoutMs);
    try {
      const exitCode = await session.exit;
      return { exitCode, output: Buffer.concat(chunks).toString('utf8'), timedOut };
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * For a runtime call made without the container's lock (exec, top): runc not knowing it means its
 * process has ended and its exit is being recorded, never that the container does not exist; a
 * not-found from here would make a client think the container gone.
 */
export function notRunning(message: string): (e: unknown) => never {
  return (e) => {
    if (e instanceof EngineError && e.kind === 'not-found') throw new EngineError('conflict', message);
    throw e;
  };
}

function hasLabels(labels: Labels, wanted: Record<string, string | true>): boolean {
  for (const [k, v] of Object.entries(wanted)) {
    if (!(k in labels)) return false;
    if (v !== true && labels[k] !== v) return false;
  }
  return true;
}

function mergeHealthcheck(spec: HealthcheckSpec | undefined, image: ImageView): HealthcheckSpec | undefined {
  const fromImage = image.config.Healthcheck;
  const test = spec?.test && spec.test.length > 0 ? spec.test : fromImage?.Test ?? [];
  if (test.length === 0 || test[0] === 'NONE' || probeArgv(test) === null) return undefined;
  return {
    test,
    interval: spec?.interval || fromImage?.Interval || 0,
    timeout: spec?.timeout || fromImage?.Timeout || 0,
    startPeriod: spec?.startPeriod || fromImage?.StartPeriod || 0,
    ...(spec?.startInterval || fromImage?.StartInterval ? { startInterval: spec?.startInterval || fromImage?.StartInterval } : {}),
    retries: spec?.retries || fromImage?.Retries || 0,
  };
}

function nameSettings(record: ContainerRecord) {
  const spec = record.spec;
  return {
    hostname: spec.hostname ?? record.id.slice(0, 12),
    ...(spec.domainname ? { domainname: spec.domainname } : {}),
    extraHosts: spec.extraHosts,
    dns: spec.dns,
    dnsSearch: spec.dnsSearch,
    dnsOptions: spec.dnsOptions,
  };
}

/** Host networking: the host's resolv.conf, and a hosts file naming the host. */
async function writeHostFiles(files: { hosts: string; resolvConf: string }, record: ContainerRecord): Promise<void> {
  const { readFile } = await import('node:fs/promises');
  const resolv = await readFile('/etc/resolv.conf', 'utf8').catch(() => '');
  const hosts = await readFile('/etc/hosts', 'utf8').catch(() => '127.0.0.1\tlocalhost\n');
  const extra = record.spec.extraHosts.map((h) => `${h.ip}\t${h.host}`);
  await writeFile(files.resolvConf, resolv);
  await writeFile(files.hosts, [hosts.trimEnd(), ...extra, ''].join('\n'));
}

function namespaceModes(record: ContainerRecord, find: (ref: string) => ContainerRecord | null) {
  const out: { ipc?: 'private' | 'shareable' | 'host' | { path: string }; pid?: 'private' | 'host' | { path: string } } = {};
  const joinOf = (container: string, ns: string): { path: string } => {
    const other = find(container);
    if (!other || other.state.pid === 0) throw new EngineError('conflict', `cannot join ${ns} namespace of a non running container: ${container}`);
    return { path: `/proc/${other.state.pid}/ns/${ns}` };
  };
  const ipc = record.spec.ipcMode;
  if (ipc?.kind === 'host' || ipc?.kind === 'shareable' || ipc?.kind === 'private') out.ipc = ipc.kind;
  else if (ipc?.kind === 'container') out.ipc = joinOf(ipc.container, 'ipc');
  else if (ipc) out.ipc = 'private';
  const pid = record.spec.pidMode;
  if (pid?.kind === 'host') out.pid = 'host';
  else if (pid?.kind === 'container') out.pid = joinOf(pid.container, 'pid');
  else if (pid) out.pid = 'private';
  return out;
}

function within(promise: Promise<void>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void promise.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

const SIGNALS: Record<string, number> = { HUP: 1, INT: 2, QUIT: 3, KILL: 9, USR1: 10, USR2: 12, TERM: 15, STOP: 19, CONT: 18 };

function normalSignal(signal: string): string {
  return signal.toUpperCase().replace(/^SIG/, '');
}

function signalNumber(signal: string): string {
  const s = normalSignal(signal);
  return /^\d+$/.test(s) ? s : String(SIGNALS[s] ?? s);
}

export function isRunning(record: ContainerRecord): boolean {
  return record.state.status === 'running' || record.state.status === 'paused';
}

