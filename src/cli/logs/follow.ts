/**
 * Following the logs of a project's containers: those running now, and (with `follow`) every
 * container of the selected services that starts later (a scale-up, a restart), as docker-compose
 * does with its event stream. `done` resolves when no followed container is left running.
 */
import type { Engine } from '../../engine/engine.js';
import { LABEL, nameWithoutProject } from '../../plan/labels.js';
import type { LogPrinter } from './printer.js';

export interface FollowOptions {
  follow: boolean;
  tail?: number;
  timestamps: boolean;
  /** Only these services (all when undefined). */
  services?: ReadonlySet<string>;
  /** Called when a followed container's output ends, with its exit code. */
  onExit?: (container: { id: string; name: string; service: string }, exitCode: number) => void;
}

export class LogFollower {
  private readonly active = new Map<string, Promise<void>>();
  /** Containers that started again before their previous output had ended. */
  private readonly restarted = new Map<string, { id: string; name: string; service: string }>();
  private readonly abort = new AbortController();
  private idle: (() => void) | undefined;

  constructor(
    private readonly engine: Engine,
    private readonly project: string,
    private readonly printer: LogPrinter,
    private readonly options: FollowOptions,
  ) {}

  /** Starts printing a container's logs (once; a restarted container is attached again). */
  add(c: { id: string; name: string; service: string }, tail?: number): void {
    if (this.active.has(c.id)) {
      if (tail === 0) this.restarted.set(c.id, c);
      return;
    }
    const short = nameWithoutProject(c.name, this.project);
    const logOptions = { follow: this.options.follow, timestamps: this.options.timestamps, signal: this.abort.signal } as Parameters<Engine['containerLogs']>[1];
    const t = tail ?? this.options.tail;
    if (t !== undefined) logOptions.tail = t;
    const run = (async () => {
      try {
        await this.printer.print(short, this.engine.containerLogs(c.id, logOptions));
        if (this.options.follow && !this.abort.signal.aborted) {
          const code = await this.engine.waitContainer(c.id, this.abort.signal);
          this.printer.note(short, `${c.name} exited with code ${code}`);
          this.options.onExit?.(c, code);
        }
      } catch (e) {
        if (!this.abort.signal.aborted) this.printer.note(short, `error following ${c.name}: ${(e as Error).message}`);
      } finally {
        this.active.delete(c.id);
        const again = this.restarted.get(c.id);
        this.restarted.delete(c.id);
        if (again && !this.abort.signal.aborted) this.add(again, 0);
        else if (this.active.size === 0) this.idle?.();
      }
    })();
    this.active.set(c.id, run);
  }

  /** Follows containers of the selected services as they start. */
  watch(): void {
    const events = this.engine.events({ labels: [`${LABEL.project}=${this.project}`], types: ['container'], signal: this.abort.signal });
    void (async () => {
      try {
        for await (const e of events) {
          if (e.action !== 'start') continue;
          const service = e.attributes[LABEL.service] ?? '';
          if (e.attributes[LABEL.oneOff] === 'True') continue;
          if (this.options.services && !this.options.services.has(service)) continue;
          // A container seen again after a restart shows only its new output.
          this.add({ id: e.id, name: e.attributes['name'] ?? e.id.slice(0, 12), service }, 0);
        }
      } catch {
        // The stream ends when following stops.
      }
    })();
  }

  /** Resolves when every followed container's output has ended. */
  done(): Promise<void> {
    if (this.active.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.idle = resolve;
    });
  }

  stop(): void {
    this.abort.abort();
  }
}
