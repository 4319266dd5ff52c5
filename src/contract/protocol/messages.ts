/**
 * The codec of every Engine type that does not cross the wire as it is (see ./codec.ts): each
 * names only its fields that differ from engine.proto's plain mapping.
 */
import type { ContainerFileSpec, ContainerInfo, ContainerSpec, EndpointSpec, EngineEvent, EventFilter, ImageInfo, LinkSpec, LogOptions, NetworkInfo, NetworkSpec } from '../engine.js';
import { bigintString, fields, list, nullable, omitted, optional, record, stringMap, strings, wrapped, type Codec } from './codec.js';

const optionalStrings = optional(strings);
const nullableStrings = nullable(strings);

export const imageInfo = fields<ImageInfo>({
  config: fields<ImageInfo['config']>({ cmd: nullableStrings, entrypoint: nullableStrings }),
});

export const endpointSpec = fields<EndpointSpec>({ linkLocalIps: optionalStrings, links: optional(wrapped<LinkSpec[]>('values')) });

/** A list that is left out when empty (a repeated field cannot tell absent from empty). */
const absentWhenEmpty = <T>(): Codec<T[] | undefined> => ({
  encode: (value) => value ?? [],
  decode: (wire) => (Array.isArray(wire) && wire.length > 0 ? (wire as T[]) : undefined),
});

export const containerSpec = fields<ContainerSpec>({
  files: absentWhenEmpty<ContainerFileSpec>(),
  entrypoint: optionalStrings,
  command: optionalStrings,
  networks: record(endpointSpec),
  storageOpt: optional(stringMap),
});

export const containerInfo = fields<ContainerInfo>({
  config: fields<ContainerInfo['config']>({ cmd: nullableStrings, entrypoint: nullableStrings }),
});

type Ipam = NonNullable<NetworkSpec['ipam']>;
const ipam: Codec<NetworkSpec['ipam']> = optional(
  fields<Ipam>({
    config: list(fields<Ipam['config'][number]>({ auxAddresses: optional(stringMap) })),
    options: optional(stringMap),
  }),
);

export const networkSpec = fields<NetworkSpec>({ ipam });
export const networkInfo = fields<NetworkInfo>({ ipam });

export const eventFilter = fields<EventFilter>({
  labels: optionalStrings,
  types: optional(wrapped<EngineEvent['type'][]>('values')),
  signal: omitted(),
});

export const logOptions = fields<LogOptions>({ signal: omitted() });

export const engineEvent = fields<EngineEvent>({ timeNano: bigintString });

/** top's rows, each a `Strings`. */
export const topRows: Codec<string[][]> = list(strings);
