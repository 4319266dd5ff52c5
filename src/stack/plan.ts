/**
 * What a deploy does, decided before anything is done: compare the compiled stack with what the
 * swarm has (./observe.ts) and list the actions, each with its reason. Pure: the same inputs give
 * the same plan, and `--dry-run` prints it.
 *
 * As `docker stack deploy`: networks are created when missing and never changed; secrets and
 * configs are created, or updated in place (only their labels can change); services are created,
 * or updated with the version they were read at; with --prune, services of the stack that the file
 * no longer has are removed. Unlike it: a service whose spec is unchanged is left alone (no new
 * version), a config whose content changed is refused before anything is done, and --keep-scale
 * keeps the replicas a service has now.
 */
import type { ConfigSpec, NetworkSpec, SecretSpec, Service, ServiceSpec } from '../contract/swarm.js';
import { FlotillaError } from '../errors.js';
import { specDifferences } from './canonical.js';
import { IMAGE_LABEL } from './names.js';
import type { Observed } from './observe.js';
import type { StackSpec } from './spec.js';

export type ResolveImage = 'always' | 'changed' | 'never';

export interface PlanOptions {
  prune: boolean;
  keepScale: boolean;
  resolveImage: ResolveImage;
}

export type Action =
  | { kind: 'create-network'; name: string; spec: NetworkSpec }
  | { kind: 'create-secret'; name: string; spec: SecretSpec }
  | { kind: 'update-secret'; name: string; id: string; version: number; spec: SecretSpec; reasons: string[] }
  | { kind: 'create-config'; name: string; spec: ConfigSpec }
  | { kind: 'update-config'; name: string; id: string; version: number; spec: ConfigSpec; reasons: string[] }
  | { kind: 'create-service'; name: string; service: string; spec: ServiceSpec; resolveImage: boolean }
  | {
      kind: 'update-service';
      name: string;
      service: string;
      id: string;
      version: number;
      /** What is sent: the compiled spec adjusted to the service as it was read (specForUpdate). */
      spec: ServiceSpec;
      /** The compiled spec, to adjust again if the service changes before the update lands. */
      desired: ServiceSpec;
      resolveImage: boolean;
      reasons: string[];
    }
  | { kind: 'keep-service'; name: string; service: string; id: string }
  | { kind: 'remove-service'; name: string; id: string };

export interface Plan {
  stack: string;
  actions: Action[];
  /** Every network the stack has (to create again one the swarm was still removing). */
  networks: NetworkSpec[];
  /** Said once, before anything is done (a network that differs from the file, ...). */
  notes: string[];
}

function labelDifferences(desired: Record<string, string>, observed: Record<string, string>): string[] {
  const keys = [...new Set([...Object.keys(desired), ...Object.keys(observed)])].sort();
  return keys.filter((k) => desired[k] !== observed[k]).map((k) => `labels.${k}: ${observed[k] ?? '(none)'} -> ${desired[k] ?? '(none)'}`);
}

/** The spec to send for an existing service: what the swarm keeps that a deploy must not reset. */
export function specForUpdate(desired: ServiceSpec, existing: Service, options: PlanOptions): { spec: ServiceSpec; resolveImage: boolean; kept: string[] } {
  const spec = structuredClone(desired);
  const kept: string[] = [];
  const current = existing.spec;
  let resolveImage = options.resolveImage === 'always';
  // The image as the file names it is the same as last time: keep the one the swarm pinned then.
  if (spec.labels[IMAGE_LABEL] !== undefined && spec.labels[IMAGE_LABEL] === current.labels[IMAGE_LABEL]) {
    if (options.resolveImage !== 'always') spec.task.container.image = current.task.container.image;
  } else if (options.resolveImage === 'changed') {
    resolveImage = true;
  }
  // A deploy has no --force: keep the counter, so tasks are not replaced for nothing.
  if (current.task.forceUpdate !== undefined) spec.task.forceUpdate = current.task.forceUpdate;
  if (options.keepScale && spec.mode.kind === 'replicated' && current.mode.kind === 'replicated') {
    const now = current.mode.replicas ?? 1;
    if ((spec.mode.replicas ?? 1) !== now) kept.push(`replicas kept at ${now} (--keep-scale; the file says ${spec.mode.replicas ?? 1})`);
    spec.mode = { kind: 'replicated', replicas: now };
  }
  return { spec, resolveImage, kept };
}

export function planDeploy(stack: StackSpec, observed: Observed, options: PlanOptions): Plan {
  const actions: Action[] = [];
  const notes: string[] = [];
  const problems: string[] = [];

  for (const name of stack.externalNetworks) {
    const n = observed.externalNetworks.get(name);
    if (!n) problems.push(`network "${name}" is declared as external, but could not be found: create a swarm-scoped network before the stack is deployed`);
    else if (n.scope !== 'swarm' && !['host', 'bridge', 'none'].includes(name)) problems.push(`network "${name}" is declared as external, but its scope is "${n.scope}", not "swarm"`);
  }
  const existingSecrets = new Map(observed.secrets.map((s) => [s.name, s]));
  const existingConfigs = new Map(observed.configs.map((s) => [s.name, s]));
  for (const name of stack.externalSecrets) if (!existingSecrets.has(name)) problems.push(`secret "${name}" is declared as external, but could not be found`);
  for (const name of stack.externalConfigs) if (!existingConfigs.has(name)) problems.push(`config "${name}" is declared as external, but could not be found`);

  for (const spec of stack.secrets) {
    const found = existingSecrets.get(spec.name);
    if (!found) actions.push({ kind: 'create-secret', name: spec.name, spec });
    else {
      // The swarm does not return a secret's data: the update is sent, and refused if the data changed.
      actions.push({ kind: 'update-secret', name: spec.name, id: found.id, version: found.version, spec, reasons: labelDifferences(spec.labels, found.labels) });
    }
  }
  for (const spec of stack.configs) {
    const found = existingConfigs.get(spec.name);
    if (!found) {
      actions.push({ kind: 'create-config', name: spec.name, spec });
      continue;
    }
    if (found.data && !found.data.equals(spec.data)) {
      problems.push(`config "${spec.name}" has changed, and a swarm config cannot change: give it a new name (e.g. name: ${spec.name}_v2) and deploy again`);
      continue;
    }
    const reasons = labelDifferences(spec.labels, found.labels);
    if (reasons.length > 0) actions.push({ kind: 'update-config', name: spec.name, id: found.id, version: found.version, spec, reasons });
  }
  if (problems.length > 0) throw new FlotillaError(problems.join('; '));

  for (const spec of stack.networks) {
    const found = observed.networks.get(spec.name);
    if (!found) {
      actions.push({ kind: 'create-network', name: spec.name, spec });
      continue;
    }
    const differs: string[] = [];
    if ((spec.driver ?? 'overlay') !== found.driver) differs.push(`driver ${found.driver} -> ${spec.driver ?? 'overlay'}`);
    if (Boolean(spec.internal) !== found.internal) differs.push(`internal ${found.internal} -> ${Boolean(spec.internal)}`);
    if (Boolean(spec.attachable) !== found.attachable) differs.push(`attachable ${found.attachable} -> ${Boolean(spec.attachable)}`);
    for (const [k, v] of Object.entries(spec.options ?? {})) if (found.options[k] !== v) differs.push(`option ${k} ${found.options[k] ?? '(none)'} -> ${v}`);
    if (differs.length > 0) notes.push(`network ${spec.name} differs from the file (${differs.join(', ')}); networks are not changed in place: remove the stack to recreate it`);
  }

  const wanted = new Set(stack.services.map((s) => s.spec.name));
  if (options.prune) {
    for (const s of observed.services) if (!wanted.has(s.spec.name)) actions.push({ kind: 'remove-service', name: s.spec.name, id: s.id });
  }
  const existingServices = new Map(observed.services.map((s) => [s.spec.name, s]));
  for (const svc of stack.services) {
    const found = existingServices.get(svc.spec.name);
    if (!found) {
      actions.push({ kind: 'create-service', name: svc.spec.name, service: svc.name, spec: svc.spec, resolveImage: options.resolveImage !== 'never' });
      continue;
    }
    const { spec, resolveImage, kept } = specForUpdate(svc.spec, found, options);
    notes.push(...kept.map((k) => `${svc.spec.name}: ${k}`));
    const reasons = specDifferences(spec, found.spec);
    if (reasons.length === 0 && !resolveImage) actions.push({ kind: 'keep-service', name: svc.spec.name, service: svc.name, id: found.id });
    else {
      actions.push({
        kind: 'update-service',
        name: svc.spec.name,
        service: svc.name,
        id: found.id,
        version: found.version,
        spec,
        desired: svc.spec,
        resolveImage,
        reasons: reasons.length > 0 ? reasons : ['image resolved again (--resolve-image always)'],
      });
    }
  }
  return { stack: stack.name, actions, networks: stack.networks, notes };
}

/** One line per action, as `--dry-run` prints them. */
export function describeAction(a: Action): string {
  switch (a.kind) {
    case 'create-network':
      return `create network ${a.name}`;
    case 'create-secret':
      return `create secret ${a.name}`;
    case 'update-secret':
      return `update secret ${a.name}: ${a.reasons.length > 0 ? a.reasons.join('; ') : 'labels unchanged (the swarm refuses it if the data changed)'}`;
    case 'create-config':
      return `create config ${a.name}`;
    case 'update-config':
      return `update config ${a.name}: ${a.reasons.join('; ')}`;
    case 'create-service':
      return `create service ${a.name}`;
    case 'update-service':
      return `update service ${a.name}: ${a.reasons.join('; ')}`;
    case 'keep-service':
      return `leave service ${a.name}: up to date`;
    case 'remove-service':
      return `remove service ${a.name}: not in the stack any more (--prune)`;
  }
}
