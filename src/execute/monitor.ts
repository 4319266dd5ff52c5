/**
 * Waits for containers to reach a state (running, healthy, exited) without polling in a loop: it
 * follows the engine's event stream for the project, and checks the current state once when a
 * wait begins (subscribe first, then inspect, so nothing is missed in between).
 */
import type { Engine, EngineEvent } from '../contract/engine.js';
import { LABEL } from '../plan/labels.js';
import { FlotillaError } from '../errors.js';

export class DependencyError extends FlotillaError {}

type Check = () => Promise<boolean>;

export class ContainerMonitor {
  private readonly abort = new AbortController();
  private readonly waiters = new Map<string, Set<() => void>>();
  private started: Promise<void> | undefined;

  constructor(
    private readonly engine: Engine,
    private readonly project: string,
  ) {}

  /** Starts following events; call before the first wait. */
  start(): void {
    if (this.started) return;
    const events = this.engine.events({ labels: [`${LABEL.project}=${this.project}`], types: ['container'], signal: this.abort.signal });
    this.started = (async () => {
      try {
        for await (const e of events) this.notify(e);
      } catch {
        // The stream ends when stopped; waits fall back to their periodic re-check.
      }
    })();
  }

  private notify(e: EngineEvent): void {
    const set = this.waiters.get(e.id);
    if (set) for (const wake of [...set]) wake();
  }

  /** Resolves when `check` is true for the container; re-checks on each of its events (and every 2 s as a backstop). */
  private async until(id: string, check: Check, signal?: AbortSignal): Promise<void> {
    let wake: () => void = () => {};
    const set = this.waiters.get(id) ?? new Set();
    this.waiters.set(id, set);
    try {
      for (;;) {
        const woken = new Promise<void>((resolve) => {
          wake = resolve;
          set.add(resolve);
        });
        if (await check()) return;
        if (signal?.aborted) throw new DependencyError('interrupted');
        await Promise.race([woken, new Promise((r) => setTimeout(r, 2000).unref())]);
        set.delete(wake);
      }
    } finally {
      set.delete(wake);
      if (set.size === 0) this.waiters.delete(id);
    }
  }

  async waitHealthy(id: string, name: string, signal?: AbortSignal): Promise<void> {
    await this.until(id, async () => {
      const info = await this.engine.inspectContainer(id);
      if (!info) throw new DependencyError(`container ${name} disappeared`);
      if (!info.state.health) throw new DependencyError(`container ${name} has no healthcheck, so it can never become healthy`);
      if (info.state.health.status === 'healthy') return true;
      if (info.state.health.status === 'unhealthy') throw new DependencyError(`container ${name} is unhealthy`);
      if (!info.state.running) throw new DependencyError(`container ${name} exited with code ${info.state.exitCode} before becoming healthy`);
      return false;
    }, signal);
  }

  async waitCompleted(id: string, name: string, signal?: AbortSignal): Promise<void> {
    await this.until(id, async () => {
      const info = await this.engine.inspectContainer(id);
      if (!info) throw new DependencyError(`container ${name} disappeared`);
      if (info.state.running || info.state.restarting) return false;
      if (info.state.status === 'created') return false;
      if (info.state.exitCode !== 0) throw new DependencyError(`container ${name} exited with code ${info.state.exitCode}`);
      return true;
    }, signal);
  }

  stop(): void {
    this.abort.abort();
  }
}
