/**
 * `flotilla logs [SERVICE...]`: the output of the project's containers, prefixed with their names
 * (coloured only on a terminal). With -f it keeps following, including containers that start later
 * (a scale-up, a restart), and ends when no followed container is left running.
 */
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { LABEL } from '../../plan/labels.js';
import { observeContainers } from '../../execute/observe.js';
import { LogFollower } from '../logs/follow.js';
import { LogPrinter } from '../logs/printer.js';
import { withRuntime } from '../project.js';
import { useColor } from '../color.js';
import { parseLogTime } from '../log-time.js';
import type { CliContext, GlobalOptions } from '../context.js';

interface LogsFlags {
  color: boolean;
  follow?: boolean;
  timestamps?: boolean;
  tail: string;
  logPrefix: boolean;
  since?: string;
  until?: string;
  index?: string;
}

export function registerLogs(program: Command, ctx: CliContext, global: () => GlobalOptions): void {
  program
    .command('logs')
    .description('View output from containers')
    .argument('[services...]')
    .option('--no-color', 'monochrome output')
    .option('-f, --follow', 'follow log output')
    .option('-t, --timestamps', 'show timestamps')
    .option('--tail <lines>', 'number of lines to show from the end of each container\'s log, or "all"', 'all')
    .option('--no-log-prefix', "don't print prefix in logs")
    .option('--since <time>', 'only lines since a time (2013-01-02T13:23:37Z, Unix seconds) or a duration back from now (42m)')
    .option('--until <time>', 'only lines until a time (2013-01-02T13:23:37Z, Unix seconds) or a duration back from now (42m)')
    .option('--index <n>', "only the output of the service's container number N (one service must be named)")
    .action((services: string[], flags: LogsFlags) =>
      withRuntime(ctx, global(), {}, async (rt) => {
        if (flags.tail !== 'all' && !/^\d+$/.test(flags.tail)) throw new UsageError('tail flag must be all or a number');
        for (const s of services) if (!rt.deployment.services.some((x) => x.name === s)) throw new UsageError(`no such service: ${s}`);
        const now = Date.now();
        const since = flags.since === undefined ? undefined : parseLogTime(flags.since, '--since', now);
        const until = flags.until === undefined ? undefined : parseLogTime(flags.until, '--until', now);
        let index: number | undefined;
        if (flags.index !== undefined) {
          if (!/^[1-9]\d*$/.test(flags.index)) throw new UsageError(`--index must be a positive number, not "${flags.index}"`);
          if (services.length !== 1) throw new UsageError('--index requires one service to be selected');
          index = Number(flags.index);
        }
        const selected = new Set(services.length > 0 ? services : rt.deployment.services.map((s) => s.name));
        const width = Math.max(0, ...rt.deployment.services.map((s) => s.name.length)) + 3;
        const printer = new LogPrinter(ctx.stdout, { color: useColor(ctx, global(), flags.color), prefix: flags.logPrefix, width });
        const options = { follow: flags.follow === true, timestamps: flags.timestamps === true, services: selected } as ConstructorParameters<typeof LogFollower>[3];
        if (flags.tail !== 'all') options.tail = Number(flags.tail);
        if (since !== undefined) options.since = since;
        if (until !== undefined) options.until = until;
        if (index !== undefined) options.index = index;
        const follower = new LogFollower(rt.engine, rt.deployment.name, printer, options);
        const stop = () => follower.stop();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        try {
          // Watch for new containers before listing the current ones, so none is missed in between.
          if (flags.follow) follower.watch();
          const containers = (await observeContainers(rt.engine, rt.deployment.name)).filter((c) => !c.oneOff && selected.has(c.service) && (index === undefined || c.number === index));
          for (const c of containers) follower.add({ id: c.id, name: c.name, service: c.labels[LABEL.service] ?? c.service });
          await follower.done();
        } finally {
          follower.stop();
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
        }
      }),
    );
}
