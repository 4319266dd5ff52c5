/**
 * The times `logs --since/--until` take, read as the Docker CLI reads them (Compose v2 hands them
 * to it): an RFC 3339 time or date (`2013-01-02T13:23:37Z`, `2013-01-02T13:23:37.5+01:00`,
 * `2013-01-02`; without a zone, UTC), Unix seconds (`1700000000.5`), or a duration back from now
 * (`42m`, `1h30m`, `10s`).
 */
import { UsageError } from '../errors.js';
import { parseDurationSeconds } from '../compose/syntax/duration.js';

const RFC3339 = /^(\d{4}-\d\d-\d\d)(?:T(\d\d:\d\d(?::\d\d)?)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)?)?$/;

/** Seconds since the epoch (with the fraction) that `text` names, `nowMs` being now. */
export function parseLogTime(text: string, flag: string, nowMs: number): number {
  const value = text.trim();
  if (/^\d+(?:\.\d{1,9})?$/.test(value)) return Number(value);
  const m = RFC3339.exec(value);
  if (m) {
    const [, date, clock = '00:00:00', fraction = '', zone = 'Z'] = m;
    const ms = Date.parse(`${date}T${clock.length === 5 ? `${clock}:00` : clock}${zone}`);
    if (Number.isFinite(ms)) return ms / 1000 + Number(`0.${fraction || '0'}`);
  }
  const duration = /[a-zµ]$/i.test(value) ? parseDurationSeconds(value) : undefined;
  if (duration !== undefined) return nowMs / 1000 - duration;
  throw new UsageError(`invalid value for ${flag}: "${text}" (use a timestamp like 2013-01-02T13:23:37Z, Unix seconds, or a duration like 42m)`);
}
