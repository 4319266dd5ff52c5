/**
 * The runtime layer of the embedded engine: OCI bundles on an overlay rootfs, containers run by
 * runc under conmon, exec, attached runs, logs, top, stats, pause. The container manager (state,
 * restart policies, health checks) is built on this API; it keeps no state of its own beyond
 * files on disk, so a new daemon picks up where a dead one left off.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, rmdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ContainerSpec, ExecSpec, NamespaceSpec } from '../../contract/engine.js';
import { EngineError } from '../../contract/errors.js';
import type { ImageConfigJson } from '../../contract/image-config.js';
import type { RuntimePort } from '../containers/collaborators.js';
import type { DaemonPaths } from '../paths.js';
import { writeJsonAtomic } from '../state/json-file.js';
import { removeTree } from '../state/remove-tree.js';
import { startAttached } from './attached.js';
import { CgroupParentGate, removeCgroupDirs, removeCgroups } from './cgroups.js';
import { spawnConmon } from './conmon.js';
import { allHostDevices, mappedDevices } from './devices.js';
import { startExec } from './exec.js';
import { startCreated } from './exec-fifo.js';
import { ExitWatcher, readExitInfo, type ExitListener } from './exits.js';
import { checkHost, daemonCapabilities, hostFacts, which } from './host.js';
import { containerFiles, type ContainerFiles } from './layout.js';
import { readLogFile, logFiles } from './log-reader.js';
import type { K8sLogWriter } from './log-writer.js';
import { resolveUser } from './process-config.js';
import { mkdirInRoot, mountOverlay, overlayMounted, readContainerFile, unmountAll } from './rootfs.js';
import { requestReopen, rotateLog } from './rotate.js';
import { runc, runcList, toEngineError } from './runc.js';
import { readRuncState, readRuncStateDetails } from './runc-state.js';
import { runningConmon, waitConmonGone, waitForExec } from './processes.js';
import { parseSecurityOpt } from './security-opt.js';
import { parseSignal } from './signals.js';
import { buildSpec, type BuiltSpec, type HostFacts } from './spec.js';
import { parsePs, parseStats, psArguments, type ContainerStats } from './top-stats.js';
import type { BundleMeta, BundleRequest, ExecSession, ExitInfo, RuncEntry, RuntimeLogOptions, TimedLogChunk } from './types.js';

const ID = /^[0-9a-f]{64}$/;

function checkId(id: string): void {
  if (!ID.test(id)) throw new EngineError('invalid', `invalid container id ${JSON.stringify(id)}: expected 64 hex digits`);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** The content of the profile a `seccomp=<file>` security option names; undefined for the others. */
async function seccompProfileOf(spec: ContainerSpec): Promise<unknown> {
  const security = parseSecurityOpt(spec.securityOpt);
  if (typeof security.seccomp !== 'object') return undefined;
  try {
    return JSON.parse(await readFile(security.seccomp.path, 'utf8'));
  } catch (e) {
    throw new EngineError('invalid', `cannot load the seccomp profile ${security.seccomp.path}: ${(e as Error).message}`);
  }
}

export class Runtime implements RuntimePort {
  private readonly exitWatcher: ExitWatcher;
  private readonly writers = new Map<string, K8sLogWriter>();
  private facts: Promise<HostFacts> | null = null;
  private runcPath: Promise<string> | null = null;
  private readonly cgroupParent: CgroupParentGate;

  constructor(
    readonly paths: DaemonPaths,
    private readonly log: (line: string) => void,
  ) {
    this.cgroupParent = new CgroupParentGate(paths.cgroupParent);
    this.exitWatcher = new ExitWatcher(paths.exits, (id) => containerFiles(paths, id).oomFlags, log);
  }

  checkHost(): Promise<string[]> {
    return checkHost();
  }

  private hostFacts(): Promise<HostFacts> {
    this.facts ??= hostFacts();
    return this.facts;
  }

  private files(id: string): ContainerFiles {
    checkId(id);
    return containerFiles(this.paths, id);
  }

  private async meta(id: string): Promise<BundleMeta> {
    const files = this.files(id);
    try {
      return JSON.parse(await readFile(files.meta, 'utf8')) as BundleMeta;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new EngineError('not-found', `container ${id} has no bundle: prepare it first`);
      throw e;
    }
  }

  private async metaIfAny(id: string): Promise<BundleMeta | null> {
    try {
      return await this.meta(id);
    } catch (e) {
      if (e instanceof EngineError && e.kind === 'not-found') return null;
      throw e;
    }
  }

  private async ensureDirs(files: ContainerFiles): Promise<void> {
    for (const dir of [this.paths.runcRoot, this.paths.exits, this.paths.sockets, files.ctr, files.persist]) await mkdir(dir, { recursive: true });
  }

  // ---- bundles ----------------------------------------------------------------------------------

  /**
   * Makes (or remakes) the bundle: the overlay rootfs mounted unless it is already, the user and
   * the devices resolved, config.json written. Idempotent.
   */
  async prepare(req: BundleRequest): Promise<void> {
    const files = this.files(req.id);
    const spec = req.spec;
    for (const [what, path] of Object.entries(req.files)) {
      if (!(await exists(path))) throw new EngineError('engine', `the container's ${what} file ${path} does not exist`);
    }
    for (const layer of req.image.layers) {
      if (!(await exists(layer))) throw new EngineError('not-found', `the image's layer ${layer} does not exist`);
    }
    await Promise.all([files.upper, files.work, files.rootfs].map((d) => mkdir(d, { recursive: true })));
    const mountedNow = await mountOverlay(req.image.layers, files.upper, files.work, files.rootfs);
    try {
      await req.withRootfs?.(files.rootfs);
      const host = await this.hostFacts();
      const [passwd, group] = await Promise.all([readContainerFile(files.rootfs, '/etc/passwd'), readContainerFile(files.rootfs, '/etc/group')]);
      const user = resolveUser(spec.user || req.image.config.User || '', { passwd, group }, spec.groupAdd);
      const mapped = mappedDevices(spec.devices);
      const devices = spec.privileged ? { devices: [...allHostDevices(), ...mapped.devices], rules: [] } : mapped;
      let built: BuiltSpec;
      try {
        built = buildSpec({ req, host, user, devices, seccompProfile: await seccompProfileOf(spec) });
      } catch (e) {
        // e.g. a cap_add the daemon's own bounding set lacks: say which container.
        if (e instanceof EngineError) throw new EngineError(e.kind, `container ${req.id.slice(0, 12)}: ${e.message}`);
        throw e;
      }
      for (const note of built.notes) this.log(`${req.id.slice(0, 12)}: ${note}`);
      await mkdirInRoot(files.rootfs, built.config.process.cwd);
      await writeJsonAtomic(files.config, built.config);
      const meta: BundleMeta = {
        id: req.id,
        tty: spec.tty,
        openStdin: spec.openStdin,
        logPath: req.log?.path ?? null,
        cgroupsPath: req.cgroupsPath,
        groupAdd: spec.groupAdd,
        lowerdirs: req.image.layers,
      };
      await writeJsonAtomic(files.meta, meta);
    } catch (e) {
      if (mountedNow) await unmountAll(files.rootfs).catch(() => undefined);
      throw e;
    }
  }

  /**
   * Refuses, when a container is created, what prepare() would refuse when it starts (Docker
   * checks a container's settings at create: a refused start would leave a container behind that
   * can never run). The spec is built once with stand-ins for what only a start knows: the id,
   * the namespaces of other containers, the user as the image's files name it, the mounts.
   */
  async checkSpec(spec: ContainerSpec, image: { config: ImageConfigJson }): Promise<void> {
    const host = await this.hostFacts();
    const joined = (mode: NamespaceSpec | undefined): 'host' | 'private' => (mode?.kind === 'host' ? 'host' : 'private');
    const req: BundleRequest = {
      id: '0'.repeat(64),
      spec,
      image: { layers: [], config: image.config },
      network: spec.networkMode.kind === 'host' ? 'host' : { path: '/proc/self/ns/net' },
      ipc: joined(spec.ipcMode),
      pid: joined(spec.pidMode),
      mounts: [],
      files: { hosts: '/dev/null', resolvConf: '/dev/null', hostname: '/dev/null' },
      cgroupsPath: `${this.paths.cgroupParent}/check`,
      log: null,
    };
    const devices = spec.privileged ? { devices: [], rules: [] } : mappedDevices(spec.devices);
    buildSpec({ req, host, user: { uid: 0, gid: 0, additionalGids: [] }, devices, seccompProfile: await seccompProfileOf(spec) });
  }

  /**
   * Removes this daemon's cgroup parent where nothing is left in it. Builder steps run through
   * runc directly, which makes the parent and never removes it; at close no create is running.
   */
  releaseCgroupParent(): Promise<void> {
    return this.cgroupParent.removeIfUnused();
  }

  // ---- lifecycle --------------------------------------------------------------------------------

  /** Clears what a previous run left (runc state, exit file, conmon files) before a new run. */
  private async clearStale(id: string, files: ContainerFiles): Promise<void> {
    const state = await readRuncState(this.paths.runcRoot, id);
    if (state && (state.status === 'running' || state.status === 'paused')) {
      throw new EngineError('conflict', `container ${id} is already ${state.status}`);
    }
    if (state) await runc(this.paths.runcRoot, ['delete', '--force', id], `delete stale ${id}`);
    if (!(await overlayMounted(files.rootfs))) throw new EngineError('conflict', `container ${id}'s root filesystem is not mounted: prepare it first`);
    await rm(files.exit, { force: true });
    await removeTree(files.persist);
    await rm(files.pid, { force: true });
    await rm(files.conmonPid, { force: true });
    await this.ensureDirs(files);
    this.exitWatcher.forget(id);
  }

  /** Starts the container under conmon; resolves once it runs, with its host pid. */
  async start(id: string): Promise<{ pid: number }> {
    const files = this.files(id);
    const meta = await this.meta(id);
    await this.clearStale(id, files);
    this.runcPath ??= which('runc').then((p) => p ?? '/usr/sbin/runc');
    const undo = async () => {
      await runc(this.paths.runcRoot, ['delete', '--force', id], `delete ${id}`).catch(() => undefined);
      // conmon reports the failure before it exits, and may still write an exit file.
      if (!(await waitConmonGone(files.conmonPid, id, 5000))) this.log(`${id.slice(0, 12)}: conmon still runs after a failed start`);
      await rm(files.exit, { force: true });
      this.exitWatcher.forget(id);
    };
    let pid: number;
    try {
      // conmon returns once `runc create` has, which makes the container's cgroup.
      const runcPath = await this.runcPath;
      pid = await this.cgroupParent.whileCreating(() =>
        spawnConmon({
          id,
          files,
          runcRoot: this.paths.runcRoot,
          runcPath,
          exitDir: this.paths.exits,
          socketDir: this.paths.sockets,
          logPath: meta.logPath,
          tty: meta.tty,
          openStdin: meta.openStdin,
        }),
      );
    } catch (e) {
      await undo();
      throw e;
    }
    try {
      await startCreated(this.paths.runcRoot, id);
    } catch (e) {
      await undo();
      throw e;
    }
    // The fifo closes when `runc init` execs the command, which may still fail.
    await waitForExec(pid, 2000);
    return { pid };
  }

  async kill(id: string, signal: string): Promise<void> {
    checkId(id);
    const sig = parseSignal(signal);
    const state = await readRuncStateDetails(this.paths.runcRoot, id);
    if (!state) throw new EngineError('not-found', `container ${id} does not exist`);
    if (state.status === 'stopped') throw new EngineError('conflict', `container ${id} is not running`);
    // What `runc kill` does for a running container with its own PID namespace: signal its init,
    // just checked to be the process runc started (its start time). Without the fork of the
    // daemon and the Go start that cost more than the rest of a `stop`. Others (paused, created,
    // a shared PID namespace, where runc may thaw or signal every process) go through runc.
    if (state.status === 'running' && state.ownPidNamespace) {
      try {
        process.kill(state.pid, sig.number);
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ESRCH') throw new EngineError('conflict', `container ${id} is not running`);
        throw new EngineError('engine', `kill ${id}: ${(e as Error).message}`);
      }
    }
    await runc(this.paths.runcRoot, ['kill', id, String(sig.number)], `kill ${id}`);
  }

  exitInfo(id: string): Promise<ExitInfo | null> {
    const files = this.files(id);
    return readExitInfo(files.exit, files.oomFlags);
  }

  /** Calls `listener` once per exit file (those present when watching starts included). */
  onExit(listener: ExitListener): () => void {
    return this.exitWatcher.add(listener);
  }

  async delete(id: string): Promise<void> {
    checkId(id);
    const state = await readRuncStateDetails(this.paths.runcRoot, id);
    if (!state) return;
    if (state.status === 'stopped' && state.ownPidNamespace && !state.hooks) {
      // What `runc delete` does for a stopped container that has no hooks: its cgroups (empty:
      // the kernel ended every process of its PID namespace with its init) and its state
      // directory removed. A cgroup that cannot go is left to runc, which retries and kills.
      if ((await removeCgroupDirs(state.cgroupPaths)).length === 0) {
        await rm(join(this.paths.runcRoot, id), { recursive: true, force: true });
        return;
      }
    }
    try {
      await runc(this.paths.runcRoot, state.status === 'stopped' ? ['delete', id] : ['delete', '--force', id], `delete ${id}`);
    } catch (e) {
      if (!(e instanceof EngineError && e.kind === 'not-found')) throw e;
    }
  }

  /**
   * Frees the container's resources: rootfs unmounted, runtime files and cgroups removed. The
   * upper dir (its changes), its log and its exit file stay until destroy().
   */
  async release(id: string): Promise<void> {
    const files = this.files(id);
    const meta = await this.metaIfAny(id);
    const state = await readRuncState(this.paths.runcRoot, id);
    if (state && (state.status === 'running' || state.status === 'paused')) {
      throw new EngineError('conflict', `container ${id} is ${state.status}: stop it first`);
    }
    await this.delete(id);
    await unmountAll(files.rootfs);
    for (const name of ['config.json', 'ctl', 'winsz', 'attach']) await rm(join(files.bundle, name), { force: true });
    await removeTree(files.rootfs);
    await removeTree(files.ctr);
    await rm(files.socketLink, { force: true });
    const left = await removeCgroups(meta?.cgroupsPath ?? `${this.paths.cgroupParent}/${id}`);
    for (const dir of left) this.log(`${id.slice(0, 12)}: cgroup left behind: ${dir}`);
    await this.cgroupParent.removeIfUnused();
  }

  /**
   * release() plus the container's changes, logs and exit file: nothing of it is left. Changes that
   * cannot be removed (at any depth they can) throw a TreeRemovalError once all else is done.
   */
  async destroy(id: string): Promise<void> {
    const files = this.files(id);
    const meta = await this.metaIfAny(id);
    await this.release(id);
    if (meta?.logPath) {
      for (const f of await logFiles(meta.logPath)) await rm(f, { force: true });
    }
    await rm(files.exit, { force: true });
    this.exitWatcher.forget(id);
    await removeTree(files.bundle);
    await rmdir(dirname(files.bundle)).catch(() => undefined);
  }

  list(): Promise<RuncEntry[]> {
    return runcList(this.paths.runcRoot);
  }

  state(id: string): Promise<RuncEntry | null> {
    checkId(id);
    return readRuncState(this.paths.runcRoot, id);
  }

  /** Whether the container's conmon still runs (its pid file, checked against the process's command line). */
  async conmonAlive(id: string): Promise<boolean> {
    const files = this.files(id);
    return typeof (await runningConmon(files.conmonPid, id)) === 'number';
  }

  async pause(id: string): Promise<void> {
    checkId(id);
    await runc(this.paths.runcRoot, ['pause', id], `pause ${id}`);
  }

  async resume(id: string): Promise<void> {
    checkId(id);
    await runc(this.paths.runcRoot, ['resume', id], `resume ${id}`);
  }

  async top(id: string, psArgs?: string): Promise<{ titles: string[]; processes: string[][] }> {
    checkId(id);
    const r = await runc(this.paths.runcRoot, ['ps', id, ...psArguments(psArgs)], `top ${id}`);
    return parsePs(r.stdout);
  }

  async stats(id: string): Promise<ContainerStats> {
    checkId(id);
    const r = await runc(this.paths.runcRoot, ['events', '--stats', id], `stats ${id}`);
    return parseStats(r.stdout);
  }

  // ---- processes --------------------------------------------------------------------------------

  private async requireRunning(id: string): Promise<void> {
    const state = await readRuncState(this.paths.runcRoot, id);
    if (!state) throw new EngineError('not-found', `container ${id} does not exist`);
    if (state.status === 'paused') throw new EngineError('conflict', `container ${id} is paused: unpause it first`);
    if (state.status !== 'running') throw new EngineError('conflict', `container ${id} is not running`);
  }

  async exec(id: string, spec: ExecSpec): Promise<ExecSession> {
    const files = this.files(id);
    const [meta] = await Promise.all([this.meta(id), this.requireRunning(id)]);
    await mkdir(files.ctr, { recursive: true });
    try {
      return await startExec({ id, runcRoot: this.paths.runcRoot, files, meta, daemonCapabilities: daemonCapabilities() }, spec);
    } catch (e) {
      throw toEngineError(e, `exec in ${id}`);
    }
  }

  /** Runs the container in the foreground with its stdio on the session (no conmon). */
  async runAttached(id: string, options: { stdin: boolean; tty: boolean }): Promise<ExecSession> {
    const files = this.files(id);
    const meta = await this.meta(id);
    await this.clearStale(id, files);
    return startAttached({ id, runcRoot: this.paths.runcRoot, exitDir: this.paths.exits, files, meta, writers: this.writers }, options);
  }

  // ---- logs -------------------------------------------------------------------------------------

  readLogs(id: string, logPath: string, options: RuntimeLogOptions): AsyncIterable<TimedLogChunk> {
    const files = this.files(id);
    // conmon writes the exit file before it has drained the container's output: the output has
    // ended once conmon itself has gone too, whatever the caller's own idea of "running" says.
    const callers = options.isRunning;
    const isRunning = callers
      ? async () => (await callers()) || (await this.conmonAlive(id))
      : async () => !existsSync(files.exit) || (await this.conmonAlive(id));
    return readLogFile(logPath, { ...options, isRunning }, isRunning);
  }

  /** Rotates the log once it has reached maxSize; true when it did. */
  rotateLogs(id: string, logPath: string, maxSize: number, maxFiles: number): Promise<boolean> {
    const files = this.files(id);
    return rotateLog(logPath, maxSize, maxFiles, async () => {
      const writer = this.writers.get(id);
      if (writer) {
        writer.reopen();
        return true;
      }
      return requestReopen(files.ctl);
    });
  }
}
