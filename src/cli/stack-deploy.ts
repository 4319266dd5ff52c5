/**
 * `stack deploy` (and `deploy`, Docker 1.12's bundle command): compile the stack, read what the
 * swarm has, plan, then (unless --dry-run) apply the plan and, with --wait or --detach=false, wait
 * for the services to converge. With --ordered, services are deployed level by level in
 * depends_on order, each level waited for before the next.
 *
 * Exit status with --wait: 0 every service converged; 2 a service failed (the swarm gave up on
 * it, or its update was paused or rolled back); 3 --wait-timeout ran out first; 1 the deploy
 * itself failed (bad input, the swarm refused something).
 */
import type { SwarmCluster } from '../contract/swarm.js';
import { Diagnostics } from '../diagnostics.js';
import { FlotillaError, UsageError } from '../errors.js';
import { applyPlan, type ApplyOptions } from '../stack/apply.js';
import { waitForServices, type WaitOutcome } from '../stack/converge.js';
import { observeStack } from '../stack/observe.js';
import { describeAction, planDeploy, type Plan, type PlanOptions, type ResolveImage } from '../stack/plan.js';
import type { StackSpec } from '../stack/spec.js';
import { printWarnings, type CliContext, type GlobalOptions } from './context.js';
import { ExitCode } from './exit.js';
import { loadStack, type StackInput } from './stack-input.js';
import { withSwarm } from './swarm.js';

export const EXIT_SERVICE_FAILED = 2;
export const EXIT_WAIT_TIMEOUT = 3;

export interface DeployFlags extends StackInput {
  prune: boolean;
  resolveImage: string;
  withRegistryAuth: boolean;
  detach: boolean;
  wait: boolean;
  waitTimeout?: string | undefined;
  dryRun: boolean;
  keepScale: boolean;
  quiet: boolean;
}

function resolveImageOption(value: string): ResolveImage {
  if (value === 'always' || value === 'changed' || value === 'never') return value;
  throw new UsageError(`invalid --resolve-image "${value}": use always, changed or never`);
}

function waitTimeoutMs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+(\.\d+)?$/.test(value)) throw new UsageError(`invalid --wait-timeout "${value}": use a number of seconds`);
  return Number(value) * 1000;
}

/** Services in depends_on levels: each level only depends on the ones before it. */
export function dependencyLevels(stack: StackSpec): string[][] {
  const names = new Set(stack.services.map((s) => s.name));
  const remaining = new Map(stack.services.map((s) => [s.name, s.dependsOn.filter((d) => names.has(d))]));
  const levels: string[][] = [];
  const placed = new Set<string>();
  while (remaining.size > 0) {
    const level = [...remaining].filter(([, deps]) => deps.every((d) => placed.has(d))).map(([n]) => n);
    if (level.length === 0) throw new FlotillaError(`depends_on has a cycle among ${[...remaining.keys()].join(', ')}`);
    for (const n of level) {
      remaining.delete(n);
      placed.add(n);
    }
    levels.push(level.sort());
  }
  return levels;
}

function onlyServices(plan: Plan, stack: StackSpec, names: ReadonlySet<string>): Plan {
  const swarmNames = new Set(stack.services.filter((s) => names.has(s.name)).map((s) => s.spec.name));
  return { ...plan, actions: plan.actions.filter((a) => 'service' in a && swarmNames.has(a.name)), notes: [] };
}

function withoutServices(plan: Plan): Plan {
  return { ...plan, actions: plan.actions.filter((a) => !('service' in a)) };
}

function outcomeExit(outcome: WaitOutcome, ctx: CliContext): void {
  if (outcome.kind === 'failed') {
    for (const f of outcome.failures) ctx.stderr.write(`ERROR: ${f}\n`);
    throw new ExitCode(EXIT_SERVICE_FAILED);
  }
  if (outcome.kind === 'timeout') throw new ExitCode(EXIT_WAIT_TIMEOUT, `--wait-timeout reached; not converged yet: ${outcome.pending.join(', ')}`);
}

export async function runStackDeploy(flags: DeployFlags, ctx: CliContext, global: GlobalOptions): Promise<void> {
  const planOptions: PlanOptions = { prune: flags.prune, keepScale: flags.keepScale, resolveImage: resolveImageOption(flags.resolveImage) };
  const timeoutMs = waitTimeoutMs(flags.waitTimeout);
  const waiting = flags.wait || !flags.detach || flags.ordered === true;
  const diagnostics = new Diagnostics();
  let stack: StackSpec;
  try {
    stack = loadStack(flags, ctx, diagnostics);
  } finally {
    printWarnings(diagnostics, ctx);
  }
  const levels = flags.ordered ? dependencyLevels(stack) : undefined;
  await withSwarm(ctx, global, async (cluster) => {
    for (const svc of stack.services) {
      const { spec, dropped } = await cluster.storable(svc.spec);
      svc.spec = spec;
      for (const d of dropped) ctx.stderr.write(`WARNING: services.${svc.name}: ${d}\n`);
    }
    const plan = planDeploy(stack, await observeStack(cluster, stack), planOptions);
    for (const note of plan.notes) ctx.stderr.write(`NOTE: ${note}\n`);
    if (flags.dryRun) {
      const lines = plan.actions.map(describeAction);
      ctx.stdout.write(lines.length > 0 ? `${lines.join('\n')}\n` : '');
      return;
    }
    const report = (line: string) => {
      if (!flags.quiet) ctx.stdout.write(`${line}\n`);
    };
    const apply: ApplyOptions = { ...planOptions, sendRegistryAuth: flags.withRegistryAuth, report, warn: (line) => ctx.stderr.write(`${line}\n`) };
    const progress = (line: string) => {
      if (!flags.quiet) ctx.stderr.write(`${line}\n`);
    };
    if (!levels) {
      const applied = await applyPlan(cluster, plan, apply);
      if (!waiting) return;
      outcomeExit(await waitForServices(cluster, applied.all, { stack: stack.name, changed: new Set(applied.changed.keys()), report: progress, ...(timeoutMs !== undefined ? { timeoutMs } : {}) }), ctx);
      return;
    }
    await deployOrdered(cluster, stack, plan, levels, apply, progress, timeoutMs, ctx);
  });
}

async function deployOrdered(
  cluster: SwarmCluster,
  stack: StackSpec,
  plan: Plan,
  levels: string[][],
  apply: ApplyOptions,
  progress: (line: string) => void,
  timeoutMs: number | undefined,
  ctx: CliContext,
): Promise<void> {
  const started = Date.now();
  await applyPlan(cluster, withoutServices(plan), apply);
  for (const level of levels) {
    progress(`deploying ${level.join(', ')}`);
    const applied = await applyPlan(cluster, onlyServices(plan, stack, new Set(level)), apply);
    const ids = new Map([...applied.all]);
    const left = timeoutMs === undefined ? undefined : Math.max(0, timeoutMs - (Date.now() - started));
    outcomeExit(await waitForServices(cluster, ids, { stack: stack.name, changed: new Set(applied.changed.keys()), report: progress, ...(left !== undefined ? { timeoutMs: left } : {}) }), ctx);
  }
}
