import type { SourceLocation } from './errors.js';

export interface Warning {
  message: string;
  location?: SourceLocation;
}

/**
 * Collects the warnings a stage produces; the CLI prints them (`WARNING: ...`). Stages never print
 * directly, so they stay pure and testable.
 */
export class Diagnostics {
  readonly warnings: Warning[] = [];
  private readonly seen = new Set<string>();

  warn(message: string, location?: SourceLocation): void {
    this.warnings.push(location ? { message, location } : { message });
  }

  /** Takes over what `other` collected, as if warned here (including the keys warnOnce has seen). */
  adopt(other: Diagnostics): void {
    this.warnings.push(...other.warnings);
    for (const key of other.seen) this.seen.add(key);
  }

  /** Warns only the first time `key` is seen (e.g. once per unset variable). */
  warnOnce(key: string, message: string, location?: SourceLocation): void {
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.warn(message, location);
  }
}
