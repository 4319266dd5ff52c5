/**
 * Service specs in one canonical form, so that a spec compiled from a file and the same spec as
 * the swarm returns it compare equal: what the swarm fills in when nothing is said (1 replica,
 * vip, tcp, ingress, pause, stop-first, restart on any) is written out, what it stores as zero or
 * empty when nothing is said is left out. Then `specDifferences` says which fields differ.
 */
import { setOwn } from '../util/own.js';
import type { ServiceSpec } from '../contract/swarm.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Drops undefined, false, 0 (where 0 means "not said"), "" and empty lists and mappings. */
function prune(value: unknown, keepZero: (path: string) => boolean, path = ''): Json | undefined {
  if (value === undefined || value === null || value === false || value === '') return undefined;
  if (typeof value === 'number') return value === 0 && !keepZero(path) ? undefined : value;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (Array.isArray(value)) {
    const items = value.map((v) => prune(v, keepZero, `${path}[]`) ?? null);
    return items.length === 0 ? undefined : items;
  }
  if (typeof value === 'object') {
    // Keys sorted: two canonical forms compare equal as text exactly when they are equal.
    const out: { [key: string]: Json } = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const p = prune(v, keepZero, path === '' ? k : `${path}.${k}`);
      if (p !== undefined) setOwn(out, k, p);
    }
    return Object.keys(out).length === 0 ? undefined : out;
  }
  return undefined;
}

/** Zeros that mean something: no grace period, no restart delay, all-at-once updates. */
const MEANINGFUL_ZERO = new Set(['task.restart.delay', 'task.container.stopGracePeriod', 'update.parallelism', 'rollback.parallelism', 'mode.replicas']);

export function canonicalSpec(spec: ServiceSpec): Json {
  const s: ServiceSpec = structuredClone(spec);
  if (s.mode.kind === 'replicated' && s.mode.replicas === undefined) s.mode.replicas = 1;
  s.endpoint = { mode: s.endpoint?.mode ?? 'vip', ports: (s.endpoint?.ports ?? []).map((p) => ({ ...p, protocol: p.protocol || 'tcp', mode: p.mode || 'ingress' })) };
  for (const key of ['update', 'rollback'] as const) {
    const u = s[key];
    if (u) s[key] = { ...u, failureAction: u.failureAction || 'pause', order: u.order || 'stop-first' };
  }
  if (s.task.restart) s.task.restart = { ...s.task.restart, condition: s.task.restart.condition ?? 'any' };
  if (s.task.container.isolation === 'default') delete s.task.container.isolation;
  // Docker's CLI orders references to one secret (or config) at random (a map): order is no change.
  for (const key of ['secrets', 'configs'] as const) {
    const refs = s.task.container[key];
    if (refs) refs.sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : a.target < b.target ? -1 : a.target > b.target ? 1 : 0));
  }
  return prune(s, (path) => MEANINGFUL_ZERO.has(path)) ?? {};
}

function render(v: Json | undefined): string {
  if (v === undefined) return '(none)';
  const text = JSON.stringify(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * Which fields differ, at the deepest path where they do: `task.container.env: ["A=1"] -> ["A=2"]`,
 * `task.container.mounts[2].readOnly: (none) -> true`. Lists of different lengths differ whole.
 */
export function specDifferences(desired: ServiceSpec, observed: ServiceSpec): string[] {
  const out: string[] = [];
  const walk = (a: Json | undefined, b: Json | undefined, path: string) => {
    if (JSON.stringify(a) === JSON.stringify(b)) return;
    const strings = (v: Json | undefined): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
    if (strings(a) && strings(b) && new Set(a).size === a.length && new Set(b).size === b.length) {
      const removed = b.filter((x) => !a.includes(x)).map((x) => `-${x}`);
      const added = a.filter((x) => !b.includes(x)).map((x) => `+${x}`);
      out.push(`${path}: ${removed.length + added.length > 0 ? [...removed, ...added].join(' ') : 'order changed'}`);
      return;
    }
    if (Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.some((x) => typeof x === 'object' && x !== null)) {
      a.forEach((x, i) => walk(x, b[i], `${path}[${i}]`));
      return;
    }
    const objA = a !== undefined && a !== null && typeof a === 'object' && !Array.isArray(a);
    const objB = b !== undefined && b !== null && typeof b === 'object' && !Array.isArray(b);
    if (objA && objB) {
      const ka = a as { [k: string]: Json };
      const kb = b as { [k: string]: Json };
      for (const k of [...new Set([...Object.keys(kb), ...Object.keys(ka)])].sort()) walk(ka[k], kb[k], path === '' ? k : `${path}.${k}`);
      return;
    }
    out.push(`${path}: ${render(b)} -> ${render(a)}`);
  };
  walk(canonicalSpec(desired), canonicalSpec(observed), '');
  return out;
}
