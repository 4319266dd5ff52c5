/**
 * `flotilla image build [-t REF]... [-f Dockerfile] [--build-arg K=V]... [--target T] [--no-cache]
 * [--pull] [--label K=V]... [--secret id=ID[,src=PATH|,env=VAR]]... [--cache-from REF]... [--network NET]
 * [--platform P] [-q] CONTEXT`:
 * a Dockerfile build on the embedded engine, with the flags of `docker build`. The build's output goes to standard error; the image id to standard
 * output. `-f` is relative to the current directory, as for docker.
 */
import type { Command } from 'commander';
import { existsSync, readFileSync, statSync } from 'node:fs';
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
  secret: string[];
  cacheFrom: string[];
  network?: string;
  platform?: string;
  quiet?: boolean;
}

/**
 * `--secret` as `docker buildx build` reads it: `id=ID` with `src=PATH` (or `source=`), or
 * `env=VAR`, `type=file|env` to say which; with neither, the variable named ID when it is set,
 * else the file ID. The contents travel to the daemon (base64), never a path it would read.
 */
export function readSecrets(values: readonly string[], cwd: string, env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const value of values) {
    const fields: Record<string, string> = {};
    for (const part of value.split(',')) {
      const eq = part.indexOf('=');
      if (eq <= 0) throw new UsageError(`invalid --secret "${value}": expected id=ID,src=PATH or id=ID,env=VAR`);
      const key = part.slice(0, eq).trim().toLowerCase();
      if (!['id', 'src', 'source', 'env', 'type'].includes(key)) throw new UsageError(`invalid --secret "${value}": unexpected key "${key}"`);
      fields[key === 'source' ? 'src' : key] = part.slice(eq + 1);
    }
    const type = fields['type'];
    if (type !== undefined && type !== 'file' && type !== 'env') throw new UsageError(`invalid --secret "${value}": type must be file or env`);
    let src = type === 'env' ? undefined : fields['src'];
    let variable = type === 'file' ? undefined : fields['env'];
    if (type === 'env' && variable === undefined) variable = fields['src'] ?? fields['id'];
    const id = fields['id'] ?? (src !== undefined ? src.split('/').pop() : variable);
    if (!id) throw new UsageError(`invalid --secret "${value}": an id is needed`);
    if (src === undefined && variable === undefined) {
      if (type !== 'file' && env[id] !== undefined) variable = id;
      else src = id;
    }
    if (variable !== undefined) {
      const v = env[variable];
      if (v === undefined) throw new UsageError(`--secret ${id}: the environment variable ${variable} is not set`);
      out[id] = Buffer.from(v, 'utf8').toString('base64');
    } else {
      try {
        out[id] = readFileSync(resolve(cwd, src!)).toString('base64');
      } catch (e) {
        throw new UsageError(`--secret ${id}: cannot read ${src}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
      }
    }
  }
  return out;
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
    .option('--secret <id=ID,src=PATH>', 'a secret for RUN --mount=type=secret: id=ID with src=PATH or env=VAR (repeatable)', collect, [])
    .option('--cache-from <ref>', 'an image whose inline build cache the build may use (pulled when missing; repeatable)', collect, [])
    .option('--network <mode>', 'the network of RUN steps: default (the bridge), none, host or a network\'s name')
    .option('--platform <os/arch>', 'the platform to build for (only the engine\'s own)')
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
      const secrets = readSecrets(flags.secret, ctx.cwd, ctx.env);
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
            cacheFrom: flags.cacheFrom,
            ...(flags.network ? { network: flags.network } : {}),
            extraHosts: [],
            noCache: !flags.cache,
            pull: flags.pull === true,
            ...(Object.keys(secrets).length > 0 ? { secrets } : {}),
            ...(flags.platform ? { platform: flags.platform } : {}),
          },
          flags.quiet ? undefined : (e) => ctx.stderr.write(`${e.status}\n`),
        );
        ctx.stdout.write(`${id}\n`);
      } finally {
        engine.close();
      }
    });
}
