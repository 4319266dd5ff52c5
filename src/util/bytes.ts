/**
 * Byte sizes as Docker clients read them: a number of bytes, or digits with a unit b, k, m, g
 * (1024-based, case-insensitive, optional trailing "b": "512m", "1GB", "1.5g").
 */

const UNITS: Record<string, number> = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** Bytes, or undefined when the text is not a size. */
export function parseBytes(value: string | number): number | undefined {
  if (typeof value === 'number') return value;
  let s = value;
  if (s.length === 0) return 0;
  if (/[a-zA-Z]{2}$/.test(s) && /[bB]$/.test(s)) s = s.slice(0, -1);
  const last = s.slice(-1).toLowerCase();
  const [digits, unit] = /\d/.test(last) ? [s, 'b'] : [s.slice(0, -1), last];
  const factor = UNITS[unit];
  if (factor === undefined || !/^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$/.test(digits)) return undefined;
  return Math.trunc(Number(digits) * factor);
}
