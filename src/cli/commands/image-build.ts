/**
 * `flotilla image build [-t REF]... [-f Dockerfile] [--build-arg K=V]... [--target T] [--no-cache]
 * [--pull] [--label K=V]... [-q] CONTEXT`: a Dockerfile build on the embedded engine, with the
 * flags of `docker build`. The build's output goes to standard error; the image id to standard
 * output. `-f` is relative to the current directory, as for docker.
 */
import type { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import { engineKind } from '../../engine/select.js';
import type { CliContext, GlobalOptions } from '../context.js';
import { parseBuildArgs } from './images.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

interface ImageBuildFlags {
  tag: string[];
  file?: string;
  buildArg: string[];
  target?: string;
  cache: boolean;
  pull?: boolean;
  label: string[];
  quiet?: boolean;
}

function labels(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq === 0) throw new UsageError(`invalid --label "${v}": use KEY=VALUE`);
    if (eq < 0) out[v] = '';
    else out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}

export function registerImageBuild(program: Command, ctx: CliContext, global: () => GlobalOptions): void {
  const image = program.commands.find((c) => c.name() === 'image');
  if (!image) throw new Error('registerImageBuild needs the image command');
  image
    .command('build')
    .description('Build an image from a Dockerfile on the embedded engine')
    .argument('<context>', 'the build context directory')
    .option('-t, --tag <name>', 'name and optionally tag (NAME[:TAG]); repeatable', collect, [])
    .option('-f, --file <path>', 'the Dockerfile (default: CONTEXT/Dockerfile)')
    .option('--build-arg <key=val>', 'set a build-time variable (repeatable; KEY alone takes it from the environment)', collect, [])
    .option('--target <stage>', 'build this stage')
    .option('--no-cache', 'do not use the build cache')
    .option('--pull', 'always attempt to pull a newer version of the base image')
    .option('--label <key=val>', 'set a label on the image (repeatable)', collect, [])
    .option('-q, --quiet', 'print only the image id')
    .action(async (contextArg: string, flags: ImageBuildFlags) => {
      const g = global();
      if (engineKind({ engine: g.engine, host: g.host, env: ctx.env }) !== 'embedded') {
        throw new UsageError('`flotilla image build` builds on the embedded engine; for dockerd use `docker build`');
      }
      const context = resolve(ctx.cwd, contextArg);
      if (!existsSync(context) || !statSync(context).isDirectory()) throw new UsageError(`${contextArg}: the build context must be a directory`);
      const dockerfile = flags.file === undefined ? 'Dockerfile' : relative(context, resolve(ctx.cwd, flags.file));
      const args = parseBuildArgs(flags.buildArg, ctx.env);
      // Loaded only here: gRPC is a large module other commands do without.
      const { openEmbeddedEngine } = await import('../../engine/embedded/index.js');
      const engine = await openEmbeddedEngine({ env: ctx.env });
      try {
        const id = await engine.buildImage(
          {
            context,
            dockerfile,
            tags: flags.tag,
            args: args.set,
            labels: labels(flags.label),
            ...(flags.target ? { target: flags.target } : {}),
            cacheFrom: [],
            extraHosts: [],
            noCache: !flags.cache,
            pull: flags.pull === true,
          },
          flags.quiet ? undefined : (e) => ctx.stderr.write(`${e.status}\n`),
        );
        ctx.stdout.write(`${id}\n`);
      } finally {
        engine.close();
      }
    });
}
