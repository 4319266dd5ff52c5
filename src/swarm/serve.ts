/** The core's API as the daemon's Swarm RPC calls it: a method by name, arguments and result as JSON. */
import { EngineError } from '../contract/errors.js';
import { fromWireJson, toWireJson } from '../contract/protocol/swarm-json.js';
import type { SwarmCore } from './core.js';

const METHODS = [
  'info',
  'storable',
  'listServices',
  'inspectService',
  'createService',
  'updateService',
  'rollbackService',
  'removeService',
  'listTasks',
  'listNodes',
  'inspectNode',
  'updateNode',
  'listNetworks',
  'inspectNetwork',
  'createNetwork',
  'removeNetwork',
  'listSecrets',
  'createSecret',
  'updateSecret',
  'removeSecret',
  'listConfigs',
  'createConfig',
  'updateConfig',
  'removeConfig',
] as const;

export function callSwarm(core: SwarmCore, method: string, args: string): string {
  if (!(METHODS as readonly string[]).includes(method)) throw new EngineError('invalid', `the embedded swarm has no method ${method}`);
  const decoded = args ? fromWireJson(args) : [];
  if (!Array.isArray(decoded)) throw new EngineError('invalid', `swarm ${method}: the arguments must be a JSON array`);
  // Called by name from the table above, each a method of SwarmCore taking these JSON arguments.
  const fn = (core as unknown as Record<string, (...a: unknown[]) => unknown>)[method] as (...a: unknown[]) => unknown;
  const result = fn.apply(core, decoded);
  return result === undefined ? '' : toWireJson(result);
}
