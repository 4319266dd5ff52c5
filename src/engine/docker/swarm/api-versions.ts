/**
 * Service fields newer than the engine's API. A daemon drops what its API version does not know,
 * silently: the spec it stores then lacks the field, and every later comparison would see a
 * change. So they are left out before anything is compared or sent, and named.
 */
import type { ServiceSpec } from '../../../contract/swarm.js';
import { compareVersions } from '../client.js';

interface VersionedField {
  /** How the user wrote it, for the message. */
  key: string;
  api: string;
  present(spec: ServiceSpec): boolean;
  drop(spec: ServiceSpec): void;
}

const FIELDS: VersionedField[] = [
  {
    key: 'healthcheck.start_interval',
    api: '1.44',
    present: (s) => s.task.container.healthcheck?.startInterval !== undefined,
    drop: (s) => {
      if (s.task.container.healthcheck) delete s.task.container.healthcheck.startInterval;
    },
  },
  { key: 'oom_score_adj', api: '1.46', present: (s) => s.task.container.oomScoreAdj !== undefined, drop: (s) => delete s.task.container.oomScoreAdj },
  { key: 'cap_add', api: '1.41', present: (s) => s.task.container.capabilityAdd !== undefined, drop: (s) => delete s.task.container.capabilityAdd },
  { key: 'cap_drop', api: '1.41', present: (s) => s.task.container.capabilityDrop !== undefined, drop: (s) => delete s.task.container.capabilityDrop },
  { key: 'ulimits', api: '1.41', present: (s) => s.task.container.ulimits !== undefined, drop: (s) => delete s.task.container.ulimits },
  {
    key: 'deploy.resources.limits.pids',
    api: '1.41',
    present: (s) => s.task.resources?.limits?.pids !== undefined,
    drop: (s) => {
      if (s.task.resources?.limits) delete s.task.resources.limits.pids;
    },
  },
  { key: 'sysctls', api: '1.40', present: (s) => s.task.container.sysctls !== undefined, drop: (s) => delete s.task.container.sysctls },
  {
    key: 'deploy.placement.max_replicas_per_node',
    api: '1.40',
    present: (s) => s.task.placement?.maxReplicas !== undefined,
    drop: (s) => {
      if (s.task.placement) delete s.task.placement.maxReplicas;
    },
  },
];

export function storableSpec(spec: ServiceSpec, apiVersion: string): { spec: ServiceSpec; dropped: string[] } {
  const out = structuredClone(spec);
  const dropped: string[] = [];
  for (const f of FIELDS) {
    if (compareVersions(apiVersion, f.api) >= 0 || !f.present(out)) continue;
    f.drop(out);
    dropped.push(`${f.key} needs Docker API ${f.api} (the engine speaks ${apiVersion}): left out`);
  }
  return { spec: out, dropped };
}
