/**
 * The Engine service of proto/flotilla/engine/v1/engine.proto, loaded once per process with
 * @grpc/proto-loader (from the installed package: packageRoot()/proto), as typed method
 * definitions both the client and the server use. proto-loader's objects are loosely typed; this
 * is the one place that looks inside them.
 */
import { join } from 'node:path';
import type { ServiceDefinition } from '@grpc/grpc-js';
import { loadSync, type MethodDefinition as LoaderMethod } from '@grpc/proto-loader';
import { packageRoot } from '../../../util/package-root.js';
import { withoutNulls } from './codec.js';

export const SERVICE_NAME = 'flotilla.engine.v1.Engine';

/** Messages up to 64 MiB either way (grpc-js refuses to receive more than 4 MiB by default). */
export const MAX_MESSAGE = 64 << 20;

export interface RpcMethod {
  /** "/flotilla.engine.v1.Engine/StopContainer". */
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  serializeRequest(message: unknown): Buffer;
  deserializeRequest(bytes: Buffer): unknown;
  serializeResponse(message: unknown): Buffer;
  deserializeResponse(bytes: Buffer): unknown;
}

export interface EngineService {
  /** By RPC name ("StopContainer"). */
  methods: ReadonlyMap<string, RpcMethod>;
  /** For grpc-js's Server.addService. */
  definition: ServiceDefinition;
}

/**
 * How proto-loader maps messages to objects: camelCase fields, int64 as numbers, absent scalars
 * as their zero value, empty lists and maps present, oneof members only when set.
 */
const LOAD_OPTIONS = { keepCase: false, longs: Number, enums: String, defaults: true, arrays: true, objects: true, oneofs: false } as const;

export function protoFile(): string {
  return join(packageRoot(), 'proto', 'flotilla', 'engine', 'v1', 'engine.proto');
}

let loaded: EngineService | undefined;

export function engineService(): EngineService {
  if (loaded) return loaded;
  const definitions = loadSync(protoFile(), LOAD_OPTIONS);
  // A ServiceDefinition is the only definition whose entries are methods (they have a path).
  const service = definitions[SERVICE_NAME] as Record<string, LoaderMethod<unknown, unknown> | undefined> | undefined;
  if (service === undefined) throw new Error(`${protoFile()} has no service ${SERVICE_NAME}`);
  const methods = new Map<string, RpcMethod>();
  for (const [name, m] of Object.entries(service)) {
    if (m === undefined || typeof m.path !== 'string') continue;
    methods.set(name, {
      path: m.path,
      requestStream: m.requestStream,
      responseStream: m.responseStream,
      serializeRequest: m.requestSerialize,
      deserializeRequest: (bytes) => withoutNulls(m.requestDeserialize(bytes)),
      serializeResponse: m.responseSerialize,
      deserializeResponse: (bytes) => withoutNulls(m.responseDeserialize(bytes)),
    });
  }
  const definition: ServiceDefinition = Object.fromEntries(
    [...methods].map(([name, m]) => [
      name,
      {
        path: m.path,
        requestStream: m.requestStream,
        responseStream: m.responseStream,
        requestSerialize: m.serializeRequest,
        requestDeserialize: m.deserializeRequest,
        responseSerialize: m.serializeResponse,
        responseDeserialize: m.deserializeResponse,
      },
    ]),
  );
  loaded = { methods, definition };
  return loaded;
}

export function rpcMethod(name: string): RpcMethod {
  const m = engineService().methods.get(name);
  if (m === undefined) throw new Error(`the Engine service (${protoFile()}) has no method ${name}`);
  return m;
}
