/**
 * The swarm node's settings from the daemon's configuration file (<root>/daemon.json):
 * `labels` (Docker's list of "key=value", the engine labels constraints call engine.labels.*),
 * `node-labels` (an object: the node's labels when the swarm is first made) and `hostname`.
 */
import { EngineError } from '../contract/errors.js';
import type { SwarmNodeConfig } from '../swarm/core.js';
import { VERSION } from '../version.js';
import type { DaemonJson } from './daemon-json.js';

export function swarmNodeConfigFrom({ file, doc }: DaemonJson): SwarmNodeConfig {
  const labels = doc['labels'] ?? [];
  if (!Array.isArray(labels) || !labels.every((l) => typeof l === 'string' && l.includes('='))) throw new EngineError('invalid', `${file}: labels: a list of "key=value" strings is expected`);
  const nodeLabels = doc['node-labels'] ?? {};
  if (typeof nodeLabels !== 'object' || nodeLabels === null || Array.isArray(nodeLabels) || !Object.values(nodeLabels).every((v) => typeof v === 'string')) {
    throw new EngineError('invalid', `${file}: node-labels: an object of string values is expected`);
  }
  const host = doc['hostname'];
  if (host !== undefined && typeof host !== 'string') throw new EngineError('invalid', `${file}: hostname: a string is expected`);
  return {
    engineLabels: Object.fromEntries((labels as string[]).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])),
    nodeLabels: nodeLabels as Record<string, string>,
    ...(host ? { hostname: host } : {}),
    engineVersion: VERSION,
  };
}
