/**
 * Reading the loosely typed values a Compose-shaped document keeps (what the schema allowed and
 * interpolation left) as the typed model's: string maps, byte sizes, durations, whole numbers.
 * Nothing here throws: a value that cannot be read is undefined, and the caller reports it.
 */
import { setOwn } from '../../util/own.js';
import { parseBytes } from '../../util/bytes.js';
import { parseDurationNanos } from '../syntax/duration.js';
import { isPlainObject } from '../yaml/read.js';

/** A mapping (or a list of "k=v"/"k") of scalars as strings; null becomes "". */
export function stringMap(v: unknown): Record<string, string> {
  if (Array.isArray(v)) {
    const out: Record<string, string> = {};
    for (const entry of v) {
      const text = String(entry);
      const eq = text.indexOf('=');
      if (eq === -1) setOwn(out, text, '');
      else setOwn(out, text.slice(0, eq), text.slice(eq + 1));
    }
    return out;
  }
  if (!isPlainObject(v)) return {};
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, x === null || x === undefined ? '' : String(x)]));
}

export function stringList(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

/** Bytes of "512m", "1g", 1048576; undefined for absent, "" or unreadable. */
export function bytes(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string' || v === '') return undefined;
  return parseBytes(v);
}

/** Nanoseconds of "1m30s"; undefined for absent or unreadable. */
export function nanos(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  return typeof v === 'string' ? parseDurationNanos(v) : undefined;
}

/** A number written as one or as digits ("512"); undefined otherwise. */
export function numeric(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string' || v.trim() === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** CPUs ("1.5", 0.5) as nano-CPUs, as Docker clients compute them. */
export function nanoCpus(v: unknown): number | undefined {
  const n = numeric(v);
  return n === undefined ? undefined : Math.trunc(n * 1e9);
}

export function optionalString(v: unknown): string | undefined {
  return v === undefined || v === null ? undefined : String(v);
}

/** One of `choices`, or undefined (absent) or `invalid` (anything else). */
export function choice<T extends string>(v: unknown, choices: readonly T[]): T | undefined | typeof INVALID {
  if (v === undefined || v === null) return undefined;
  return (choices as readonly unknown[]).includes(v) ? (v as T) : INVALID;
}

export const INVALID = Symbol('invalid');
