/**
 * The Engine service of proto/flotilla/engine/v2/engine.proto as typed method definitions both the
 * client and the server use, each with its protobuf codecs. The build turns the .proto into
 * protobufjs's JSON form (dist/proto/engine.json, scripts/build.mjs), so a process loads it
 * without parsing; messages map to objects the way @grpc/proto-loader maps them: camelCase fields,
 * int64 as numbers, absent scalars as their zero value, empty lists and maps present, oneof
 * members only when set. This is the one place that looks inside protobufjs's objects.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServiceDefinition } from '@grpc/grpc-js';
import protobuf from 'protobufjs/light.js';
import { packageRoot } from '../../util/package-root.js';
import { withoutNulls } from './codec.js';

export const SERVICE_NAME = 'flotilla.engine.v2.Engine';

/** Messages up to 64 MiB either way (grpc-js refuses to receive more than 4 MiB by default). */
export const MAX_MESSAGE = 64 << 20;

export interface RpcMethod {
  /** "/flotilla.engine.v2.Engine/StopContainer". */
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

const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, enums: String, defaults: true, arrays: true, objects: true, oneofs: false };

function protoFile(): string {
  return join(packageRoot(), 'proto', 'flotilla', 'engine', 'v1', 'engine.proto');
}

/** protoFile() in protobufjs's JSON form, written by the build. */
function protoDescriptorFile(): string {
  return join(packageRoot(), 'dist', 'proto', 'engine.json');
}

function serializer(type: protobuf.Type): (message: unknown) => Buffer {
  return (message) => Buffer.from(type.encode(type.fromObject(message as Record<string, unknown>)).finish());
}

function deserializer(type: protobuf.Type): (bytes: Buffer) => unknown {
  return (bytes) => withoutNulls(type.toObject(type.decode(bytes), TO_OBJECT));
}

let loaded: EngineService | undefined;

export function engineService(): EngineService {
  if (loaded) return loaded;
  let root: protobuf.Root;
  try {
    root = protobuf.Root.fromJSON(JSON.parse(readFileSync(protoDescriptorFile(), 'utf8')) as protobuf.INamespace);
  } catch (e) {
    throw new Error(`cannot load the Engine service from ${protoDescriptorFile()}: ${(e as Error).message} (the build makes it from ${protoFile()}: run npm run build)`);
  }
  const service = root.lookupService(SERVICE_NAME);
  const methods = new Map<string, RpcMethod>();
  for (const m of service.methodsArray) {
    m.resolve();
    const request = m.resolvedRequestType;
    const response = m.resolvedResponseType;
    if (!request || !response) throw new Error(`${protoFile()}: ${SERVICE_NAME}.${m.name}: unresolved message type`);
    methods.set(m.name, {
      path: `/${SERVICE_NAME}/${m.name}`,
      requestStream: m.requestStream === true,
      responseStream: m.responseStream === true,
      serializeRequest: serializer(request),
      deserializeRequest: deserializer(request),
      serializeResponse: serializer(response),
      deserializeResponse: deserializer(response),
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
