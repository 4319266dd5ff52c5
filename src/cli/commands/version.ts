/**
 * `flotilla version`: the version, as Compose v2's `version` prints its own (`--short`: the number
 * alone; `--format json`: `{"version":"..."}`). It reads no Compose file and no engine.
 */
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { VERSION } from '../../version.js';
import type { CliContext } from '../context.js';

export function registerVersion(program: Command, ctx: CliContext): void {
  program
    .command('version')
    .description('Show the Flotilla version information')
    .option('-f, --format <format>', 'pretty (default) or json')
    .option('--short', 'print only the version number')
    .action((flags: { format?: string; short?: boolean }) => {
      const format = flags.format?.toLowerCase() ?? 'pretty';
      if (format !== 'pretty' && format !== 'json') throw new UsageError(`--format must be pretty or json, not "${flags.format ?? ''}"`);
      if (flags.short) ctx.stdout.write(`${VERSION}\n`);
      else if (format === 'json') ctx.stdout.write(`${JSON.stringify({ version: VERSION })}\n`);
      else ctx.stdout.write(`flotilla version ${VERSION}\n`);
    });
}
