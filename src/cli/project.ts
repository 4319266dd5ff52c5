/**
 * Loading the project and opening the engine for a command, with the command's warnings printed
 * and the engine closed when the command ends.
 */
import { Diagnostics } from '../diagnostics.js';
import { loadProject, type LoadedProject } from '../compose/load.js';
import { openEngine } from '../engine/select.js';
import { Limiter, parallelLimit } from '../execute/limiter.js';
import type { ProjectRuntime } from '../execute/runtime.js';
import { UsageError } from '../errors.js';
import { loadOptionsFrom, printWarnings, type CliContext, type GlobalOptions } from './context.js';
import { progressFor } from './progress.js';
import { renderPlan, type Plan } from '../plan/plan.js';

export interface RuntimeOptions {
  /** Commands that never build (pull, down, ps, ...) do not need build contexts to exist. */
  checkBuildContext?: boolean;
}

/** Runs `fn` with the project and engine; warnings are printed whatever happens. */
export async function withRuntime<T>(
  ctx: CliContext,
  global: GlobalOptions,
  options: RuntimeOptions,
  fn: (rt: ProjectRuntime, loaded: LoadedProject) => Promise<T>,
): Promise<T> {
  const diagnostics = new Diagnostics();
  const loadOptions = loadOptionsFrom(global, ctx);
  loadOptions.checkBuildContext = options.checkBuildContext ?? false;
  let printed = 0;
  const flush = () => {
    const fresh = new Diagnostics();
    for (const w of diagnostics.warnings.slice(printed)) fresh.warn(w.message, w.location);
    printed = diagnostics.warnings.length;
    printWarnings(fresh, ctx);
  };
  try {
    // The whole project is validated before the first engine call: an invalid one changes nothing.
    const loaded = loadProject(loadOptions, diagnostics);
    flush();
    let limit: number;
    try {
      limit = parallelLimit(ctx.env);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const engine = await openEngine({ engine: global.engine, host: global.host, env: ctx.env });
    try {
      const rt: ProjectRuntime = {
        engine,
        deployment: loaded.deployment(),
        profiles: loaded.profiles,
        cwd: ctx.cwd,
        env: ctx.env,
        variables: Object.fromEntries(loaded.environment.entries()),
        diagnostics,
        progress: progressFor(ctx.stderr, global.progress),
        limiter: new Limiter(limit),
        locateService: loaded.locateService,
      };
      if (global.dryRun) rt.dryRun = (plan) => printPlan(ctx, plan);
      return await fn(rt, loaded);
    } finally {
      engine.close();
    }
  } finally {
    flush();
  }
}

/** A plan as --dry-run prints it: a line per step, then what is left as it is. */
export function printPlan(ctx: CliContext, plan: Plan): void {
  const lines = renderPlan(plan);
  ctx.stdout.write(lines.length > 0 ? `${lines.join('\n')}\n` : 'nothing to do\n');
}
