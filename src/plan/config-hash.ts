/**
 * docker-compose 1.29.2's config hash of a service (its `com.docker.compose.config-hash` label):
 * the compiler's hash input (src/model/hash-input.ts) with the engine's facts put in, written as
 * Python's sorted compact JSON and hashed with SHA-256. Computing the very same hash is what makes
 * each tool see the other's containers as up to date.
 */
import { UsageError } from '../errors.js';
import type { ConfigHashInput } from '../model/hash-input.js';
import { jsonHash, pythonJsonDumps, type PyJson } from '../util/python-json.js';

export interface EngineFacts {
  /** The Id of the service's image on the engine, or null when it does not have it. */
  imageId: string | null;
  /** The Id of a service's first container, for `ipc: service:NAME` (null when none runs). */
  containerIdOf(service: string): string | null;
}

export interface ConfigHash {
  hash: string;
  /** The hashed JSON text (what the dev.flotilla.config label stores, to explain a later recreate). */
  label: string;
}

function configDict(input: ConfigHashInput, facts: EngineFacts): { [key: string]: PyJson } {
  if ('error' in input) throw new UsageError(input.error);
  const dict: { [key: string]: PyJson } = { ...input.fields, image_id: facts.imageId };
  if (input.ipcService !== undefined) dict['ipc_mode'] = facts.containerIdOf(input.ipcService);
  return dict;
}

export function configHash(input: ConfigHashInput, facts: EngineFacts): ConfigHash {
  const dict = configDict(input, facts);
  return { hash: jsonHash(dict), label: pythonJsonDumps(dict) };
}
