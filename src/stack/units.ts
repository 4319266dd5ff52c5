/**
 * Values as Docker's CLI reads them in a stack file: durations (Go's time.ParseDuration), CPU
 * amounts (a decimal number of CPUs, exact to the nanoCPU) and memory sizes (1024-based units).
 * Each returns undefined for text it does not accept; callers make the located error.
 */

const UNIT_NANOS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, μs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Nanoseconds of a Go duration ("1m30s", "1.5h", "300ms", "0"); a number is taken as nanoseconds. */
export function durationNanos(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? Math.trunc(value) : undefined;
  let s = value.trim();
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s.startsWith('-')) sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') return undefined;
  const part = /^(\d*\.?\d*)(ns|us|µs|μs|ms|s|m|h)/;
  let total = 0;
  while (s !== '') {
    const m = part.exec(s);
    if (!m || m[1] === '' || m[1] === '.') return undefined;
    total += Number(m[1]) * (UNIT_NANOS[m[2] as string] as number);
    s = s.slice(m[0].length);
  }
  return sign * Math.round(total);
}

/** NanoCPUs of "0.5", "2", 1.25: the amount times 10^9, which must come out whole. */
export function nanoCpus(value: string | number): number | undefined {
  const text = typeof value === 'number' ? String(value) : value.trim();
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return undefined;
  // Exact decimal arithmetic: digits shifted by the exponent and the 9 places of nano.
  const digits = `${m[2]}${m[3] ?? ''}`.replace(/^0+(?=\d)/, '');
  const shift = 9 - (m[3] ?? '').length + Number(m[4] ?? 0);
  let whole: bigint;
  if (shift >= 0) {
    whole = BigInt(digits || '0') * 10n ** BigInt(shift);
  } else {
    const cut = digits.length + shift;
    const kept = cut > 0 ? digits.slice(0, cut) : '0';
    const dropped = cut > 0 ? digits.slice(cut) : digits;
    if (/[1-9]/.test(dropped)) return undefined;
    whole = BigInt(kept);
  }
  const n = Number(whole) * (m[1] === '-' ? -1 : 1);
  return Number.isSafeInteger(n) ? n : undefined;
}

const MEMORY_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** Bytes of "64M", "1.5g", "512 MiB", "1024": a number with a 1024-based unit (b, k, m, g, t, p). */
export function memoryBytes(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.trunc(value) : undefined;
  const m = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(value.trim());
  if (!m) return undefined;
  const unit = MEMORY_UNITS[(m[2] ?? '').toLowerCase()] as number;
  const n = Number(m[1]);
  return Number.isFinite(n) ? Math.trunc(n * unit) : undefined;
}
