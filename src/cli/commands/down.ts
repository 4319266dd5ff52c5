/**
 * `flotilla down`: stop and remove the project's containers and networks (-v: volumes too,
 * --rmi: images, --remove-orphans: containers of services no longer in the file).
 */
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { down, type DownOptions } from '../../execute/down.js';
import { withRuntime } from '../project.js';
import type { CliContext, GlobalOptions } from '../context.js';
import { parseTimeout } from './up.js';

interface DownFlags {
  volumes?: boolean;
  rmi?: string;
  removeOrphans?: boolean;
  timeout?: string;
}

export function registerDown(program: Command, ctx: CliContext, global: () => GlobalOptions): void {
  program
    .command('down')
    .description('Stop and remove containers and networks (and with -v volumes, with --rmi images)')
    .option('-v, --volumes', 'also remove named volumes declared in the file and anonymous volumes')
    .option('--rmi <type>', 'remove images: "local" (built, without a custom tag) or "all"')
    .option('--remove-orphans', 'remove containers of services not in the project')
    .option('-t, --timeout <seconds>', 'seconds to wait for each container to stop (default: its stop_grace_period, else 10)')
    .action(async (flags: DownFlags) => {
      if (flags.rmi !== undefined && flags.rmi !== 'local' && flags.rmi !== 'all') {
        throw new UsageError('--rmi flag must be `local` or `all`');
      }
      const opts: DownOptions = { volumes: flags.volumes === true, removeOrphans: flags.removeOrphans === true };
      if (flags.rmi) opts.rmi = flags.rmi as 'local' | 'all';
      const timeout = parseTimeout(flags.timeout);
      if (timeout !== undefined) opts.timeout = timeout;
      await withRuntime(ctx, global(), {}, (rt) => down(rt, opts));
    });
}
