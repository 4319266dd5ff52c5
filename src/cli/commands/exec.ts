/**
 * `flotilla exec SERVICE COMMAND [ARGS...]`: run a command in a running container of a service
 * (--index picks among several; 1 by default). A TTY when stdin is one (unless -T); stdin is
 * passed to the command; the command's exit status is flotilla's. Unlike docker-compose, errors
 * (no such service, no running container) are printed, not swallowed. With --dry-run: the
 * container is looked up and the exec printed, not run.
 */
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { observeContainers } from '../../execute/observe.js';
import { withRuntime } from '../project.js';
import { ExitCode } from '../exit.js';
import { connectTerminal } from '../terminal-session.js';
import type { CliContext, GlobalOptions } from '../context.js';

interface ExecFlags {
  detach?: boolean;
  privileged?: boolean;
  user?: string;
  T?: boolean;
  index: string;
  env: string[];
  workdir?: string;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerExec(program: Command, ctx: CliContext, global: () => GlobalOptions): void {
  program
    .command('exec')
    .description('Execute a command in a running container')
    .argument('<service>')
    .argument('<command...>')
    .option('-d, --detach', 'run the command in the background')
    .option('--privileged', 'give extended privileges to the process')
    .option('-u, --user <user>', 'run the command as this user')
    .option('-T', 'disable pseudo-TTY allocation (default: a TTY when stdin is one)')
    .option('--index <index>', 'index of the container if the service has several', '1')
    .option('-e, --env <key=val>', 'set an environment variable (repeatable)', collect, [])
    .option('-w, --workdir <dir>', 'working directory of the command')
    .passThroughOptions()
    .action((service: string, command: string[], flags: ExecFlags) =>
      withRuntime(ctx, global(), {}, async (rt) => {
        if (!rt.deployment.services.some((s) => s.name === service)) throw new UsageError(`no such service: ${service}`);
        const index = Number(flags.index);
        if (!Number.isInteger(index) || index < 1) throw new UsageError(`invalid --index "${flags.index}"`);
        const container = (await observeContainers(rt.engine, rt.deployment.name)).find(
          (c) => c.service === service && !c.oneOff && c.number === index && c.running,
        );
        if (!container) throw new ExitCode(1, `no running container for service ${service} with index ${index}`);
        const env = flags.env.map((e) => (e.includes('=') ? e : `${e}=${ctx.env[e] ?? ''}`));
        const tty = !flags.T && process.stdin.isTTY === true && !flags.detach;
        const spec = { command, env, privileged: flags.privileged === true, tty, attachStdin: !flags.detach, detach: flags.detach === true } as Parameters<typeof rt.engine.exec>[1];
        if (flags.user !== undefined) spec.user = flags.user;
        if (flags.workdir !== undefined) spec.workingDir = flags.workdir;
        if (rt.dryRun) {
          const as = [flags.user !== undefined ? `as ${flags.user}` : '', flags.workdir !== undefined ? `in ${flags.workdir}` : '', flags.privileged ? 'privileged' : ''].filter(Boolean);
          ctx.stdout.write(`exec in ${container.name}: ${JSON.stringify(command)}${as.length > 0 ? ` (${as.join(', ')})` : ''}\n`);
          return;
        }
        const session = await rt.engine.exec(container.id, spec);
        if (flags.detach) {
          session.close();
          return;
        }
        const code = await connectTerminal(session, { tty, stdin: true, stdout: ctx.stdout, stderr: ctx.stderr });
        if (code !== 0) throw new ExitCode(code);
      }),
    );
}
