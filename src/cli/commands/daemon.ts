/**
 * `flotilla daemon` runs the embedded engine's daemon in the foreground (the CLI starts it
 * detached when needed); `daemon status` describes the running one, `daemon stop` stops it
 * (containers keep running).
 */
import type { Command } from 'commander';
import { setTimeout as sleep } from 'node:timers/promises';
import { FlotillaError } from '../../errors.js';
import { daemonPaths } from '../../daemon/paths.js';
import { isDaemonProcess } from '../../daemon/lock.js';
import { ExitCode } from '../exit.js';
import type { CliContext, GlobalOptions } from '../context.js';

const STOP_WAIT_MS = 30_000;

/** The client is loaded only when needed: gRPC is a large module other commands do without. */
const client = () => import('../../engine/embedded/index.js');
const probe = () => import('../../engine/embedded/probe.js');

export function registerDaemon(program: Command, ctx: CliContext, _global: () => GlobalOptions): void {
  const daemon = program
    .command('daemon')
    .description("Run the embedded engine's daemon in the foreground (status and stop manage a running one)")
    .action(async () => {
      const { runDaemon, DaemonStartError } = await import('../../daemon/main.js');
      const { daemonHooks } = await import('../../daemon/assemble.js');
      try {
        const code = await runDaemon(ctx.env, daemonHooks);
        if (code !== 0) throw new ExitCode(code);
      } catch (e) {
        if (e instanceof DaemonStartError) throw new FlotillaError(e.message);
        throw e;
      }
    });

  daemon
    .command('status')
    .description("Show the embedded engine daemon's state (exit status 1 when it is not running)")
    .action(async () => {
      const paths = daemonPaths(ctx.env);
      const { probeSocket } = await probe();
      const { EmbeddedEngine } = await client();
      if ((await probeSocket(paths.socket)) !== null) {
        ctx.stdout.write(`not running (no answer on ${paths.socket})\n`);
        throw new ExitCode(1);
      }
      const engine = new EmbeddedEngine(paths.socket);
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
      const paths = daemonPaths(ctx.env);
      const { probeSocket } = await probe();
      const { EmbeddedEngine } = await client();
      if ((await probeSocket(paths.socket)) !== null) {
        ctx.stdout.write('not running\n');
        return;
      }
      const engine = new EmbeddedEngine(paths.socket);
      let pid: number;
      try {
        pid = (await engine.status()).pid;
        await engine.shutdown();
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
