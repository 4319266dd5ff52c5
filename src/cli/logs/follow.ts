/**
 * Following the logs of a project's containers: those running now, and (with `follow`) every
 * container of the selected services that starts later (a scale-up, a restart), as docker-compose
 * does with its event stream. `done` resolves when no followed container is left running.
 *
 * A new container is shown from its first line (a scale-up's containers print before we see
 * them start); a restarted one from where its previous run's output ended. Lines are always
 * fetched with the engine's timestamps (removed again unless asked for): the last one printed
 * marks that boundary exactly, where a start or die time would not (the engine stamps a line when
 * it reads it, which can be after the process has exited, or before the start is recorded).
 */
import { setMaxListeners } from 'node:events';
import type { Engine, LogChunk } from '../../contract/engine.js';
import { LABEL } from '../../plan/labels.js';
import { nameWithoutProject } from '../../model/names.js';
import type { LogPrinter } from './printer.js';

export interface FollowOptions {
  follow: boolean;
  tail?: number;
  timestamps: boolean;
  /** Only these services (all when undefined). */
  services?: ReadonlySet<string>;
  /** Only the container of this number (`logs --index`). */
  index?: number;
  /** No line stamped before or after these times (seconds since the epoch). */
  since?: number;
  until?: number;
  /** Called when a followed container's output ends, with its exit code. */
  onExit?: (container: { id: string; name: string; service: string }, exitCode: number) => void;
}

export interface FollowedContainer {
  id: string;
  name: string;
  service: string;
}

/** Seconds since the epoch (with the fraction) of an RFC 3339 time; undefined for Go's zero time. */
export function epochSeconds(rfc3339: string): number | undefined {
  const ms = Date.parse(rfc3339);
  if (!Number.isFinite(ms) || ms <= 0) return undefined;
  const fraction = /\.(\d+)/.exec(rfc3339)?.[1] ?? '0';
  return Math.floor(ms / 1000) + Number(`0.${fraction}`);
}

/** Whether `line` starts with an engine timestamp ("2026-11-22T17:12:14.783766574Z") ending at `end`. */
function looksStamped(line: string, end: number): boolean {
  return end >= 20 && line[4] === '-' && line[7] === '-' && line[10] === 'T' && line[13] === ':' && line[end - 1] === 'Z';
}

/** A `since` just after a line stamped `seconds`: that line excluded, every later one kept. */
export function justAfter(seconds: number): number {
  return seconds + 1e-6;
}

/**
 * Where a stopped container's next output will begin: just after its last line (engine time,
 * seconds), or undefined when it never printed anything (then all of its output is new).
 */
export async function endOfOutput(engine: Engine, id: string): Promise<number | undefined> {
  let text = '';
  for await (const chunk of engine.containerLogs(id, { follow: false, tail: 1, timestamps: true })) text += chunk.data.toString('utf8');
  const lines = text.split('\n').filter((l) => l !== '');
  const stamp = lines[lines.length - 1]?.split(' ', 1)[0];
  const seconds = stamp === undefined ? undefined : epochSeconds(stamp);
  return seconds === undefined ? undefined : justAfter(seconds);
}

export class LogFollower {
  private readonly active = new Map<string, Promise<void>>();
  /** Containers that started again before their previous output had ended (with a fallback `since`). */
  private readonly restarted = new Map<string, { c: FollowedContainer; fallback: number | undefined }>();
  /** Every container followed so far: a start of one of these is a restart. */
  private readonly seen = new Set<string>();
  /** The engine's timestamp of the last line printed for each container (seconds). */
  private readonly lastLine = new Map<string, number>();
  private readonly abort = new AbortController();
  private idle: (() => void) | undefined;

  constructor(
    private readonly engine: Engine,
    private readonly project: string,
    private readonly printer: LogPrinter,
    private readonly options: FollowOptions,
  ) {
    // Two requests (logs, wait) per followed container listen to the one signal.
    setMaxListeners(0, this.abort.signal);
  }

  /**
   * Starts printing a container's logs (once). With `since` (engine time, seconds) only the output
   * from then on, else the last `tail` lines (all by default).
   */
  add(c: FollowedContainer, since?: number): void {
    if (this.active.has(c.id)) return;
    this.seen.add(c.id);
    const short = nameWithoutProject(c.name, this.project);
    const logOptions = { follow: this.options.follow, timestamps: true, signal: this.abort.signal } as Parameters<Engine['containerLogs']>[1];
    if (since !== undefined) logOptions.since = Math.max(since, this.options.since ?? since);
    else {
      if (this.options.tail !== undefined) logOptions.tail = this.options.tail;
      if (this.options.since !== undefined) logOptions.since = this.options.since;
    }
    if (this.options.until !== undefined) logOptions.until = this.options.until;
    const run = (async () => {
      try {
        await this.printer.print(short, this.lines(c.id, this.engine.containerLogs(c.id, logOptions)));
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
        if (again && !this.abort.signal.aborted) this.add(again.c, this.resumeAt(c.id, again.fallback));
        else if (this.active.size === 0) this.idle?.();
      }
    })();
    this.active.set(c.id, run);
  }

  /** Where a restarted container's new output begins: after the last line printed, else `fallback`. */
  private resumeAt(id: string, fallback: number | undefined): number | undefined {
    const last = this.lastLine.get(id);
    return last === undefined ? fallback : justAfter(last);
  }

  /**
   * Output as batches of complete lines (a last line without its newline ends it), with the
   * engine's timestamps noted and removed unless they were asked for. Only a batch's last line
   * has its time parsed (where a restart's output begins): a Date.parse per line was most of the
   * time `logs` took on big logs.
   */
  private async *lines(id: string, chunks: AsyncIterable<LogChunk>): AsyncGenerator<string[]> {
    const keep = this.options.timestamps;
    let partial = '';
    const decoder = new TextDecoder();
    const strip = (line: string) => {
      const space = line.indexOf(' ');
      const end = space === -1 ? line.length : space;
      if (!looksStamped(line, end)) return line;
      return keep ? line : space === -1 ? '' : line.slice(space + 1);
    };
    const note = (line: string) => {
      const space = line.indexOf(' ');
      const seconds = epochSeconds(space === -1 ? line : line.slice(0, space));
      if (seconds !== undefined) this.lastLine.set(id, seconds);
    };
    for await (const chunk of chunks) {
      const text = partial + decoder.decode(chunk.data, { stream: true });
      const last = text.lastIndexOf('\n');
      if (last === -1) {
        partial = text;
        continue;
      }
      partial = text.slice(last + 1);
      const raw = text.slice(0, last).split('\n');
      note(raw[raw.length - 1] as string);
      yield raw.map(strip);
    }
    const rest = partial + decoder.decode();
    if (rest !== '') {
      note(rest);
      yield [strip(rest)];
    }
  }

  /** Follows containers of the selected services as they start (new ones and restarted ones). */
  watch(): void {
    const events = this.engine.events({ labels: [`${LABEL.project}=${this.project}`], types: ['container'], signal: this.abort.signal });
    const lastDie = new Map<string, number>();
    void (async () => {
      try {
        for await (const e of events) {
          if (e.action === 'die') lastDie.set(e.id, Number(e.timeNano) / 1e9);
          if (e.action !== 'start') continue;
          const service = e.attributes[LABEL.service] ?? '';
          if (e.attributes[LABEL.oneOff] === 'True') continue;
          if (this.options.services && !this.options.services.has(service)) continue;
          if (this.options.index !== undefined && e.attributes[LABEL.number] !== String(this.options.index)) continue;
          const c = { id: e.id, name: e.attributes['name'] ?? e.id.slice(0, 12), service };
          if (!this.seen.has(e.id)) {
            this.add(c);
            continue;
          }
          // Restarted: its new output only. When nothing of it was printed, its last die is the
          // best boundary there is.
          const fallback = lastDie.get(e.id) ?? Number(e.timeNano) / 1e9;
          if (this.active.has(e.id)) this.restarted.set(e.id, { c, fallback });
          else this.add(c, this.resumeAt(e.id, fallback));
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
