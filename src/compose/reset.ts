/**
 * `!reset` and `!override` (version-less files): what a file marks so drops what the files before
 * it defined at that key path, before the file is merged onto them, as compose-go's
 * ResetProcessor.Apply does (loader/reset.go). The file's own value is then all there is: none
 * for `!reset`, its own for `!override`. It applies to `-f` files, to an including file over what
 * it includes, and to a service over the service it extends. In a list of `KEY=VALUE` strings
 * (`environment`, `labels` written as lists) a key path ending in KEY drops that entry.
 */
import { setOwn } from '../util/own.js';
import type { KeyPath } from './yaml/read.js';
import { isPlainObject } from './yaml/read.js';

type Dict = Record<string, unknown>;

const REMOVED = Symbol('removed');

/** `entries` (one section: name → definition) without what `paths` mark under `section`. */
export function dropReset(entries: Record<string, Dict>, paths: readonly KeyPath[], section: string): Record<string, Dict> {
  let out = entries;
  for (const path of paths) {
    if (path[0] !== section) continue;
    if (path.length === 1) return {};
    const next = deleteAt(out, path.slice(1));
    if (next !== REMOVED) out = next as Record<string, Dict>;
  }
  return out;
}

/** `value` with what is at `path` removed; parts off the path are shared, not copied. */
function deleteAt(value: unknown, path: KeyPath): unknown {
  if (path.length === 0) return REMOVED;
  const [key, ...rest] = path;
  if (isPlainObject(value) && typeof key === 'string' && Object.hasOwn(value, key)) {
    const child = deleteAt(value[key], rest);
    const copy: Dict = { ...value };
    if (child === REMOVED) delete copy[key];
    else setOwn(copy, key, child);
    return copy;
  }
  if (Array.isArray(value) && typeof key === 'number' && key < value.length) {
    const child = deleteAt(value[key], rest);
    return child === REMOVED ? value.filter((_, i) => i !== key) : value.map((v, i) => (i === key ? child : v));
  }
  if (Array.isArray(value) && typeof key === 'string' && rest.length === 0) {
    return value.filter((v) => !(typeof v === 'string' && (v === key || v.startsWith(`${key}=`))));
  }
  return value;
}
