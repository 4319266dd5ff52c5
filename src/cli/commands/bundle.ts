/**
 * `flotilla bundle [-o FILE]`: write the project as a .dab bundle (default <project>.dab), as
 * `docker-compose bundle` did. Images must be pinned by digest; `--push-images` pushes built ones
 * first (needs an engine).
 */
import { writeFileSync, renameSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { Diagnostics } from '../../diagnostics.js';
import { UsageError } from '../../errors.js';
import { loadProject } from '../../compose/load.js';
import { projectToBundle } from '../../bundle/from-project.js';
import { pinnedOnlyResolver } from '../../bundle/digests.js';
import { pythonJsonPretty } from '../../util/python-json.js';
import { displayPath } from '../output.js';
import { loadOptionsFrom, printWarnings, type CliContext, type GlobalOptions } from '../context.js';

interface BundleOptions {
  output?: string;
  pushImages?: boolean;
}

export function registerBundle(program: Command, ctx: CliContext, global: () => GlobalOptions): void {
  program
    .command('bundle')
    .description('Write a Distributed Application Bundle (.dab) from the Compose project')
    .option('-o, --output <path>', 'where to write the bundle (default: <project name>.dab)')
    .option('--push-images', 'push images that have a build section, to learn their digests')
    .action(async (opts: BundleOptions) => {
      if (opts.pushImages) throw new UsageError('--push-images needs a container engine, which this version cannot reach yet');
      const diagnostics = new Diagnostics();
      const options = loadOptionsFrom(global(), ctx);
      options.checkBuildContext = false;
      const { project } = loadProject(options, diagnostics);
      try {
        const bundle = await projectToBundle(project, pinnedOnlyResolver, diagnostics);
        const target = resolve(ctx.cwd, opts.output ?? `${project.name}.dab`);
        // Written whole or not at all: a failed run never leaves half a bundle.
        const tmp = `${target}.tmp-${process.pid}`;
        writeFileSync(tmp, `${pythonJsonPretty(bundle)}\n`);
        renameSync(tmp, target);
        ctx.stderr.write(`Wrote bundle to ${displayPath(target, ctx.cwd)}\n`);
      } finally {
        printWarnings(diagnostics, ctx);
      }
    });
}
