/**
 * `flotilla builder prune [-a] [-f]`: the embedded engine's build cache freed, as `docker builder
 * prune` frees BuildKit's. Without -a, the cached steps whose layer no image in the store has (or
 * that made none) and the kept context copies; with -a, every cached step and the
 * RUN --mount=type=cache directories too. The next build runs the removed steps again.
 */
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { engineKind } from '../../engine/select.js';
import type { CliContext, GlobalOptions } from '../context.js';
import { humanSize } from '../table.js';
import { ask, withStore } from './image-store.js';

export function registerBuilder(program: Command, ctx: CliContext, global: () => GlobalOptions): void {
  const builder = program.command('builder').description("Manage the embedded engine's build cache");
  builder
    .command('prune')
    .description('Remove build cache (-a: all of it, cache mounts included)')
    .option('-a, --all', 'remove all build cache, not only dangling steps')
    .option('-f, --force', 'do not ask')
    .action(async (flags: { all?: boolean; force?: boolean }) => {
      const g = global();
      if (engineKind({ engine: g.engine, host: g.host, env: ctx.env }) !== 'embedded') {
        throw new UsageError("`flotilla builder prune` frees the embedded engine's build cache; for dockerd use `docker builder prune`");
      }
      if (!flags.force) {
        if (!process.stdin.isTTY) throw new UsageError('builder prune removes build cache: confirm with -f');
        const answer = await ask(`WARNING! This will remove ${flags.all ? 'all build cache' : 'all dangling build cache'}.\nAre you sure you want to continue? [y/N] `);
        if (!/^y(es)?$/i.test(answer.trim())) return;
      }
      await withStore(ctx, g, async (engine) => {
        const result = JSON.parse(await engine.pruneBuildCache(flags.all === true)) as { deleted: string[]; reclaimed: number };
        if (result.deleted.length > 0) {
          ctx.stdout.write('Deleted build cache objects:\n');
          for (const d of result.deleted) ctx.stdout.write(`${d}\n`);
          ctx.stdout.write('\n');
        }
        ctx.stdout.write(`Total reclaimed space: ${humanSize(result.reclaimed)}\n`);
      });
    });
}
