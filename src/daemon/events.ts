/**
 * The daemon's event stream: what `flotilla events` and the reconciler's waits read. Events carry
 * Docker's attributes (the object's labels, name, image, exitCode on die) so both engines look
 * the same to the CLI. The last events are kept so a subscriber can ask for those since a time.
 */
import type { EngineEvent, EventFilter } from '../contract/engine.js';

const HISTORY = 1024;

type Listener = (event: EngineEvent) => void;

export class EventBus {
  private readonly history: EngineEvent[] = [];
  private readonly listeners = new Set<Listener>();
  private lastNano = 0n;

  emit(type: EngineEvent['type'], action: string, id: string, attributes: Record<string, string>): void {
    let now = BigInt(Date.now()) * 1_000_000n + process.hrtime.bigint() % 1_000_000n;
    if (now <= this.lastNano) now = this.lastNano + 1n;
    this.lastNano = now;
    const event: EngineEvent = { type, action, id, attributes, timeNano: now };
    this.history.push(event);
    if (this.history.length > HISTORY) this.history.shift();
    for (const listener of this.listeners) listener(event);
  }

  /** Events matching the filter: those since `filter.since` (seconds) first, then live ones until aborted. */
  async *subscribe(filter: EventFilter): AsyncIterable<EngineEvent> {
    const queue: EngineEvent[] = [];
    let wake: (() => void) | null = null;
    const listener: Listener = (e) => {
      if (matches(e, filter)) {
        queue.push(e);
        wake?.();
      }
    };
    if (filter.since !== undefined) {
      const since = BigInt(Math.floor(filter.since * 1e9));
      for (const e of this.history) if (e.timeNano >= since && matches(e, filter)) queue.push(e);
    }
    this.listeners.add(listener);
    const onAbort = (): void => wake?.();
    filter.signal?.addEventListener('abort', onAbort);
    try {
      for (;;) {
        while (queue.length > 0) yield queue.shift() as EngineEvent;
        if (filter.signal?.aborted) return;
        await new Promise<void>((r) => (wake = r));
        wake = null;
      }
    } finally {
      this.listeners.delete(listener);
      filter.signal?.removeEventListener('abort', onAbort);
    }
  }
}

function matches(event: EngineEvent, filter: EventFilter): boolean {
  if (filter.types && filter.types.length > 0 && !filter.types.includes(event.type)) return false;
  for (const label of filter.labels ?? []) {
    const eq = label.indexOf('=');
    if (eq < 0) {
      if (!(label in event.attributes)) return false;
    } else if (event.attributes[label.slice(0, eq)] !== label.slice(eq + 1)) return false;
  }
  return true;
}
