/**
 * `flotilla config`: validate the project and print it resolved, like `docker-compose config`:
 * YAML by default, `--format json`, or just names (`--services`, `--volumes`, `--profiles`, and
 * Compose v2's `--networks`, `--images`), nothing (`-q`), or a .dab bundle read into the model
 * (`--bundle-file`); v2's `--variables` and `--environment` (../config-listings.ts); `-o FILE`
 * writes the document to a file instead of standard output.
 */
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve, basename } from 'node:path';
import type { Command } from 'commander';
import { Option } from 'commander';
import { Diagnostics } from '../../diagnostics.js';
import { loadProject } from '../../compose/load.js';
import { projectToCompose } from '../../compose/serialize.js';
import { deployProblems } from '../../compose/emit/problems.js';
import { toYaml } from '../../util/yaml-emit.js';
import { loadOptionsFrom, printWarnings, type CliContext, type GlobalOptions } from '../context.js';
import type { ComposeFile } from '../../compose/compose-file.js';
import type { Environment } from '../../compose/environment.js';
import { environmentListing, variablesListing } from '../config-listings.js';
import { builtImageName } from '../../model/names.js';
import { UsageError } from '../../errors.js';
import type { ComposeProject } from '../../compose/document.js';
import { emitDeployment } from '../../compose/emit/deployment.js';
import type { Deployment } from '../../model/deployment.js';
import { selectServices } from '../../model/select.js';

interface ConfigOptions {
  quiet?: boolean;
  services?: boolean;
  volumes?: boolean;
  profiles?: boolean;
  hash?: string;
  interpolate: boolean;
  format: 'yaml' | 'json';
  bundleFile?: string;
  resolveImageDigests?: boolean;
  networks?: boolean;
  images?: boolean;
  variables?: boolean;
  environment?: boolean;
  output?: string;
}

export function registerConfig(program: Command, ctx: CliContext, global: () => GlobalOptions): void {
  program
    .command('config')
    .description('Validate and print the resolved Compose project')
    .option('-q, --quiet', 'only validate; print nothing')
    .option('--services', 'print the service names, one per line')
    .option('--volumes', 'print the volume names, one per line')
    .option('--profiles', 'print the profile names, one per line')
    .option('--networks', 'print the network names, one per line')
    .option('--images', 'print the image names, one per line')
    .option('--variables', 'print the variables the files use, with their defaults')
    .option('--environment', 'print the variables used for interpolation and where each value came from')
    .option('-o, --output <file>', 'write the document to a file instead of standard output')
    .option('--hash <services>', 'print each service\'s config hash ("*" for all, or a,b,c)')
    .option('--no-interpolate', 'do not interpolate ${VARIABLES}')
    .option('--resolve-image-digests', 'pin images to digests (needs an engine)')
    .addOption(new Option('--format <format>', 'output format').choices(['yaml', 'json']).default('yaml'))
    .option('--bundle-file <file>', 'read a .dab bundle instead of Compose files')
    .action(async (opts: ConfigOptions, command: Command) => {
      const diagnostics = new Diagnostics();
      const formatGiven = command.getOptionValueSource('format') !== 'default' ? opts.format : undefined;
      let files: readonly ComposeFile[] = [];
      let environment: Environment | undefined;
      let project: ComposeProject;
      let deployment: () => Deployment;
      let profiles: string[] = global().profile ?? [];
      let declaresName = false;
      if (opts.bundleFile !== undefined) {
        const { loadBundleProject } = await import('../../bundle/to-project.js');
        const bundled = loadBundleProject(opts.bundleFile, { cwd: ctx.cwd, projectName: global().projectName }, diagnostics);
        project = bundled;
        deployment = () => emitDeployment(bundled, { cwd: ctx.cwd });
      } else {
        const options = loadOptionsFrom(global(), ctx);
        options.interpolate = opts.interpolate;
        const loaded = loadProject(options, diagnostics);
        project = loaded.project;
        deployment = loaded.deployment;
        profiles = loaded.profiles;
        files = loaded.files;
        environment = loaded.environment;
        declaresName = loaded.files.some((f) => f.format.family === 'spec' && !f.included && Object.hasOwn(f.doc, 'name'));
        // What docker-compose's `config` accepts but its `up` refuses: warned here, errors at `up`.
        for (const p of deployProblems(project)) {
          diagnostics.warn(`${p.message} (up will refuse this)`, loaded.locateService(p.service, p.keyPath));
        }
      }
      printWarnings(diagnostics, ctx);
      // Resolved before anything is printed (also with -q), as docker-compose does: a missing
      // digest is an error whatever the output.
      if (opts.resolveImageDigests) project = await pinImages(ctx, global(), project);
      if (opts.quiet) return;
      if (opts.profiles) {
        const names = new Set(project.services.flatMap((s) => s.profiles ?? []));
        return writeLines(ctx, [...names].sort());
      }
      if (opts.services) return writeLines(ctx, project.services.map((s) => s.name));
      if (opts.volumes) return writeLines(ctx, Object.keys(project.volumes));
      if (opts.networks) return writeLines(ctx, Object.keys(project.networks));
      if (opts.images) return writeLines(ctx, project.services.map((s) => s.image ?? builtImageName(project.name, s.name)));
      if (opts.variables || opts.environment) {
        if (opts.bundleFile !== undefined || !environment) throw new UsageError('--variables and --environment read Compose files, not a bundle');
        if (opts.variables) return void ctx.stdout.write(variablesListing(files, formatGiven));
        const envGiven = global().envFile !== undefined && (global().envFile?.length ?? 0) > 0;
        return void ctx.stdout.write(environmentListing({ environment, files, envFileGiven: envGiven, cwd: ctx.cwd }, formatGiven));
      }
      if (opts.hash !== undefined) {
        const { configHash } = await import('../../plan/config-hash.js');
        const wanted = opts.hash === '*' ? undefined : opts.hash.split(',');
        // Without an engine the hash is the one docker-compose computes for a service whose image
        // is not on the engine (image_id null) and no container runs; `up` uses the engine's facts.
        const services = selectServices(deployment(), profiles, wanted);
        const facts = { imageId: null, containerIdOf: () => null };
        return writeLines(ctx, services.map((s) => `${s.name} ${configHash(s.configHash, facts).hash}`));
      }
      const data = projectToCompose(project, { escapeDollar: opts.interpolate, ...(declaresName ? { name: project.name } : {}) });
      const models = topLevelModels(files);
      if (models) data['models'] = models;
      const text = opts.format === 'json' ? `${JSON.stringify(data, null, 2)}\n` : toYaml(data);
      if (opts.output !== undefined) writeWhole(resolve(ctx.cwd, opts.output), text);
      else ctx.stdout.write(text);
    });
}

/** The project with every service's image pinned to its digest, resolved through the engine. */
async function pinImages(ctx: CliContext, global: GlobalOptions, project: ComposeProject): Promise<ComposeProject> {
  const { EngineDigestResolver, needsEngine, resolveProjectDigests } = await import('../../bundle/engine-resolver.js');
  let digests: Map<string, string>;
  if (!needsEngine(project)) {
    const { pinnedOnlyResolver } = await import('../../bundle/digests.js');
    digests = await resolveProjectDigests(project.services, pinnedOnlyResolver);
  } else {
    const { openEngine } = await import('../../engine/select.js');
    const engine = await openEngine({ engine: global.engine, host: global.host, env: ctx.env });
    try {
      digests = await resolveProjectDigests(project.services, new EngineDigestResolver(engine));
    } finally {
      engine.close();
    }
  }
  return { ...project, services: project.services.map((s) => ({ ...s, image: digests.get(s.name) ?? s.image })) };
}

/**
 * The Compose Specification's top-level `models` (a later file's entry replaces an earlier one),
 * printed as v2 prints them; Flotilla does not run models, so they stay out of the Project.
 */
function topLevelModels(files: readonly ComposeFile[]): Record<string, unknown> | undefined {
  let out: Record<string, unknown> | undefined;
  for (const f of files) {
    const models = f.format.family === 'spec' ? f.doc['models'] : undefined;
    if (models && typeof models === 'object' && !Array.isArray(models)) out = { ...out, ...(models as Record<string, unknown>) };
  }
  return out;
}

/** The file is replaced whole or left as it was: written beside it, then renamed over it. */
function writeWhole(path: string, text: string): void {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    writeFileSync(temp, text);
    renameSync(temp, path);
  } catch (e) {
    rmSync(temp, { force: true });
    const reason = e instanceof Error && 'code' in e ? String((e as NodeJS.ErrnoException).code) : String(e);
    throw new UsageError(`cannot write ${path}: ${reason}`);
  }
}

function writeLines(ctx: CliContext, lines: string[]): void {
  if (lines.length > 0) ctx.stdout.write(`${lines.join('\n')}\n`);
}
