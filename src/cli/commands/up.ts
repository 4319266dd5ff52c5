/**
 * `flotilla up [SERVICE...]` and `flotilla create`: converge the engine to the project, then
 * (without -d) follow the attached containers' output until they stop. Flags and their
 * combinations follow docker-compose 1.29.2; `--dry-run` and `--wait` are Flotilla's.
 *
 * Attached: Ctrl-C stops the services gracefully ("press Ctrl+C again to force"); a second Ctrl-C
 * kills them and exits 2. --abort-on-container-exit stops everything when any container exits and
 * exits with that container's code (--exit-code-from SERVICE: with that service's).
 */
import { Option, type Command } from 'commander';
import { UsageError } from '../../errors.js';
import { stop } from '../../execute/lifecycle.js';
import { up, type UpOptions, type UpResult } from '../../execute/up.js';
import type { ProjectRuntime } from '../../execute/runtime.js';
import { observeContainers } from '../../execute/observe.js';
import { ExitCode } from '../exit.js';
import { endOfOutput, LogFollower } from '../logs/follow.js';
import { LogPrinter } from '../logs/printer.js';
import { printPlan, withRuntime } from '../project.js';
import type { CliContext, GlobalOptions } from '../context.js';
import { useColor } from '../color.js';
import { watch, watchRules } from '../../execute/watch.js';
import { watchLog } from './watch.js';

interface UpFlags {
  detach?: boolean;
  noColor?: boolean;
  color?: boolean;
  quietPull?: boolean;
  deps: boolean;
  forceRecreate?: boolean;
  alwaysRecreateDeps?: boolean;
  recreate: boolean;
  build?: boolean;
  noBuild?: boolean;
  start: boolean;
  abortOnContainerExit?: boolean;
  attachDependencies?: boolean;
  timeout?: string;
  renewAnonVolumes?: boolean;
  removeOrphans?: boolean;
  exitCodeFrom?: string;
  scale: string[];
  logPrefix: boolean;
  dryRun?: boolean;
  wait?: boolean;
  waitTimeout?: string;
  pull?: string;
  attach: string[];
  noAttach: string[];
  abortOnContainerFailure?: boolean;
  timestamps?: boolean;
  watch?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function parseScale(values: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) {
    const m = /^([^=]+)=(\d+)$/.exec(v);
    if (!m) throw new UsageError(`invalid --scale "${v}": use SERVICE=NUMBER`);
    out[m[1] as string] = Number(m[2]);
  }
  return out;
}

export function parseTimeout(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`invalid timeout "${value}": use a number of seconds`);
  return Number(value);
}

function upOptions(flags: UpFlags, services: string[], ctx: CliContext): UpOptions {
  if (flags.build && flags.noBuild) throw new UsageError('--build and --no-build can not be combined');
  if (flags.forceRecreate && !flags.recreate) throw new UsageError('--force-recreate and --no-recreate cannot be combined');
  if (!flags.recreate && flags.renewAnonVolumes) throw new UsageError('--no-recreate and --renew-anon-volumes cannot be combined');
  const ignoreOrphans = ['1', 'true', 'True'].includes(ctx.env['COMPOSE_IGNORE_ORPHANS'] ?? '');
  if (ignoreOrphans && flags.removeOrphans) throw new UsageError('COMPOSE_IGNORE_ORPHANS and --remove-orphans cannot be combined');
  const opts: UpOptions = {
    services,
    noDeps: !flags.deps,
    strategy: flags.forceRecreate || flags.renewAnonVolumes ? 'always' : flags.recreate ? 'changed' : 'never',
    alwaysRecreateDeps: flags.alwaysRecreateDeps === true,
    scale: parseScale(flags.scale),
    removeOrphans: flags.removeOrphans === true,
    build: flags.build ? 'always' : flags.noBuild ? 'never' : 'when-missing',
    renewAnonymousVolumes: flags.renewAnonVolumes === true,
    start: flags.start,
    dryRun: flags.dryRun === true,
    wait: flags.wait === true || flags.waitTimeout !== undefined,
  };
  const timeout = parseTimeout(flags.timeout);
  if (timeout !== undefined) opts.timeout = timeout;
  if (flags.waitTimeout !== undefined) {
    if (!/^\d+$/.test(flags.waitTimeout) || Number(flags.waitTimeout) === 0) throw new UsageError(`invalid --wait-timeout "${flags.waitTimeout}": use a number of seconds`);
    opts.waitTimeout = Number(flags.waitTimeout);
  }
  if (flags.pull !== undefined) {
    if (flags.pull !== 'always' && flags.pull !== 'missing' && flags.pull !== 'never') throw new UsageError(`invalid --pull "${flags.pull}": use always, missing or never`);
    opts.pull = flags.pull;
  }
  return opts;
}

/** A repeatable option whose name starts with "no-" and takes a service, not the negation of another. */
function serviceListOption(flags: string, description: string): Option {
  const option = new Option(flags, description).argParser(collect).default([]);
  option.negate = false;
  return option;
}

export function registerUp(program: Command, ctx: CliContext, global: () => GlobalOptions): void {
  program
    .command('up')
    .description('Create and start containers (build or pull images, create networks and volumes)')
    .argument('[services...]', 'services to start (default: all)')
    .option('-d, --detach', 'run containers in the background')
    .option('--no-color', 'monochrome output')
    .option('--quiet-pull', 'pull without printing progress')
    .option('--no-deps', "don't start dependencies")
    .option('--force-recreate', 'recreate containers even if unchanged')
    .option('--always-recreate-deps', 'recreate the dependants of recreated containers')
    .option('--no-recreate', "don't recreate existing containers")
    .option('--build', 'build images before starting containers')
    .option('--no-build', "don't build an image, even if it's missing")
    .option('--no-start', "don't start the services after creating them")
    .option('--abort-on-container-exit', 'stop all containers if any container stops')
    .option('--attach-dependencies', 'also attach to dependencies')
    .option('-t, --timeout <seconds>', 'shutdown timeout when attached or when recreating')
    .option('-V, --renew-anon-volumes', 'recreate anonymous volumes instead of keeping their data')
    .option('--remove-orphans', 'remove containers of services not in the project')
    .option('--exit-code-from <service>', "exit with this service's container's code (implies --abort-on-container-exit)")
    .option('--scale <service=num>', 'run NUM containers of SERVICE (repeatable)', collect, [])
    .option('--no-log-prefix', "don't prefix log lines")
    .option('--dry-run', 'print what would be done and change nothing')
    .option('--wait', 'return when every container is running (healthy, if it has a healthcheck); implies -d')
    .option('--wait-timeout <seconds>', 'with --wait: fail when the project is not ready after this long (implies --wait)')
    .option('--pull <policy>', 'pull images: always, missing (default) or never')
    .option('--attach <service>', "follow only these services' output (repeatable)", collect, [])
    .addOption(serviceListOption('--no-attach <service>', "don't follow this service's output (repeatable)"))
    .option('--abort-on-container-failure', 'stop all containers if any container exits with a non-zero code')
    .option('--timestamps', 'show timestamps in the output')
    .option('-w, --watch', "watch the services' develop.watch paths and act on changes until interrupted")
    .action(async (services: string[], flags: UpFlags) => {
      if (flags.abortOnContainerExit && flags.abortOnContainerFailure) throw new UsageError('--abort-on-container-exit and --abort-on-container-failure cannot be combined');
      const abort = flags.abortOnContainerExit === true || flags.exitCodeFrom !== undefined;
      const failureAbort = flags.abortOnContainerFailure === true;
      const detached = flags.detach === true || flags.wait === true || flags.waitTimeout !== undefined;
      if (detached && (abort || failureAbort || flags.attachDependencies)) {
        throw new UsageError('-d cannot be combined with --abort-on-container-exit, --abort-on-container-failure or --attach-dependencies');
      }
      if (detached && (flags.attach.length > 0 || flags.noAttach.length > 0)) throw new UsageError('-d cannot be combined with --attach or --no-attach');
      if (detached && flags.watch) throw new UsageError('-d and --wait cannot be combined with --watch');
      if (flags.noBuild && flags.watch) throw new UsageError('--no-build and --watch are incompatible');
      if (!flags.start && (detached || abort || flags.attachDependencies)) {
        throw new UsageError('--no-start cannot be combined with -d, --abort-on-container-exit, --exit-code-from or --attach-dependencies');
      }
      const opts = upOptions({ ...flags, dryRun: flags.dryRun === true || global().dryRun === true }, services, ctx);
      await withRuntime(ctx, global(), { checkBuildContext: true }, async (rt) => {
        if (flags.exitCodeFrom !== undefined && !rt.deployment.services.some((s) => s.name === flags.exitCodeFrom)) {
          throw new ExitCode(2, `No service named "${flags.exitCodeFrom}" was found in your compose file.`);
        }
        for (const s of [...flags.attach, ...flags.noAttach]) if (!rt.deployment.services.some((x) => x.name === s)) throw new UsageError(`no such service: ${s}`);
        const rules = flags.watch ? watchRules(rt, services, watchLog(ctx)) : undefined;
        // Restarting a stopped container, attached `up` shows only its new run's output.
        const lastRuns = detached || !flags.start || opts.dryRun ? new Map<string, number>() : await lastRunEnds(rt);
        const result = await up(rt, opts);
        if (opts.dryRun) {
          printPlan(ctx, result.plan);
          return;
        }
        if (detached || !flags.start) return;
        const followed = flags.attach.length > 0 ? flags.attach : flags.attachDependencies || services.length === 0 ? result.services.map((s) => s.name) : services;
        const attachTo = new Set(followed.filter((s) => !flags.noAttach.includes(s)));
        // Ctrl-C and an abort stop the services named (all when none is), not their dependencies.
        const stopServices = new Set(services.length > 0 ? services : rt.deployment.services.map((s) => s.name));
        const watching = rules ? await watch(rt, rules, { prune: true, log: watchLog(ctx) }) : undefined;
        try {
          await attach(rt, ctx, attachTo, { flags, abort, failureAbort, color: useColor(ctx, global(), flags.color !== false), result, lastRuns, stopServices, watching: watching !== undefined });
        } finally {
          await watching?.stop();
        }
      });
    });

  program
    .command('create')
    .description('Create containers without starting them (deprecated in docker-compose: use up --no-start)')
    .argument('[services...]', 'services to create (default: all)')
    .option('--force-recreate', 'recreate containers even if unchanged')
    .option('--no-recreate', "don't recreate existing containers")
    .option('--build', 'build images before creating containers')
    .option('--no-build', "don't build an image, even if it's missing")
    .action(async (services: string[], flags: UpFlags) => {
      const opts = upOptions({ ...flags, deps: true, start: false, scale: [], logPrefix: true, dryRun: global().dryRun === true }, services, ctx);
      await withRuntime(ctx, global(), { checkBuildContext: true }, async (rt) => {
        const result = await up(rt, opts);
        if (opts.dryRun) printPlan(ctx, result.plan);
      });
    });
}

/**
 * Where each stopped service container's next output begins (engine time, seconds): attached
 * `up` shows a restarted container's new run only, as docker-compose (which attaches before
 * starting) does.
 */
async function lastRunEnds(rt: ProjectRuntime): Promise<Map<string, number>> {
  const stopped = (await observeContainers(rt.engine, rt.deployment.name)).filter((c) => !c.oneOff && !c.running);
  const out = new Map<string, number>();
  await Promise.all(
    stopped.map(async (c) => {
      const since = await rt.limiter.run(() => endOfOutput(rt.engine, c.id)).catch(() => undefined);
      if (since !== undefined) out.set(c.id, since);
    }),
  );
  return out;
}

async function attach(
  rt: ProjectRuntime,
  ctx: CliContext,
  services: ReadonlySet<string>,
  o: { flags: UpFlags; abort: boolean; failureAbort: boolean; color: boolean; result: UpResult; lastRuns: ReadonlyMap<string, number>; stopServices: ReadonlySet<string>; watching: boolean },
): Promise<void> {
  const { engine, deployment } = rt;
  const width = Math.max(0, ...[...services].map((s) => s.length)) + 3;
  const printer = new LogPrinter(ctx.stdout, { color: o.color, prefix: o.flags.logPrefix, width });
  let firstExit: { name: string; service: string; code: number } | undefined;
  let stopping: Promise<void> | undefined;
  // Watching, containers that stop (a restart, a rebuild) do not end `up`: only Ctrl-C or an abort does.
  let stopRequested: () => void = () => undefined;
  const untilStop = new Promise<void>((resolve) => (stopRequested = resolve));
  const follower = new LogFollower(engine, deployment.name, printer, {
    follow: true,
    timestamps: o.flags.timestamps === true,
    services,
    onExit: (c, code) => {
      if ((o.abort || (o.failureAbort && code !== 0)) && !firstExit) {
        firstExit = { name: c.name, service: c.service, code };
        void beginStop('Aborting on container exit...');
      }
    },
  });
  const timeout = parseTimeout(o.flags.timeout);
  // Ctrl-C and an abort stop the services named (all when none is), dependants first.
  const stopAll = () => stop(rt, [...o.stopServices], { timeout, oneOffs: false }).catch((e: unknown) => rt.diagnostics.warn((e as Error).message));
  const beginStop = (message: string) => {
    if (!stopping) {
      ctx.stderr.write(`${message}\n`);
      stopping = stopAll();
      stopRequested();
    }
    return stopping;
  };
  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    if (interrupts === 1) {
      void beginStop('Gracefully stopping... (press Ctrl+C again to force)');
      return;
    }
    ctx.stderr.write('Killing...\n');
    void (async () => {
      const containers = (await observeContainers(engine, deployment.name)).filter((c) => !c.oneOff && c.running && o.stopServices.has(c.service));
      await Promise.all(containers.map((c) => engine.killContainer(c.id).catch(() => {})));
      process.exit(2);
    })();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    follower.watch();
    // Every container up left for these services, also those that already exited (their output
    // and exit status count, for --abort-on-container-exit too).
    const attached = [...services].flatMap((s) => o.result.registry.of(s).map((c) => ({ id: c.id, name: c.name, service: s })));
    attached.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    ctx.stdout.write(`Attaching to ${attached.map((c) => c.name).join(', ')}\n`);
    for (const c of attached) follower.add(c, o.lastRuns.get(c.id));
    await (o.watching ? untilStop : follower.done());
    if (stopping) await stopping;
  } finally {
    follower.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (o.failureAbort && firstExit) throw new ExitCode(firstExit.code);
  if (o.abort) {
    let code = firstExit?.code ?? 0;
    if (o.flags.exitCodeFrom !== undefined) {
      const own = (await observeContainers(engine, deployment.name)).filter((c) => c.service === o.flags.exitCodeFrom && !c.oneOff);
      if (own.length === 0) throw new ExitCode(2, `No containers matching the spec "${o.flags.exitCodeFrom}" were run.`);
      const codes = await Promise.all(own.map(async (c) => (await engine.inspectContainer(c.id))?.state.exitCode ?? 0));
      code = codes.find((x) => x !== 0) ?? 0;
    }
    if (code !== 0) throw new ExitCode(code);
  }
}
