/**
 * `flotilla wait SERVICE...`: blocks until the services' running containers (one-offs too) have
 * stopped, as Compose v2's `wait`: a line `container "<id>" exited with status code N` for each,
 * and the exit status of the last one to stop. `--down-project` then takes the project down
 * (orphans too).
 */
import type { Command } from 'commander';
import { FlotillaError } from '../../errors.js';
import { down } from '../../execute/down.js';
import { containersOf } from '../../execute/lifecycle.js';
import { ExitCode } from '../exit.js';
import { withRuntime } from '../project.js';
import type { CliContext, GlobalOptions } from '../context.js';

export function registerWait(program: Command, ctx: CliContext, global: () => GlobalOptions): void {
  program
    .command('wait')
    .description("Block until the services' containers stop; exit with the status of the last one")
    .argument('<services...>')
    .option('--down-project', 'take the project down once they have stopped')
    .action(async (services: string[], flags: { downProject?: boolean }) => {
      const code = await withRuntime(ctx, global(), {}, async (rt) => {
        const list = await containersOf(rt, services, { oneOff: 'include', running: true });
        if (list.length === 0) throw new FlotillaError(`no containers for project "${rt.deployment.name}"`);
        let last = 0;
        await Promise.all(
          list.map(async (c) => {
            const status = await rt.engine.waitContainer(c.id);
            ctx.stdout.write(`container "${c.id}" exited with status code ${status}\n`);
            last = status;
          }),
        );
        if (flags.downProject) await down(rt, { volumes: false, removeOrphans: true });
        return last;
      });
      if (code !== 0) throw new ExitCode(code);
    });
}
