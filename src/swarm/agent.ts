/**
 * The agent: tasks assigned to this node made containers through the engine (the daemon's own
 * container machinery), and what happens to them reported back as the task's observed state, as
 * swarmkit's agent does: accepted/preparing → ready (image there, container created) → starting →
 * running → complete/failed; shutdown when the desired state says so; rejected when it cannot be
 * prepared. The agent writes only observed fields; the orchestrator writes desired states.
 *
 * A task's container name is fixed by the task (`<service>.<slot>.<task id>`), so preparing again
 * after a crash finds the container made before instead of making a second one; containers whose
 * task the store no longer has are removed by the sweep.
 */
import type { EndpointSpec, Engine } from '../contract/engine.js';
import { isNotFound } from '../contract/errors.js';
import { isTerminal, type TaskState } from '../contract/swarm.js';
import type { StoreObjects, SwarmStore, SwarmTask } from './store.js';
import { TASK_ID_LABEL, taskContainerSpec, taskFiles } from './task-container.js';
import { taskName } from './tasks.js';
import { ensureEngineNetwork, NETWORK_ID_LABEL } from './engine-network.js';

const STOPPING: readonly TaskState[] = ['shutdown', 'remove', 'complete', 'failed', 'rejected', 'orphaned'];

type Observed = Partial<Pick<SwarmTask, 'state' | 'message' | 'error' | 'exitCode' | 'containerId'>>;

export class TaskAgent {
  private readonly busy = new Set<string>();
  private readonly watching = new Map<string, AbortController>();
  private closed = false;

  constructor(
    private readonly store: SwarmStore,
    private readonly engine: Engine,
    private readonly nodeId: string,
    private readonly log: (line: string) => void,
  ) {}

  close(): void {
    this.closed = true;
    for (const c of this.watching.values()) c.abort();
    this.watching.clear();
  }

  /** Starts, in the background, what each of this node's tasks needs next. */
  pass(): void {
    if (this.closed) return;
    for (const task of this.store.list('task')) {
      if (task.nodeId !== this.nodeId || this.busy.has(task.id)) continue;
      const op = this.next(task);
      if (!op) continue;
      this.busy.add(task.id);
      op()
        .catch((e: unknown) => this.log(`swarm: task ${task.id}: ${e instanceof Error ? e.message : String(e)}`))
        .finally(() => {
          this.busy.delete(task.id);
          if (!this.closed) setImmediate(() => this.pass());
        });
    }
  }

  private next(task: SwarmTask): (() => Promise<void>) | undefined {
    const ended = isTerminal(task.state);
    if (task.desiredState === 'remove' && ended) return () => this.removeTask(task.id);
    if (STOPPING.includes(task.desiredState) && !ended) return () => this.shutdown(task.id);
    if (['assigned', 'accepted', 'preparing'].includes(task.state) && (task.desiredState === 'ready' || task.desiredState === 'running')) return () => this.prepare(task.id);
    if (task.state === 'ready' && task.desiredState === 'running') return () => this.start(task.id);
    if ((task.state === 'starting' || task.state === 'running') && !this.watching.has(task.id)) return () => this.follow(task.id);
    return undefined;
  }

  /** Writes observed fields onto the task as it is now (the orchestrator may have changed it). */
  private observe(id: string, fields: Observed, onlyIfLive = false): SwarmTask | undefined {
    return this.store.transact((tx) => {
      const current = tx.get('task', id);
      if (!current || (onlyIfLive && isTerminal(current.state))) return undefined;
      const state = fields.state ?? current.state;
      return tx.update('task', { ...current, ...fields, ...(state !== current.state ? { timestamp: new Date().toISOString() } : {}) });
    });
  }

  private context(id: string): { task: SwarmTask; service: StoreObjects['service'] } | undefined {
    const task = this.store.get('task', id);
    const service = task && this.store.get('service', task.serviceId);
    return task && service ? { task, service } : undefined;
  }

  private async prepare(id: string): Promise<void> {
    const ctx = this.context(id);
    if (!ctx) return;
    this.observe(id, { state: 'preparing', message: 'preparing' });
    try {
      const { task, service } = ctx;
      const image = task.spec.container.image;
      if (!(await this.engine.inspectImage(image))) await this.engine.pullImage(image);
      const networks = await this.networksOf(task);
      const files = taskFiles(task, (kind, name) => this.store.list(kind).find((o) => o.name === name)?.data);
      const spec = taskContainerSpec(service, task, networks, files);
      let containerId: string;
      const existing = await this.engine.inspectContainer(spec.name);
      if (existing && existing.labels[TASK_ID_LABEL] === task.id) containerId = existing.id;
      else containerId = await this.engine.createContainer(spec);
      this.observe(id, { state: 'ready', message: 'prepared', containerId });
    } catch (e) {
      this.observe(id, { state: 'rejected', message: 'preparing', error: e instanceof Error ? e.message : String(e) }, true);
    }
  }

  private async start(id: string): Promise<void> {
    const task = this.store.get('task', id);
    if (!task?.containerId) return;
    this.observe(id, { state: 'starting', message: 'starting' });
    const since = Date.now() / 1000 - 1;
    try {
      await this.engine.startContainer(task.containerId);
    } catch (e) {
      this.observe(id, { state: 'failed', message: 'starting', error: `starting container failed: ${e instanceof Error ? e.message : String(e)}` }, true);
      return;
    }
    // A container with a health check stays `starting` until it is healthy, as swarmkit's.
    const info = await this.engine.inspectContainer(task.containerId);
    if (!info?.state.health) this.observe(id, { state: 'running', message: 'started' }, true);
    this.watch(id, task.containerId, info?.state.health ? since : undefined);
  }

  /** A starting or running task found without a watcher (the core restarted): looked at, then watched. */
  private async follow(id: string): Promise<void> {
    const task = this.store.get('task', id);
    if (!task) return;
    const info = task.containerId ? await this.engine.inspectContainer(task.containerId) : null;
    if (!info || !task.containerId) {
      this.observe(id, { state: 'failed', message: 'started', error: 'task: the container is gone' }, true);
      return;
    }
    if (info.state.status === 'created') {
      this.observe(id, { state: 'ready', message: 'prepared' }, true);
      return;
    }
    const health = info.state.health?.status;
    if (health === 'unhealthy' && info.state.running) {
      await this.unhealthy(id, task.containerId);
      return;
    }
    if (task.state === 'starting' && info.state.running && (health === undefined || health === 'healthy')) this.observe(id, { state: 'running', message: 'started' }, true);
    this.watch(id, task.containerId, health !== undefined ? Date.now() / 1000 - 1 : undefined);
  }

  /** An unhealthy task fails (and its container is stopped), as swarmkit's executor does. */
  private async unhealthy(id: string, containerId: string): Promise<void> {
    const failed = this.observe(id, { state: 'failed', message: 'started', error: 'dockerexec: unhealthy container' }, true);
    if (!failed) return;
    const grace = Math.round((failed.spec.container.stopGracePeriod ?? 10e9) / 1e9);
    try {
      await this.engine.stopContainer(containerId, grace);
    } catch (e) {
      if (!isNotFound(e)) this.log(`swarm: task ${id}: stopping an unhealthy container: ${(e as Error).message}`);
    }
  }

  /** Health events of the task's container from `since` (seconds): healthy makes it running, unhealthy fails it. */
  private async followHealth(id: string, containerId: string, since: number, signal: AbortSignal): Promise<void> {
    for await (const event of this.engine.events({ types: ['container'], labels: [`${TASK_ID_LABEL}=${id}`], since, signal })) {
      if (signal.aborted) return;
      if (event.action === 'health_status: healthy') {
        const task = this.store.get('task', id);
        if (task?.state === 'starting') this.observe(id, { state: 'running', message: 'started' }, true);
      } else if (event.action === 'health_status: unhealthy') {
        await this.unhealthy(id, containerId);
        return;
      }
    }
  }

  /** `healthSince`: the container has a health check, whose events from then on are followed too. */
  private watch(id: string, containerId: string, healthSince?: number): void {
    if (this.watching.has(id)) return;
    const controller = new AbortController();
    this.watching.set(id, controller);
    if (healthSince !== undefined) {
      this.followHealth(id, containerId, healthSince, controller.signal).catch((e: unknown) => {
        if (!controller.signal.aborted) this.log(`swarm: task ${id}: following its health: ${e instanceof Error ? e.message : String(e)}`);
      });
    }
    this.engine
      .waitContainer(containerId, controller.signal)
      .then(
        (exitCode) => {
          if (controller.signal.aborted) return;
          const task = this.store.get('task', id);
          if (!task) return;
          if (STOPPING.includes(task.desiredState)) this.observe(id, { state: 'shutdown', message: 'shutdown', exitCode }, true);
          else if (exitCode === 0) this.observe(id, { state: 'complete', message: 'finished', exitCode }, true);
          else this.observe(id, { state: 'failed', message: 'started', exitCode, error: `task: non-zero exit (${exitCode})` }, true);
        },
        (e: unknown) => {
          if (controller.signal.aborted) return;
          this.observe(id, { state: 'failed', message: 'started', error: `task: ${e instanceof Error ? e.message : String(e)}` }, true);
        },
      )
      .finally(() => {
        controller.abort();
        if (this.watching.get(id) === controller) this.watching.delete(id);
        if (!this.closed) setImmediate(() => this.pass());
      });
  }

  private async shutdown(id: string): Promise<void> {
    const task = this.store.get('task', id);
    if (!task) return;
    const grace = Math.round((task.spec.container.stopGracePeriod ?? 10e9) / 1e9);
    if (task.containerId) {
      try {
        await this.engine.stopContainer(task.containerId, grace);
      } catch (e) {
        // A container made but never started (a task shut down while ready) cannot be stopped.
        const info = isNotFound(e) ? null : await this.engine.inspectContainer(task.containerId);
        if (info?.state.running) throw e;
      }
    }
    this.observe(id, { state: 'shutdown', message: 'shutdown' }, true);
  }

  private async removeTask(id: string): Promise<void> {
    const task = this.store.get('task', id);
    if (!task) return;
    const service = this.store.get('service', task.serviceId);
    const ref = task.containerId ?? (service ? taskName(service.spec.name, task) : undefined);
    if (ref) {
      try {
        await this.engine.removeContainer(ref, { force: true });
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    this.store.transact((tx) => tx.delete('task', id));
  }

  /** The engine networks of the task's attachments, made when missing. */
  private async networksOf(task: SwarmTask): Promise<Record<string, EndpointSpec>> {
    const out: Record<string, EndpointSpec> = {};
    const service = this.store.get('service', task.serviceId);
    for (const attachment of task.spec.networks ?? []) {
      const network = this.store.list('network').find((n) => n.name === attachment.target || n.id === attachment.target);
      if (!network) throw new Error(`network ${attachment.target} not found`);
      await ensureEngineNetwork(this.engine, network);
      const aliases = [...(attachment.aliases ?? [])];
      if (service && !aliases.includes(service.spec.name)) aliases.push(service.spec.name);
      out[network.name] = { aliases };
    }
    return out;
  }

  /**
   * Removes the containers of tasks the store no longer has, and the engine networks of swarm
   * networks it no longer has (once no container uses them).
   */
  async sweep(): Promise<void> {
    if (this.closed) return;
    const containers = await this.engine.listContainers({ labels: { [TASK_ID_LABEL]: true }, all: true });
    for (const c of containers) {
      const taskId = c.labels[TASK_ID_LABEL] ?? '';
      if (this.store.get('task', taskId) || this.busy.has(taskId)) continue;
      try {
        await this.engine.removeContainer(c.id, { force: true });
      } catch (e) {
        if (!isNotFound(e)) this.log(`swarm: removing the container of a removed task: ${(e as Error).message}`);
      }
    }
    const known = new Set(this.store.list('network').map((n) => n.id));
    for (const n of await this.engine.listNetworks({ [NETWORK_ID_LABEL]: true })) {
      if (known.has(n.labels[NETWORK_ID_LABEL] ?? '')) continue;
      try {
        await this.engine.removeNetwork(n.name);
      } catch {
        // Still in use by a task's container that is stopping: the next sweep removes it.
      }
    }
  }
}
