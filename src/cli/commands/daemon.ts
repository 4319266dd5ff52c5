/**
 * `flotilla daemon` runs the embedded engine's daemon in the foreground (the CLI starts it
 * detached when needed); `daemon status` describes the running one, `daemon stop` stops it
 * (containers keep running).
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { setTimeout as sleep } from 'node:timers/promises';
import { FlotillaError } from '../../errors.js';
import { daemonLocation } from '../../contract/location.js';
import { isDaemonProcess } from '../../daemon/lock.js';
import { ExitCode } from '../exit.js';
import type { CliContext, GlobalOptions } from '../context.js';

const STOP_WAIT_MS = 30_000;

/** The running daemon's client, or null; loaded only here: gRPC is a large module other commands do without. */
async function runningDaemon(ctx: CliContext) {
  const { connectEmbeddedEngine } = await import('../../engine/embedded/index.js');
  return connectEmbeddedEngine({ env: ctx.env });
}

/** The pid in the daemon's pid file, when that process is a Flotilla daemon. */
function daemonPid(ctx: CliContext): number | null {
  try {
    const pid = Number(readFileSync(daemonLocation(ctx.env).pidFile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 && isDaemonProcess(pid) ? pid : null;
  } catch {
    return null;
  }
}

export function registerDaemon(program: Command, ctx: CliContext, _global: () => GlobalOptions): void {
  const daemon = program
    .command('daemon')
    .description("Run the embedded engine's daemon in the foreground (status and stop manage a running one)")
    .action(async () => {
      const { runDaemon } = await import('../../daemon/main.js');
      const { daemonHooks } = await import('../../daemon/assemble.js');
      const code = await runDaemon(ctx.env, daemonHooks);
      if (code !== 0) throw new ExitCode(code);
    });

  daemon
    .command('status')
    .description("Show the embedded engine daemon's state (exit status 1 when it is not running)")
    .action(async () => {
      const engine = await runningDaemon(ctx);
      if (!engine) {
        ctx.stdout.write(`not running (no answer on ${daemonLocation(ctx.env).socket})\n`);
        throw new ExitCode(1);
      }
      try {
        const s = await engine.status();
        const rows: [string, string][] = [
          ['pid', String(s.pid)],
          ['version', s.version],
          ['state', s.root],
          ['socket', s.socket],
          ['started', s.startedAt],
          ['containers', `${s.containers.running} running, ${s.containers.total} in all`],
          ['images', String(s.images)],
          ['networks', String(s.networks)],
          ['volumes', String(s.volumes)],
          ['memory', `${(s.rss / 1024 / 1024).toFixed(1)} MiB resident`],
        ];
        for (const [k, v] of rows) ctx.stdout.write(`${`${k}:`.padEnd(12)}${v}\n`);
      } finally {
        engine.close();
      }
    });

  daemon
    .command('stop')
    .description('Stop the embedded engine daemon; containers keep running')
    .action(async () => {
      const engine = await runningDaemon(ctx);
      if (!engine) {
        ctx.stdout.write('not running\n');
        return;
      }
      let pid: number;
      try {
        pid = (await engine.status()).pid;
        await engine.shutdown();
      } catch (e) {
        // A daemon of another version does not speak this protocol: SIGTERM stops any daemon.
        const holder = daemonPid(ctx);
        if (holder === null) throw e;
        pid = holder;
        process.kill(pid, 'SIGTERM');
      } finally {
        engine.close();
      }
      const deadline = Date.now() + STOP_WAIT_MS;
      while (isDaemonProcess(pid)) {
        if (Date.now() > deadline) throw new FlotillaError(`the daemon (pid ${pid}) did not stop within ${STOP_WAIT_MS / 1000} s`);
        await sleep(50);
      }
      ctx.stdout.write(`stopped (pid ${pid})\n`);
    });
}
