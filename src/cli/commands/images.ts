/**
 * The image commands, with docker-compose 1.29.2's flags and semantics:
 *
 *  - build [--no-cache] [--pull] [--build-arg K=V...] [-q] [--parallel] [SERVICE...]: builds the
 *    services that have `build` ("<svc> uses an image, skipping" for the others), tagged with the
 *    service's image (`image`, else `<project>_<service>`); --build-arg overrides the file's args
 *    (`--build-arg K` alone takes K from the environment). One at a time, stopping at the first
 *    failure, unless --parallel. The build output goes to stdout (not with -q).
 *  - pull [--ignore-pull-failures] [-q] [--include-deps] [--no-parallel] [SERVICE...]: pulls the
 *    images of services that have `image`. A service that is also built and whose image the
 *    registry does not have only gets a warning ("must be built"), as in docker-compose.
 *  - push [--ignore-push-failures] [SERVICE...]: pushes the images of services that have both
 *    `build` and `image` (each image once; `x` and `x:latest` are the same).
 *
 * A failure is one `ERROR:` line naming the service and the image, and exit status 1.
 */
import type { Command } from 'commander';
import { FlotillaError, UsageError } from '../../errors.js';
import type { BuildRequest, ProgressEvent } from '../../contract/engine.js';
import { EngineError, isNotFound } from '../../contract/errors.js';
import { buildRequest, refuseUnbuildable } from '../../execute/images.js';
import { Limiter } from '../../execute/limiter.js';
import type { Progress, ProgressStep, StepResult } from '../../execute/progress.js';
import type { ProjectRuntime } from '../../execute/runtime.js';
import { selectServices, withDependencies } from '../../model/select.js';
import type { Service } from '../../model/service.js';
import { repositoryOf } from '../../bundle/engine-resolver.js';
import { ExitCode } from '../exit.js';
import { plainProgress } from '../progress.js';
import { withRuntime } from '../project.js';
import type { CliContext, GlobalOptions } from '../context.js';

/** docker-compose runs at most 5 builds or pulls at once. */
const IMAGE_PARALLELISM = 5;

const collect = (value: string, previous: string[] = []) => [...previous, value];

interface BuildFlags {
  cache: boolean;
  pull?: boolean;
  buildArg: string[];
  quiet?: boolean;
  parallel?: boolean;
  forceRm?: boolean;
}

interface PullFlags {
  ignorePullFailures?: boolean;
  quiet?: boolean;
  includeDeps?: boolean;
  parallel?: boolean;
}

interface PushFlags {
  ignorePushFailures?: boolean;
}

/** `KEY=VAL` sets KEY; `KEY` alone takes KEY from the environment (left out when unset). */
export function parseBuildArgs(values: readonly string[], env: Readonly<Record<string, string | undefined>>): { set: Record<string, string>; unset: string[] } {
  const set: Record<string, string> = {};
  const unset: string[] = [];
  for (const v of values) {
    const eq = v.indexOf('=');
    const key = eq >= 0 ? v.slice(0, eq) : v;
    if (key === '' || /\s/.test(key)) throw new UsageError(`invalid --build-arg "${v}": use KEY=VALUE (the name may not be empty or contain whitespace)`);
    if (eq >= 0) set[key] = v.slice(eq + 1);
    else if (env[key] !== undefined) set[key] = env[key] as string;
    else unset.push(key);
  }
  return { set, unset };
}

/** A display that runs the steps and shows nothing (pull -q). */
const silentProgress: Progress = {
  run: (steps) =>
    Promise.all(
      steps.map(async (s): Promise<StepResult> => {
        try {
          await s.run();
          return { title: s.title };
        } catch (error) {
          return { title: s.title, error };
        }
      }),
    ),
  line: () => {},
};

/** `repo` and `repo:latest` are the same image. */
function withTag(image: string): string {
  if (image.includes('@')) return image;
  const slash = image.lastIndexOf('/');
  return image.lastIndexOf(':') > slash ? image : `${image}:latest`;
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** An unreachable engine is reported as it is: one line naming the socket. */
function rethrowUnreachable(e: unknown): void {
  if (e instanceof EngineError && e.kind === 'unreachable') throw e;
}

/** Runs the steps (all at once, or one after another stopping at the first failure); the failures. */
async function runSteps(progress: Progress, steps: ProgressStep[], parallel: boolean, stopOnError: boolean): Promise<StepResult[]> {
  if (parallel) return (await progress.run(steps)).filter((r) => r.error !== undefined);
  const failed: StepResult[] = [];
  for (const step of steps) {
    const [result] = await progress.run([step]);
    if (result?.error !== undefined) {
      failed.push(result);
      if (stopOnError) break;
    }
  }
  return failed;
}

/** The failures as ERROR lines (exit 1), or WARNING lines when they are ignored. */
function report(ctx: CliContext, failed: readonly StepResult[], ignore: boolean): void {
  for (const f of failed) rethrowUnreachable(f.error);
  if (failed.length === 0) return;
  if (failed.length === 1 && !ignore) throw failed[0]?.error instanceof FlotillaError ? failed[0].error : new FlotillaError(message(failed[0]?.error));
  for (const f of failed) ctx.stderr.write(`${ignore ? 'WARNING' : 'ERROR'}: ${message(f.error)}\n`);
  if (!ignore) throw new ExitCode(1);
}

function buildLine(e: ProgressEvent): string | undefined {
  // Download progress bars of a FROM image that is pulled are noise in a log.
  if (e.detail !== undefined) return undefined;
  const text = e.id ? `${e.id}: ${e.status}` : e.status;
  return text.trim() === '' ? undefined : text.trimEnd();
}

/** A build request in words, for --dry-run: where from, and what is not the default. */
function describeBuild(r: BuildRequest): string {
  const parts = [`context ${r.context}`];
  if (r.dockerfileInline !== undefined) parts.push('inline Dockerfile');
  else if (r.dockerfile !== 'Dockerfile') parts.push(`dockerfile ${r.dockerfile}`);
  if (r.target) parts.push(`target ${r.target}`);
  if (Object.keys(r.args).length > 0) parts.push(`args ${Object.keys(r.args).sort().join(' ')}`);
  if (r.noCache) parts.push('without the cache');
  if (r.pull) parts.push('pulling the base images');
  return parts.join(', ');
}

export async function buildServices(rt: ProjectRuntime, ctx: CliContext, names: readonly string[], flags: BuildFlags): Promise<void> {
  const args = parseBuildArgs(flags.buildArg, rt.variables);
  await rt.engine.version();
  const services = selectServices(rt.deployment, rt.profiles, names);
  const buildable: Service[] = [];
  for (const s of services) {
    if (s.build) buildable.push(s);
    else if (!flags.quiet) ctx.stderr.write(`${s.name} uses an image, skipping\n`);
  }
  for (const s of buildable) refuseUnbuildable(rt, s);
  if (rt.dryRun) {
    for (const s of buildable) {
      const request = buildRequest(s, rt.deployment, { noCache: !flags.cache, pull: flags.pull === true, args: args.set }, rt.env);
      for (const key of args.unset) delete request.args[key];
      ctx.stdout.write(`build ${request.tags.join(', ')} for ${s.name}: ${describeBuild(request)}\n`);
    }
    return;
  }
  const parallel = flags.parallel === true && buildable.length > 1;
  // The build output streams to stdout, which a live display on the same terminal would garble:
  // steps are plain lines then. -q prints nothing, as in docker-compose.
  const progress = flags.quiet ? silentProgress : plainProgress(ctx.stderr);
  const limiter = new Limiter(Math.min(IMAGE_PARALLELISM, rt.limiter.limit));
  const width = Math.max(0, ...buildable.map((s) => s.name.length));
  const steps = buildable.map((s): ProgressStep => ({
    title: `Building ${s.name}`,
    run: async () => {
      const request = buildRequest(s, rt.deployment, { noCache: !flags.cache, pull: flags.pull === true, args: args.set }, rt.env);
      for (const key of args.unset) delete request.args[key];
      const tail: string[] = [];
      const sink = (e: ProgressEvent) => {
        const line = buildLine(e);
        if (line === undefined) return;
        if (flags.quiet) {
          tail.push(line);
          if (tail.length > 10) tail.shift();
          return;
        }
        const prefix = parallel ? `${s.name.padEnd(width)} | ` : '';
        ctx.stdout.write(`${line.split('\n').map((l) => prefix + l).join('\n')}\n`);
      };
      try {
        await limiter.run(() => rt.engine.buildImage(request, sink));
      } catch (e) {
        rethrowUnreachable(e);
        const last = flags.quiet && tail.length > 0 ? ` (last output: ${tail.slice(-5).join(' | ')})` : '';
        throw new FlotillaError(`service '${s.name}' failed to build: ${message(e)}${last}`);
      }
    },
  }));
  report(ctx, await runSteps(progress, steps, parallel, true), false);
}

export async function pullServices(rt: ProjectRuntime, ctx: CliContext, names: readonly string[], flags: PullFlags): Promise<void> {
  await rt.engine.version();
  let services = selectServices(rt.deployment, rt.profiles, names);
  if (flags.includeDeps) services = withDependencies(rt.deployment, services, rt.profiles, names);
  if (rt.dryRun) {
    for (const s of services.filter((s) => s.imageDeclared)) ctx.stdout.write(`pull ${s.image} for ${s.name}: --dry-run, not pulled\n`);
    return;
  }
  const mustBuild: string[] = [];
  const limiter = new Limiter(Math.min(IMAGE_PARALLELISM, rt.limiter.limit));
  const steps = services
    .filter((s) => s.imageDeclared)
    .map((s): ProgressStep => ({
      title: `Pulling ${s.name} (${s.image})`,
      run: async () => {
        try {
          await limiter.run(() => rt.engine.pullImage(s.image));
        } catch (e) {
          rethrowUnreachable(e);
          if (s.build && isNotFound(e)) {
            mustBuild.push(s.name);
            return 'not in the registry';
          }
          throw new FlotillaError(`service '${s.name}': cannot pull ${s.image}: ${message(e)}`);
        }
        return undefined;
      },
    }));
  const progress = flags.quiet ? silentProgress : rt.progress;
  const failed = await runSteps(progress, steps, flags.parallel !== false, !flags.ignorePullFailures);
  if (mustBuild.length > 0) {
    rt.diagnostics.warn(`Some service image(s) must be built from source by running: flotilla build ${mustBuild.join(' ')}`);
  }
  report(ctx, failed, flags.ignorePullFailures === true);
}

export async function pushServices(rt: ProjectRuntime, ctx: CliContext, names: readonly string[], flags: PushFlags): Promise<void> {
  await rt.engine.version();
  const seen = new Set<string>();
  const targets: { service: Service; image: string }[] = [];
  for (const s of selectServices(rt.deployment, rt.profiles, names)) {
    if (!s.build || !s.imageDeclared) continue;
    const key = withTag(s.image);
    if (seen.has(key)) continue;
    seen.add(key);
    targets.push({ service: s, image: s.image });
  }
  if (rt.dryRun) {
    for (const { service, image } of targets) ctx.stdout.write(`push ${image} for ${service.name}: --dry-run, not pushed\n`);
    return;
  }
  const limiter = new Limiter(Math.min(IMAGE_PARALLELISM, rt.limiter.limit));
  const steps = targets.map(({ service, image }): ProgressStep => ({
    title: `Pushing ${service.name} (${image})`,
    run: async () => {
      let digest: string;
      try {
        digest = await limiter.run(() => rt.engine.pushImage(image));
      } catch (e) {
        rethrowUnreachable(e);
        throw new FlotillaError(`service '${service.name}': cannot push ${image}: ${message(e)}`);
      }
      // The pushed image pinned by digest, ready for a bundle or a deployment.
      ctx.stdout.write(`${repositoryOf(image)}@${digest}\n`);
    },
  }));
  report(ctx, await runSteps(rt.progress, steps, true, false), flags.ignorePushFailures === true);
}

export function registerImageCommands(program: Command, ctx: CliContext, global: () => GlobalOptions): void {
  program
    .command('build')
    .description('Build or rebuild services')
    .argument('[services...]', 'services to build (default: all that have a build section)')
    .option('--build-arg <key=val>', 'set a build-time variable (repeatable; KEY alone takes it from the environment)', collect, [])
    .option('--no-cache', 'do not use the cache when building')
    .option('--pull', 'always attempt to pull a newer version of the base image')
    .option('-q, --quiet', "don't print the build output")
    .option('--parallel', 'build images in parallel')
    .option('--force-rm', 'always remove intermediate containers (Flotilla always does)')
    .action((services: string[], flags: BuildFlags) =>
      withRuntime(ctx, global(), { checkBuildContext: true }, (rt) => buildServices(rt, ctx, services, flags)),
    );

  program
    .command('pull')
    .description('Pull the images of services')
    .argument('[services...]', 'services whose images to pull (default: all)')
    .option('--ignore-pull-failures', 'pull what can be pulled; report failures as warnings')
    .option('--parallel', 'deprecated: images are pulled in parallel by default')
    .option('--no-parallel', 'pull one image at a time')
    .option('-q, --quiet', 'pull without printing progress')
    .option('--include-deps', 'also pull the images of the dependencies')
    .action((services: string[], flags: PullFlags) =>
      withRuntime(ctx, global(), {}, async (rt) => {
        if (flags.parallel === true) rt.diagnostics.warn('--parallel option is deprecated and will be removed in future versions.');
        await pullServices(rt, ctx, services, flags);
      }),
    );

  program
    .command('push')
    .description('Push the images of services that are built')
    .argument('[services...]', 'services whose images to push (default: all)')
    .option('--ignore-push-failures', 'push what can be pushed; report failures as warnings')
    .action((services: string[], flags: PushFlags) => withRuntime(ctx, global(), {}, (rt) => pushServices(rt, ctx, services, flags)));
}
