/**
 * Codecs between the TypeScript values of the Engine interface and the plain objects
 * the protobuf layer (./service.ts) reads and writes. The proto messages have the TypeScript types' own field
 * names and shapes (engine.proto says how), so most of a value crosses as it is; a codec names
 * only the fields that differ on the wire: a list or a map whose absence means something (wrapped
 * in a message), a bigint (a decimal string), a label query. Both directions are written once,
 * here, and used by the client and the server alike.
 *
 * Decoded objects have had their absent message fields (null from protobufjs) removed first
 * (withoutNulls, in ./service.ts), so a codec sees undefined for "absent".
 */

export interface Codec<T> {
  encode(value: T): unknown;
  decode(wire: unknown): T;
}

/** Crosses as it is. */
export function same<T>(): Codec<T> {
  return { encode: (value) => value, decode: (wire) => wire as T };
}

type Fixes<T> = { [K in keyof T]?: Codec<T[K]> };

/** A codec of some type (what a list of differently typed codecs holds). */
export interface SomeCodec {
  encode(value: never): unknown;
  decode(wire: unknown): unknown;
}

/** A message: every field crosses as it is, except those given a codec here. */
export function fields<T extends object>(fixes: Fixes<T>): Codec<T> {
  const entries = Object.entries(fixes) as [string, Codec<unknown>][];
  return {
    encode(value) {
      const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
      for (const [key, codec] of entries) out[key] = codec.encode(out[key]);
      return out;
    },
    decode(wire) {
      const out = { ...(wire as Record<string, unknown>) };
      for (const [key, codec] of entries) {
        const decoded = codec.decode(out[key]);
        if (decoded === undefined) delete out[key];
        else out[key] = decoded;
      }
      return out as T;
    },
  };
}

/** T in a one-field message ({ values: [...] } for a list). */
export function wrapped<T>(field: string, inner: Codec<T> = same<T>()): Codec<T> {
  return {
    encode: (value) => ({ [field]: inner.encode(value) }),
    decode: (wire) => inner.decode((wire as Record<string, unknown>)[field]),
  };
}

/** An absent message field is undefined. */
export function optional<T>(inner: Codec<T>): Codec<T | undefined> {
  return {
    encode: (value) => (value === undefined ? undefined : inner.encode(value)),
    decode: (wire) => (wire === undefined ? undefined : inner.decode(wire)),
  };
}

/** An absent message field is null. */
export function nullable<T>(inner: Codec<T>): Codec<T | null> {
  return {
    encode: (value) => (value === null ? undefined : inner.encode(value)),
    decode: (wire) => (wire === undefined ? null : inner.decode(wire)),
  };
}

export function list<T>(item: Codec<T>): Codec<T[]> {
  return {
    // A required list left undefined (a caller's slip TypeScript did not catch) crosses as empty.
    encode: (value) => value?.map((v) => item.encode(v)),
    decode: (wire) => (wire as unknown[]).map((w) => item.decode(w)),
  };
}

export function record<T>(item: Codec<T>): Codec<Record<string, T>> {
  return {
    // Likewise a required map left undefined.
    encode: (value) => (value === undefined ? undefined : Object.fromEntries(Object.entries(value).map(([k, v]) => [k, item.encode(v)]))),
    decode: (wire) => Object.fromEntries(Object.entries(wire as Record<string, unknown>).map(([k, w]) => [k, item.decode(w)])),
  };
}

/** Chosen values in TypeScript, something else on the wire (void as "", a pull's result). */
export function mapped<T, W>(encode: (value: T) => W, decode: (wire: W) => T): Codec<T> {
  return { encode, decode: (wire) => decode(wire as W) };
}

/** Never sent: stays on its side of the socket (an AbortSignal). */
export function omitted<T>(): Codec<T | undefined> {
  return { encode: () => undefined, decode: () => undefined };
}

/** A list in `Strings` (the message's presence tells undefined or null from an empty list). */
export const strings = wrapped<string[]>('values');
/** A map in `StringMap`. */
export const stringMap = wrapped<Record<string, string>>('entries');

export const bigintString: Codec<bigint> = mapped(
  (value: bigint) => value.toString(),
  (wire: string) => BigInt(wire),
);

/** Record<string, string | true> as `LabelQuery`: values to match, and keys that only have to exist. */
export const labelQuery: Codec<Record<string, string | true>> = mapped(
  (labels: Record<string, string | true>) => {
    const values: Record<string, string> = {};
    const present: string[] = [];
    for (const [key, value] of Object.entries(labels)) {
      if (value === true) present.push(key);
      else values[key] = value;
    }
    return { values, present };
  },
  (wire: { values: Record<string, string>; present: string[] }) => {
    const labels: Record<string, string | true> = { ...wire.values };
    for (const key of wire.present) labels[key] = true;
    return labels;
  },
);

/**
 * A method's arguments as a request message with one field per parameter (a codec where the
 * argument needs one). Trailing arguments left out are absent fields, and undefined again.
 */
export function args<A extends unknown[]>(...params: (string | [string, SomeCodec])[]): Codec<A> {
  const named = params.map((p) => (typeof p === 'string' ? [p, same<unknown>()] : p) as [string, Codec<unknown>]);
  return {
    encode(values) {
      const out: Record<string, unknown> = {};
      named.forEach(([name, codec], i) => {
        if (values[i] !== undefined) out[name] = codec.encode(values[i]);
      });
      return out;
    },
    decode(wire) {
      const w = wire as Record<string, unknown>;
      const values = named.map(([name, codec]) => (w[name] === undefined ? undefined : codec.decode(w[name])));
      while (values.length > 0 && values[values.length - 1] === undefined) values.pop();
      return values as A;
    },
  };
}

/** A method taking one object, which is the request message itself. */
export function single<T>(inner: Codec<T> = same<T>()): Codec<[T]> {
  return {
    encode: ([value]) => inner.encode(value),
    decode: (wire) => [inner.decode(wire)],
  };
}

/** A method without arguments, or a result without a value. */
export const none: Codec<[]> = { encode: () => ({}), decode: () => [] };
export const empty: Codec<void> = { encode: () => ({}), decode: () => undefined };

/** Removes the null protobufjs gives an absent message field, at every depth. */
export function withoutNulls(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = withoutNulls(value[i]);
    return value;
  }
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    const v = obj[key];
    if (v === null) delete obj[key];
    else if (typeof v === 'object') obj[key] = withoutNulls(v);
  }
  return obj;
}
