/**
 * `flotilla attach SERVICE`: this terminal's stdin, stdout and stderr connected to a running
 * container of the service (`--index N`; 1 by default), as Compose v2's `attach`: the detach keys
 * (ctrl-p,ctrl-q unless `--detach-keys`) leave it running; Ctrl-C and SIGTERM are passed to the
 * container (not with `--no-sig-proxy`, nor on a TTY, where Ctrl-C is a key like the others);
 * flotilla exits with the container's status when it stops.
 */
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { observeContainers } from '../../execute/observe.js';
import { withRuntime } from '../project.js';
import { ExitCode } from '../exit.js';
import { connectTerminal } from '../terminal-session.js';
import type { CliContext, GlobalOptions } from '../context.js';

interface AttachFlags {
  index: string;
  stdin: boolean;
  sigProxy: boolean;
  detachKeys: string;
}

/** Docker's detach key syntax: comma-separated `a`..`z` or `ctrl-X` (X one of a-z @ [ \ ] ^ _). */
function parseDetachKeys(text: string): number[] {
  return text.split(',').map((key) => {
    const k = key.trim().toLowerCase();
    if (/^[a-z]$/.test(k)) return k.charCodeAt(0);
    const ctrl = /^ctrl-([a-z@[\\\]^_])$/.exec(k);
    if (ctrl) {
      const c = ctrl[1] as string;
      return /[a-z]/.test(c) ? c.charCodeAt(0) - 96 : c.toUpperCase().charCodeAt(0) - 64;
    }
    throw new UsageError(`invalid --detach-keys "${text}": use keys like ctrl-p,ctrl-q (a-z, or ctrl- with a-z @ [ \\ ] ^ _)`);
  });
}

export function registerAttach(program: Command, ctx: CliContext, global: () => GlobalOptions): void {
  program
    .command('attach')
    .description("Attach this terminal's input and output to a service's running container")
    .argument('<service>')
    .option('--index <n>', 'index of the container if the service has several', '1')
    .option('--no-stdin', "don't attach stdin")
    .option('--no-sig-proxy', "don't pass the signals flotilla receives to the container")
    .option('--detach-keys <keys>', 'the keys that detach, leaving the container running', 'ctrl-p,ctrl-q')
    .action((service: string, flags: AttachFlags) =>
      withRuntime(ctx, global(), {}, async (rt) => {
        if (!rt.deployment.services.some((s) => s.name === service)) throw new UsageError(`no such service: ${service}`);
        if (!/^[1-9]\d*$/.test(flags.index)) throw new UsageError(`invalid --index "${flags.index}"`);
        const index = Number(flags.index);
        const detachKeys = parseDetachKeys(flags.detachKeys);
        const container = (await observeContainers(rt.engine, rt.deployment.name)).find((c) => c.service === service && !c.oneOff && c.number === index && c.running);
        if (!container) throw new ExitCode(1, `no running container for service ${service} with index ${index}`);
        const info = await rt.engine.inspectContainer(container.id);
        const tty = info?.config.tty === true;
        const stdin = flags.stdin && info?.config.openStdin === true;
        const proxy = (signal: NodeJS.Signals) => () => void rt.engine.killContainer(container.id, signal).catch(() => {});
        const signals = flags.sigProxy && !tty ? (['SIGINT', 'SIGTERM'] as const).map((s) => [s, proxy(s)] as const) : [];
        for (const [s, handler] of signals) process.on(s, handler);
        try {
          const session = await rt.engine.attachContainer(container.id, { stdin, tty, detachKeys: flags.detachKeys.split(',').map((k) => k.trim().toLowerCase()).join(',') });
          const code = await connectTerminal(session, { tty, stdin, stdout: ctx.stdout, stderr: ctx.stderr, detachKeys });
          if (code !== 0) throw new ExitCode(code);
        } finally {
          for (const [s, handler] of signals) process.off(s, handler);
        }
      }),
    );
}
