/**
 * Go-style durations (`1m30s`, `1.5h`, `100ms`, `10us`, `5ns`) as docker-compose 1.29.2 reads them:
 * units in the order h, m, s, ms, us/µs, ns, each at most once, numbers may have a fraction.
 */

const DURATION =
  /^\s*(?:([\d.]+)h)?(?:([\d.]+)m)?(?:([\d.]+)s)?(?:([\d.]+)ms)?(?:([\d.]+)(?:us|µs))?(?:([\d.]+)ns)?\s*$/i;
// Derived by division, not written 1e-9: docker-compose divides by this exact float, and
// 1 / (1/1000/1000/1000) rounds to 1e9 where 1 / 1e-9 truncates to 999999999.
const NANO = 1.0 / 1000.0 / 1000.0 / 1000.0;
const SECONDS_PER_UNIT = [3600, 60, 1, 1.0 / 1000.0, 1.0 / 1000.0 / 1000.0, NANO];

/** Seconds, or undefined when the text is not a duration. */
export function parseDurationSeconds(text: string): number | undefined {
  const m = DURATION.exec(text);
  if (!m || m[0].trim() === '') return undefined;
  let total = 0;
  for (let i = 0; i < SECONDS_PER_UNIT.length; i++) {
    const part = m[i + 1];
    if (part === undefined) continue;
    if (!/^(?:\d+\.?\d*|\.\d+)$/.test(part)) return undefined;
    total += Number(part) * (SECONDS_PER_UNIT[i] as number);
  }
  return total;
}

/** Whole nanoseconds, truncated the way docker-compose computes them. */
export function parseDurationNanos(text: string): number | undefined {
  const s = parseDurationSeconds(text);
  return s === undefined ? undefined : Math.trunc(s / NANO);
}

/** The largest single unit that represents `nanos` exactly: 90 s → "90s", 60 s → "1m". */
export function formatNanos(nanos: number): string {
  let value = nanos;
  let unit = 'ns';
  const steps: [number, string][] = [
    [1000, 'us'],
    [1000, 'ms'],
    [1000, 's'],
    [60, 'm'],
    [60, 'h'],
  ];
  for (const [factor, name] of steps) {
    if (value % factor !== 0) break;
    value /= factor;
    unit = name;
  }
  return `${value}${unit}`;
}
