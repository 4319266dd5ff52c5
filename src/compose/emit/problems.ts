/**
 * Checks that only matter when a project is run: docker-compose's `config` accepts these and its
 * `up` refuses them, so `flotilla config` warns and commands that create containers fail:
 * - a service attached to a network the project does not define;
 * - `container_name` with more than one container (names must be unique);
 * - both `scale` and `deploy.replicas`;
 * - a duration that is not one (stop_grace_period, deploy delays and windows);
 * - a `scale` below 0 or above MAX_SCALE, a memory size that is not a size or is negative.
 */
import type { DeployProblem } from '../../model/deployment.js';
import type { ComposeProject, ComposeService } from '../document.js';
import { parseBytes } from '../../util/bytes.js';
import { parseDurationSeconds } from '../syntax/duration.js';
import { isPlainObject } from '../yaml/read.js';

/** Containers a service runs by default, read from the document as `config` has it (./deploy.ts types it). */
function containerCount(s: ComposeService): number {
  const deploy = isPlainObject(s.deploy) ? s.deploy : undefined;
  const replicated = !deploy || (deploy['mode'] ?? 'replicated') === 'replicated';
  if (typeof s.scale === 'number') return s.scale;
  if (replicated && typeof deploy?.['replicas'] === 'number') {
    const max = isPlainObject(deploy['placement']) ? deploy['placement']['max_replicas_per_node'] : undefined;
    return typeof max === 'number' ? Math.min(deploy['replicas'] as number, max) : (deploy['replicas'] as number);
  }
  return 1;
}

/**
 * More containers than this for one service is a typo (`scale: 1e12` read as a number), not a
 * plan: each one is a planned action, and a billion of them exhausted memory.
 */
const MAX_SCALE = 10_000;

/** Byte sizes of a service; -1 means "unlimited" only for memswap_limit, as in Docker. */
const SIZES = ['mem_limit', 'mem_reservation', 'memswap_limit', 'shm_size'] as const;

function scaleProblem(scale: unknown): string | undefined {
  if (typeof scale !== 'number') return undefined;
  if (!Number.isInteger(scale) || scale < 0) return `scale ${scale} is not a number of containers (0 or more)`;
  if (scale > MAX_SCALE) return `scale ${scale} is more than the ${MAX_SCALE} containers one service may run`;
  return undefined;
}

function sizeProblem(key: (typeof SIZES)[number], value: unknown): string | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const bytes = parseBytes(value);
  if (bytes === undefined || Number.isNaN(bytes)) return `${key} "${value}" is not a size (use e.g. "512m", "1g")`;
  if (bytes < 0 && !(key === 'memswap_limit' && bytes === -1)) return `${key} ${value} must not be negative`;
  return undefined;
}

const DEPLOY_DURATIONS: [string, string][] = [
  ['update_config', 'delay'],
  ['update_config', 'monitor'],
  ['rollback_config', 'delay'],
  ['rollback_config', 'monitor'],
  ['restart_policy', 'delay'],
  ['restart_policy', 'window'],
];

export function deployProblems(project: ComposeProject): DeployProblem[] {
  const problems: DeployProblem[] = [];
  const networks = new Set(Object.keys(project.networks));
  const usesNetworking = project.format !== 'v1';
  for (const s of project.services) {
    if (usesNetworking) {
      for (const net of Object.keys(s.networks ?? {})) {
        if (net !== 'default' && !networks.has(net)) {
          problems.push({ service: s.name, keyPath: ['networks', net], message: `service "${s.name}" uses network "${net}", which is not defined under the top-level "networks"` });
        }
      }
    }
    const deploy = isPlainObject(s.deploy) ? s.deploy : undefined;
    if (typeof s.scale === 'number' && deploy && deploy['replicas'] !== undefined && (deploy['mode'] ?? 'replicated') === 'replicated') {
      problems.push({ service: s.name, keyPath: ['scale'], message: 'both scale and deploy.replicas are set; set only one of them' });
    }
    if (s.container_name !== undefined && containerCount(s) > 1) {
      problems.push({
        service: s.name,
        keyPath: ['container_name'],
        message: `container_name "${s.container_name}" names one container, but the service runs ${containerCount(s)}; remove container_name to scale it`,
      });
    }
    const scale = scaleProblem(s.scale);
    if (scale) problems.push({ service: s.name, keyPath: ['scale'], message: scale });
    for (const key of SIZES) {
      const message = sizeProblem(key, (s as Record<string, unknown>)[key]);
      if (message) problems.push({ service: s.name, keyPath: [key], message });
    }
    if (s.stop_grace_period !== undefined && parseDurationSeconds(String(s.stop_grace_period)) === undefined) {
      problems.push({ service: s.name, keyPath: ['stop_grace_period'], message: `"${String(s.stop_grace_period)}" is not a valid duration (use e.g. "10s", "1m30s")` });
    }
    for (const [block, key] of DEPLOY_DURATIONS) {
      const section = deploy?.[block];
      const value = isPlainObject(section) ? section[key] : undefined;
      if (value !== undefined && value !== null && parseDurationSeconds(String(value)) === undefined) {
        problems.push({ service: s.name, keyPath: ['deploy', block, key], message: `"${String(value)}" is not a valid duration (use e.g. "10s", "1m30s")` });
      }
    }
  }
  return problems;
}
