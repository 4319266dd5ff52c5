/**
 * Health checks as Docker runs them: the first probe `interval` after the start, then one every
 * `interval`; a probe taking longer than `timeout` is killed and fails; failures during
 * `start_period` do not count until a probe succeeds; `retries` consecutive failures make the
 * container unhealthy, one success healthy. The last five results are kept. With `start_interval`
 * (Docker 25), probes during the start period, until one succeeds, come every `start_interval`.
 */
import type { HealthcheckSpec } from '../../contract/engine.js';
import type { HealthResult, HealthState } from '../containers/record.js';

export const DEFAULT_INTERVAL_MS = 30_000;
export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_RETRIES = 3;
const KEPT_RESULTS = 5;
const MAX_OUTPUT = 4096;

export interface ProbeResult {
  exitCode: number;
  output: string;
  timedOut: boolean;
}

export type ProbeRunner = (argv: string[], timeoutMs: number) => Promise<ProbeResult>;

export interface HealthHooks {
  run: ProbeRunner;
  /** Called after every probe with the new state; `changed` when the status changed. */
  update(state: HealthState, changed: boolean): void;
}

export function probeArgv(test: string[]): string[] | null {
  const [kind, ...rest] = test;
  if (kind === 'CMD') return rest;
  if (kind === 'CMD-SHELL') return ['/bin/sh', '-c', rest.join(' ')];
  return null;
}

const ms = (nanos: number, fallback: number): number => (nanos > 0 ? nanos / 1e6 : fallback);

/** One container's checks; stop() ends them (a probe in flight is not waited for). */
export class HealthMonitor {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly startedAt = Date.now();
  private readonly argv: string[];

  constructor(
    private readonly spec: HealthcheckSpec,
    private state: HealthState,
    private readonly hooks: HealthHooks,
  ) {
    this.argv = probeArgv(spec.test) ?? [];
  }

  static initialState(): HealthState {
    return { status: 'starting', failingStreak: 0, log: [] };
  }

  start(): void {
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.probe(), this.nextDelay());
  }

  /** `start_interval` while the start period lasts and no probe has succeeded (Docker 25); `interval` otherwise. */
  private nextDelay(): number {
    const startInterval = this.spec.startInterval ?? 0;
    const inStartPeriod = Date.now() - this.startedAt < ms(this.spec.startPeriod, 0) && this.state.status === 'starting';
    return startInterval > 0 && inStartPeriod ? ms(startInterval, 0) : ms(this.spec.interval, DEFAULT_INTERVAL_MS);
  }

  private async probe(): Promise<void> {
    const timeout = ms(this.spec.timeout, DEFAULT_TIMEOUT_MS);
    const start = new Date().toISOString();
    let result: ProbeResult;
    try {
      result = await this.hooks.run(this.argv, timeout);
    } catch (e) {
      result = { exitCode: -1, output: (e as Error).message, timedOut: false };
    }
    if (this.stopped) return;
    const entry: HealthResult = {
      start,
      end: new Date().toISOString(),
      exitCode: result.timedOut ? -1 : result.exitCode,
      output: result.timedOut ? `Health check exceeded timeout (${formatSeconds(timeout)})` : result.output.slice(0, MAX_OUTPUT),
    };
    const previous = this.state.status;
    const log = [...this.state.log, entry].slice(-KEPT_RESULTS);
    if (entry.exitCode === 0) {
      this.state = { status: 'healthy', failingStreak: 0, log };
    } else {
      const inStartPeriod = Date.now() - this.startedAt < ms(this.spec.startPeriod, 0) && previous === 'starting';
      const streak = inStartPeriod ? this.state.failingStreak : this.state.failingStreak + 1;
      const retries = this.spec.retries > 0 ? this.spec.retries : DEFAULT_RETRIES;
      this.state = { status: streak >= retries ? 'unhealthy' : previous, failingStreak: streak, log };
    }
    this.hooks.update(this.state, this.state.status !== previous);
    this.schedule();
  }
}

function formatSeconds(msValue: number): string {
  const s = msValue / 1000;
  return Number.isInteger(s) ? `${s}s` : `${s.toFixed(3).replace(/0+$/, '')}s`;
}
