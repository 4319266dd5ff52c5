/**
 * What to do with one service's containers (pure), with docker-compose 1.29.2's convergence rules:
 * - no containers: create `scale` of them;
 * - --no-recreate: start the stopped ones;
 * - --force-recreate, or any container's config hash differs from the desired one: recreate all
 *   (keeping their numbers); a service whose dependency is being (re)created is recreated only
 *   with --always-recreate-deps or when it has stopped containers;
 * - otherwise start the stopped ones and keep the rest;
 * and then scale: remove the highest numbers, or create new ones numbered after the highest.
 * Every action says why.
 */
import type { ObservedContainer } from './observed.js';
import { explainChange } from './explain.js';

export type Strategy = 'changed' | 'always' | 'never';

export type ContainerAction =
  | { kind: 'create'; service: string; number: number; reason: string }
  | { kind: 'recreate'; service: string; container: ObservedContainer; reason: string }
  | { kind: 'start'; service: string; container: ObservedContainer; reason: string }
  | { kind: 'keep'; service: string; container: ObservedContainer; reason: string }
  | { kind: 'remove'; service: string; container: ObservedContainer; reason: string };

export interface DesiredService {
  name: string;
  scale: number;
  configHash: string;
  /** JSON of the hashed definition (what dev.flotilla.config stores). */
  configLabel: string;
}

export interface ConvergeOptions {
  strategy: Strategy;
  /** Dependencies of this service that are being created or recreated in the same run. */
  upstreamChanged: string[];
  alwaysRecreateDeps: boolean;
}

export function convergeService(desired: DesiredService, containers: readonly ObservedContainer[], options: ConvergeOptions): ContainerAction[] {
  const service = desired.name;
  const actions: ContainerAction[] = [];
  // Two containers with one number (an interrupted recreate leaves the renamed old one): the
  // newest stays, as docker-compose's duplicate removal keeps it.
  const byNumber = new Map<number, ObservedContainer>();
  for (const c of [...containers].sort((a, b) => b.created - a.created)) {
    if (byNumber.has(c.number)) {
      actions.push({ kind: 'remove', service, container: c, reason: `duplicate of container number ${c.number}` });
    } else {
      byNumber.set(c.number, c);
    }
  }
  const sorted = [...byNumber.values()].sort((a, b) => a.number - b.number);
  const nextNumber = () => Math.max(0, ...sorted.map((c) => c.number), ...actions.map((a) => (a.kind === 'create' ? a.number : 0))) + 1;

  if (sorted.length === 0) {
    for (let i = 0; i < desired.scale; i++) {
      actions.push({ kind: 'create', service, number: nextNumber(), reason: i === 0 ? 'no container yet' : `scale ${desired.scale}` });
    }
    return actions;
  }

  let strategy = options.strategy;
  let forcedBy: string | undefined;
  if (options.upstreamChanged.length > 0 && strategy !== 'never') {
    const stopped = sorted.some((c) => c.state === 'created' || c.state === 'exited');
    if (options.alwaysRecreateDeps || stopped) {
      strategy = 'always';
      forcedBy = `${options.upstreamChanged.join(', ')} ${options.upstreamChanged.length === 1 ? 'is' : 'are'} being recreated`;
    }
  }

  // Scale down first: the highest numbers go.
  const kept = sorted.slice(0, desired.scale);
  for (const c of sorted.slice(desired.scale).reverse()) {
    actions.push({ kind: 'remove', service, container: c, reason: `scale ${sorted.length} → ${desired.scale}` });
  }

  const diverged = kept.filter((c) => c.configHash !== desired.configHash);
  for (const c of kept) {
    if (strategy === 'never') {
      actions.push(c.running ? { kind: 'keep', service, container: c, reason: 'up to date (--no-recreate)' } : { kind: 'start', service, container: c, reason: 'stopped' });
    } else if (strategy === 'always') {
      actions.push({ kind: 'recreate', service, container: c, reason: forcedBy ?? '--force-recreate' });
    } else if (diverged.length > 0) {
      // One container that diverged makes docker-compose recreate them all.
      const own = c.configHash !== desired.configHash ? c : diverged[0] as ObservedContainer;
      actions.push({ kind: 'recreate', service, container: c, reason: explainChange(own.configLabel, desired.configLabel) });
    } else if (!c.running) {
      actions.push({ kind: 'start', service, container: c, reason: 'stopped' });
    } else {
      actions.push({ kind: 'keep', service, container: c, reason: 'up to date' });
    }
  }
  for (let n = kept.length; n < desired.scale; n++) {
    actions.push({ kind: 'create', service, number: nextNumber(), reason: `scale ${sorted.length} → ${desired.scale}` });
  }
  return actions;
}

/** Whether a service's actions create or recreate containers (which is what its dependents look at). */
export function changesContainers(actions: readonly ContainerAction[]): boolean {
  return actions.some((a) => a.kind === 'create' || a.kind === 'recreate');
}
