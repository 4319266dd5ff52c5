/**
 * `flotilla bundle [-o FILE] [--push-images]`: write the project as a .dab bundle (default
 * <project>.dab), as `docker-compose bundle` did. Images must be pinned by digest: images written
 * `repo@sha256:...` are; the others are resolved through the engine (the local image's
 * RepoDigests, else the registry's digest: src/bundle/engine-resolver.ts). `--push-images` first
 * pushes the images of services with `build` that have no digest yet, and uses the pushed digests.
 * Without a reachable engine only pinned images can be bundled.
 */
import { writeFileSync, renameSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { Diagnostics } from '../../diagnostics.js';
import { FlotillaError } from '../../errors.js';
import { loadProject } from '../../compose/load.js';
import { projectToBundle } from '../../bundle/from-project.js';
import { pinnedOnlyResolver, type DigestResolver } from '../../bundle/digests.js';
import { EngineDigestResolver, needsEngine } from '../../bundle/engine-resolver.js';
import type { Engine } from '../../contract/engine.js';
import { EngineError } from '../../contract/errors.js';
import { openEngine } from '../../engine/select.js';
import { Limiter } from '../../execute/limiter.js';
import type { ProgressStep } from '../../execute/progress.js';
import type { ComposeProject, ComposeService } from '../../compose/document.js';
import { pythonJsonPretty } from '../../util/python-json.js';
import { displayPath } from '../output.js';
import { progressFor } from '../progress.js';
import { ExitCode } from '../exit.js';
import { loadOptionsFrom, printWarnings, type CliContext, type GlobalOptions } from '../context.js';

interface BundleOptions {
  output?: string;
  pushImages?: boolean;
}

/** The engine, if it answers; an unreachable one is null (or an error, when `required`). */
async function reachableEngine(ctx: CliContext, global: GlobalOptions, required: boolean, diagnostics: Diagnostics): Promise<Engine | null> {
  let engine: Engine | undefined;
  try {
    // Resolving digests is no reason to start the embedded engine's daemon.
    engine = await openEngine({ engine: global.engine, host: global.host, env: ctx.env, autostart: false });
    await engine.version();
    return engine;
  } catch (e) {
    engine?.close();
    if (required || !(e instanceof EngineError && e.kind === 'unreachable')) throw e;
    diagnostics.warn(`${e.message}; only images pinned by digest (repo@sha256:...) can be bundled`);
    return null;
  }
}

/** Pushes the built images that have no digest yet (all at once); the resolver learns their digests. */
async function pushImages(ctx: CliContext, engine: Engine, project: ComposeProject, resolver: EngineDigestResolver): Promise<void> {
  // A service without an image fails the bundle anyway: nothing is pushed for it.
  if (project.services.some((s) => s.image === undefined)) return;
  const toPush: ComposeService[] = [];
  for (const s of project.services) {
    if (s.build && (await resolver.resolve(s)).kind === 'needs-push') toPush.push(s);
  }
  // At most 5 pushes at once, as docker-compose runs its image operations.
  const limiter = new Limiter(5);
  const steps = toPush.map((s): ProgressStep => ({
    title: `Pushing ${s.name} (${s.image})`,
    run: async () => {
      try {
        resolver.usePushed(s, await limiter.run(() => engine.pushImage(s.image as string)));
      } catch (e) {
        if (e instanceof EngineError && e.kind === 'unreachable') throw e;
        throw new FlotillaError(`failed to push the image of service '${s.name}' (${s.image}): ${(e as Error).message}; use an image name that can be pushed to a registry`);
      }
    },
  }));
  const failed = (await progressFor(ctx.stderr).run(steps)).filter((r) => r.error !== undefined);
  if (failed.length === 1) throw failed[0]?.error;
  if (failed.length > 1) {
    for (const f of failed) ctx.stderr.write(`ERROR: ${(f.error as Error).message}\n`);
    throw new ExitCode(1);
  }
}

export function registerBundle(program: Command, ctx: CliContext, global: () => GlobalOptions): void {
  program
    .command('bundle')
    .description('Write a Distributed Application Bundle (.dab) from the Compose project')
    .option('-o, --output <path>', 'where to write the bundle (default: <project name>.dab)')
    .option('--push-images', 'push images that have a build section, to learn their digests')
    .action(async (opts: BundleOptions) => {
      const diagnostics = new Diagnostics();
      const options = loadOptionsFrom(global(), ctx);
      options.checkBuildContext = false;
      const { project } = loadProject(options, diagnostics);
      let engine: Engine | null = null;
      try {
        let resolver: DigestResolver = pinnedOnlyResolver;
        if (needsEngine(project)) {
          engine = await reachableEngine(ctx, global(), opts.pushImages === true, diagnostics);
          if (engine) {
            const engineResolver = new EngineDigestResolver(engine);
            if (opts.pushImages) await pushImages(ctx, engine, project, engineResolver);
            resolver = engineResolver;
          }
        }
        const bundle = await projectToBundle(project, resolver, diagnostics);
        const target = resolve(ctx.cwd, opts.output ?? `${project.name}.dab`);
        // Written whole or not at all: a failed run never leaves half a bundle.
        const tmp = `${target}.tmp-${process.pid}`;
        writeFileSync(tmp, `${pythonJsonPretty(bundle)}\n`);
        renameSync(tmp, target);
        ctx.stderr.write(`Wrote bundle to ${displayPath(target, ctx.cwd)}\n`);
      } finally {
        engine?.close();
        printWarnings(diagnostics, ctx);
      }
    });
}
