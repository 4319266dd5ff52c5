/**
 * Service volumes. Short syntax `[source:]target[:mode]`: a source starting with "." or "~" is a
 * path relative to the project (or home) directory, one starting with "/" an absolute host path,
 * anything else a named volume; no source is an anonymous volume. Long syntax is a mapping with
 * `type`, `source`, `target`, ... Both become ComposeVolumeEntry, as docker-compose 1.29.2 reads them.
 */
import type { ComposeVolumeEntry } from '../document.js';
import { expandPath, expandUser, pyNormpath } from './paths.js';

export class VolumeSyntaxError extends Error {}

/**
 * Splits "host:container[:mode]" at the first colon, and the mode off the end:
 * returns [container, host, mode]; host is undefined when there is no colon.
 */
export function splitPathMapping(spec: string): [string, string | undefined, string | undefined] {
  const colon = spec.indexOf(':');
  if (colon === -1) return [spec, undefined, undefined];
  const host = spec.slice(0, colon);
  let container = spec.slice(colon + 1);
  let mode: string | undefined;
  const last = container.lastIndexOf(':');
  if (last !== -1) {
    mode = container.slice(last + 1);
    container = container.slice(0, last);
  }
  return [container, host, mode];
}

/** Makes a short-syntax relative host path ("./data", "~/x") absolute; named volumes are untouched. */
export function resolveShortVolume(spec: string, dir: string, home: string): string {
  const [container, host, mode] = splitPathMapping(spec);
  if (host === undefined) return container;
  let h = host;
  if (h.startsWith('.')) h = expandPath(dir, h, home);
  h = expandUser(h, home);
  return `${h}:${container}${mode ? `:${mode}` : ''}`;
}

export function isNamedVolumeSource(source: string): boolean {
  return !source.startsWith('.') && !source.startsWith('/') && !source.startsWith('~');
}

/** Parses a (resolved) short-syntax entry. */
export function parseShortVolume(spec: string): ComposeVolumeEntry {
  const parts = spec.split(':');
  if (parts.length > 3) {
    throw new VolumeSyntaxError(`"${spec}" is not a valid volume (expected [source:]target[:mode])`);
  }
  if (parts.length === 1) return { type: 'volume', target: pyNormpath(spec), shortMode: 'rw' };
  const source = pyNormpath(parts[0] as string);
  const target = pyNormpath(parts[1] as string);
  const mode = parts[2] ?? 'rw';
  const out: ComposeVolumeEntry = { type: isNamedVolumeSource(source) ? 'volume' : 'bind', source, target, shortMode: mode };
  if (mode.split(',').includes('ro')) out.read_only = true;
  return out;
}

const OPTION_KEYS: Record<string, 'bind' | 'volume' | 'tmpfs'> = { bind: 'bind', volume: 'volume', tmpfs: 'tmpfs' };

/** Parses a long-syntax entry (type-checked by the schema); relative bind sources resolve against `dir`. */
export function parseLongVolume(entry: Record<string, unknown>, dir: string, home: string): ComposeVolumeEntry {
  const type = String(entry['type']);
  let source = typeof entry['source'] === 'string' ? entry['source'] : undefined;
  if (source !== undefined && source !== '') {
    if (type === 'tmpfs') throw new VolumeSyntaxError('tmpfs mounts can not specify a source');
    if (type === 'bind' && (source.startsWith('.') || source.startsWith('~'))) source = expandPath(dir, source, home);
    source = pyNormpath(source);
  }
  const out: ComposeVolumeEntry = { type, target: typeof entry['target'] === 'string' ? entry['target'] : '' };
  if (source) out.source = source;
  if (entry['read_only'] === true) out.read_only = true;
  if (typeof entry['consistency'] === 'string' && entry['consistency'] !== '') out.consistency = entry['consistency'];
  // Only the options block matching the mount's type is kept (a bind's `volume:` block is meaningless).
  const optionKey = OPTION_KEYS[type];
  const options = optionKey ? entry[optionKey] : undefined;
  if (optionKey && options && typeof options === 'object' && Object.keys(options).length > 0) {
    (out as unknown as Record<string, unknown>)[optionKey] = { ...(options as Record<string, unknown>) };
  }
  return out;
}

/** The short-syntax string docker-compose prints for a short-syntax volume. */
export function shortVolumeString(v: ComposeVolumeEntry): string {
  return v.source !== undefined ? `${v.source}:${v.target}:${v.shortMode ?? 'rw'}` : v.target;
}
