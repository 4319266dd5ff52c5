/**
 * `flotilla run SERVICE [COMMAND...]`: a one-off container for a service, as docker-compose runs
 * it: dependencies started first (never recreated; not with --no-deps), the service's image,
 * networks and volumes prepared, a container named `<project>_<service>_run_<12 hex>` labelled
 * oneoff=True, with the service's settings except restart and published ports (unless
 * --service-ports or -p), the command, entrypoint, environment, labels, user, workdir and volumes
 * given on the command line. Attached by default (stdin included, a TTY when stdin is one and -T
 * is not given); the container's exit status is flotilla's; --rm removes it afterwards.
 */
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import type { ComposeService } from '../../compose/document.js';
import { emitService } from '../../compose/emit/service.js';
import { preparePlan, prepareService, up } from '../../execute/up.js';
import { ContainerRegistry } from '../../execute/containers.js';
import { dependencyNames } from '../../model/select.js';
import { containerSpec } from '../../plan/container-spec.js';
import { observeContainers } from '../../execute/observe.js';
import { parsePort, PortSyntaxError } from '../../compose/syntax/ports.js';
import { parseShortVolume, resolveShortVolume } from '../../compose/syntax/volumes.js';
import { isPlainObject } from '../../compose/yaml/read.js';
import { randomHex } from '../../util/lazy-crypto.js';
import { withRuntime } from '../project.js';
import { ExitCode } from '../exit.js';
import { connectTerminal } from '../terminal-session.js';
import type { CliContext, GlobalOptions } from '../context.js';

interface RunFlags {
  detach?: boolean;
  name?: string;
  entrypoint?: string;
  env: string[];
  label: string[];
  user?: string;
  deps: boolean;
  rm?: boolean;
  publish: string[];
  servicePorts?: boolean;
  useAliases?: boolean;
  volume: string[];
  T?: boolean;
  workdir?: string;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** The service as the one-off container runs it (Compose-shaped: the flags are Compose syntax). */
function oneOffService(service: ComposeService, command: string[], flags: RunFlags, ctx: CliContext, home: string): ComposeService {
  const s: ComposeService = { ...service };
  if (command.length > 0) s.command = command;
  else if (flags.entrypoint !== undefined) delete s.command;
  if (flags.entrypoint !== undefined) s.entrypoint = flags.entrypoint === '' ? [''] : flags.entrypoint;
  const env = { ...(service.environment ?? {}) };
  for (const e of flags.env) {
    const eq = e.indexOf('=');
    if (eq === -1) env[e] = ctx.env[e] ?? null;
    else env[e.slice(0, eq)] = e.slice(eq + 1);
  }
  s.environment = env;
  const labels = { ...(service.labels ?? {}) };
  for (const l of flags.label) {
    const eq = l.indexOf('=');
    labels[eq === -1 ? l : l.slice(0, eq)] = eq === -1 ? '' : l.slice(eq + 1);
  }
  s.labels = labels;
  // A one-off container is never restarted (docker-compose issue #6302).
  delete s.restart;
  if (isPlainObject(s.deploy) && 'restart_policy' in s.deploy) {
    const { restart_policy: _dropped, ...rest } = s.deploy;
    s.deploy = rest;
  }
  if (flags.user !== undefined) s.user = flags.user;
  if (flags.workdir !== undefined) s.working_dir = flags.workdir;
  if (!flags.servicePorts) delete s.ports;
  if (flags.publish.length > 0) {
    try {
      s.ports = flags.publish.flatMap((p) => parsePort(p));
    } catch (e) {
      if (e instanceof PortSyntaxError) throw new UsageError(e.message);
      throw e;
    }
  }
  if (flags.volume.length > 0) {
    const extra = flags.volume.map((v) => parseShortVolume(resolveShortVolume(v, ctx.cwd, home)));
    const targets = new Set(extra.map((v) => v.target));
    s.volumes = [...(service.volumes ?? []).filter((v) => !targets.has(v.target)), ...extra];
  }
  s.tty = !(flags.detach || flags.T || process.stdin.isTTY !== true);
  s.stdin_open = service.stdin_open ?? true;
  return s;
}

export function registerRun(program: Command, ctx: CliContext, global: () => GlobalOptions): void {
  program
    .command('run')
    .description('Run a one-off command on a service')
    .argument('<service>')
    .argument('[command...]')
    .option('-d, --detach', 'run the container in the background and print its name')
    .option('--name <name>', 'name of the container')
    .option('--entrypoint <cmd>', "override the image's entrypoint")
    .option('-e, --env <key=val>', 'set an environment variable (repeatable)', collect, [])
    .option('-l, --label <key=val>', 'add or override a label (repeatable)', collect, [])
    .option('-u, --user <user>', 'run as this user')
    .option('--no-deps', "don't start linked services")
    .option('--rm', 'remove the container after the run (ignored with -d)')
    .option('-p, --publish <port>', 'publish a container port (repeatable)', collect, [])
    .option('--service-ports', "publish the service's ports")
    .option('--use-aliases', "use the service's network aliases")
    .option('-v, --volume <volume>', 'bind-mount a volume (repeatable)', collect, [])
    .option('-T', 'disable pseudo-TTY allocation (default: a TTY when stdin is one)')
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .passThroughOptions()
    .action((serviceName: string, command: string[], flags: RunFlags) =>
      withRuntime(ctx, global(), { checkBuildContext: true }, async (rt, loaded) => {
        const service = loaded.project.services.find((s) => s.name === serviceName);
        const typed = rt.deployment.services.find((s) => s.name === serviceName);
        if (!service || !typed) throw new UsageError(`no such service: ${serviceName}`);
        if (flags.publish.length > 0 && flags.servicePorts) {
          throw new UsageError('ComposeService port mapping and manual port mapping can not be used together');
        }
        const deps = dependencyNames(typed);
        const dryRun = rt.dryRun;
        if (flags.deps && deps.length > 0) {
          const result = await up(rt, {
            services: deps,
            noDeps: false,
            strategy: 'never',
            alwaysRecreateDeps: false,
            scale: {},
            removeOrphans: false,
            build: 'when-missing',
            renewAnonymousVolumes: false,
            start: true,
            dryRun: dryRun !== undefined,
            wait: false,
          });
          if (dryRun && result.plan.steps.length > 0) dryRun(result.plan);
        }
        if (dryRun) {
          const plan = await preparePlan(rt, typed);
          if (plan.steps.length > 0) dryRun(plan);
        } else await prepareService(rt, typed);

        const home = ctx.env['HOME'] ?? '/';
        const problems: string[] = [];
        const oneOff = emitService(loaded.project, oneOffService(service, command, flags, ctx, home), ctx.cwd, (keyPath, message) =>
          problems.push(`${keyPath.join('.')}: ${message}`),
        );
        if (problems.length > 0) throw new UsageError(problems[0] as string);
        const registry = new ContainerRegistry(await observeContainers(rt.engine, rt.deployment.name));
        const slug = randomHex(32);
        const spec = containerSpec(oneOff, {
          deployment: rt.deployment,
          oneOff: flags.name !== undefined ? { slug, name: flags.name, useAliases: flags.useAliases === true } : { slug, useAliases: flags.useAliases === true },
          containersOf: (s) => registry.refs(s),
        });
        if (dryRun) {
          const what = [...(spec.entrypoint ?? []), ...(spec.command ?? [])];
          ctx.stdout.write(`create ${spec.name}: one-off container of ${serviceName}${what.length > 0 ? ` running ${JSON.stringify(what)}` : ''}\n`);
          ctx.stdout.write(`start ${spec.name}: ${flags.detach ? 'detached' : 'attached to this terminal'}\n`);
          if (flags.rm && !flags.detach) ctx.stdout.write(`remove ${spec.name}: --rm, when it exits\n`);
          return;
        }
        const id = await rt.engine.createContainer(spec);
        if (flags.detach) {
          await rt.engine.startContainer(id);
          ctx.stdout.write(`${spec.name}\n`);
          return;
        }
        let code: number;
        let interrupts = 0;
        const onSignal = () => {
          interrupts++;
          if (interrupts === 1) void rt.engine.stopContainer(id).catch(() => {});
          else void rt.engine.killContainer(id).catch(() => {});
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
        try {
          const session = await rt.engine.attachContainer(id, { stdin: oneOff.stdinOpen, tty: oneOff.tty });
          await rt.engine.startContainer(id);
          code = await connectTerminal(session, { tty: oneOff.tty, stdin: oneOff.stdinOpen, stdout: ctx.stdout, stderr: ctx.stderr });
          if (interrupts > 0) code = interrupts > 1 ? 2 : 1;
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          if (flags.rm) await rt.engine.removeContainer(id, { force: true, volumes: true }).catch(() => {});
        }
        if (code !== 0) throw new ExitCode(code);
      }),
    );
}
