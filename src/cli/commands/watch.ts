/**
 * `flotilla watch [SERVICE...]`: as Compose v2's `watch`, builds the images of the services that
 * have a build and watch rules, starts the services (unless --no-up), then acts on changes to
 * their `develop.watch` paths until interrupted (Ctrl-C or SIGTERM), leaving the containers
 * running. The watching itself is execute/watch.ts.
 */
import type { Command } from 'commander';
import { buildServiceImage } from '../../execute/images.js';
import { upServices } from '../../execute/up.js';
import { servicesToBuild, watch, watchRules, type Watching } from '../../execute/watch.js';
import { withRuntime } from '../project.js';
import type { CliContext, GlobalOptions } from '../context.js';

interface WatchFlags {
  up: boolean;
  prune?: boolean;
  quiet?: boolean;
}

/** Resolves at the first SIGINT or SIGTERM. */
function interrupted(): Promise<void> {
  return new Promise((resolve) => {
    const on = () => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve();
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

/** Watch's own lines, as Compose v2 prints them. */
export function watchLog(ctx: CliContext): (line: string) => void {
  return (line) => ctx.stdout.write(`${line}\n`);
}

export function registerWatch(program: Command, ctx: CliContext, global: () => GlobalOptions): void {
  program
    .command('watch')
    .description('Watch the services\' develop.watch paths and sync, rebuild or restart them when files change')
    .argument('[services...]', 'services to watch (default: all)')
    .option('--no-up', "don't build and start the services before watching")
    .option('--prune', 'remove the image a rebuild replaced (default)')
    .option('--no-prune', 'keep the images rebuilds replaced')
    .option('--quiet', "don't show build and start progress")
    .action(async (services: string[], flags: WatchFlags) => {
      const options = { ...global(), ...(flags.quiet ? { progress: 'quiet' as const } : {}) };
      await withRuntime(ctx, options, { checkBuildContext: true }, async (rt) => {
        const log = watchLog(ctx);
        const rules = watchRules(rt, services, log);
        if (flags.up) {
          for (const s of servicesToBuild(rt, services)) await buildServiceImage(rt, s);
          await upServices(rt, services, { noDeps: false, strategy: 'changed', build: 'when-missing' });
        }
        const stop = interrupted();
        let watching: Watching | undefined;
        try {
          watching = await watch(rt, rules, { prune: flags.prune !== false, log });
          await stop;
        } finally {
          await watching?.stop();
        }
        log('Watch disabled');
      });
    });
}
