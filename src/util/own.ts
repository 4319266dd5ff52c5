/**
 * User-keyed objects (a Compose file's services, networks, environment...): a key may be any
 * string, `__proto__` included. `obj[key] = v` with that key sets the object's prototype instead
 * of adding an entry; these write and read own entries only.
 */

/** Sets `key` as an own, enumerable entry, whatever the key. */
export function setOwn<T, V extends T>(target: Record<string, T>, key: string, value: V): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/** The own entry `key` (never an inherited one such as `constructor` or `toString`). */
export function getOwn<T>(source: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(source, key) ? source[key] : undefined;
}
