/**
 * `docker run -it` style: the container runs in the foreground under `runc run --keep`, its
 * stdio piped to the session (a TTY through `script`, as for exec). There is no conmon (Node
 * cannot use conmon's SEQPACKET attach socket), so this module does conmon's other jobs itself:
 * it appends the output to the container's k8s-file log in conmon's format, and when the
 * container ends it writes the OOM flag (from the cgroup's oom_kill count, kept by --keep until
 * runc delete) and the exit file, so onExit and exitInfo work the same way.
 *
 * The run is tied to the daemon: if the daemon dies, runc loses its output pipes and the
 * container's next write kills it, with no exit file (the re-adoption sees it stopped, code unknown).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { oomKills } from './cgroups.js';
import { writeExitFile } from './exits.js';
import type { ContainerFiles } from './layout.js';
import { K8sLogWriter } from './log-writer.js';
import { runc, runcArgv } from './runc.js';
import { startClient } from './session.js';
import type { OciSpec } from './spec.js';
import type { BundleMeta, ExecSession } from './types.js';

export interface AttachedContext {
  id: string;
  runcRoot: string;
  exitDir: string;
  files: ContainerFiles;
  meta: BundleMeta;
  /** Rotation asks the writer to reopen through this registry while the run lasts. */
  writers: Map<string, K8sLogWriter>;
}

/** Makes config.json's terminal setting match the run's (a `run -it` of a service without tty:). */
async function setTerminal(configPath: string, tty: boolean): Promise<void> {
  const config = JSON.parse(await readFile(configPath, 'utf8')) as OciSpec;
  if (config.process.terminal === tty) return;
  config.process.terminal = tty;
  if (tty && !config.process.env.some((e) => e.startsWith('TERM='))) config.process.env.push('TERM=xterm');
  await writeFile(configPath, JSON.stringify(config, null, 2));
}

export async function startAttached(ctx: AttachedContext, options: { stdin: boolean; tty: boolean }): Promise<ExecSession> {
  const { files } = ctx;
  await setTerminal(files.config, options.tty);
  await mkdir(files.persist, { recursive: true });
  await Promise.all(files.oomFlags.map((f) => rm(f, { force: true })));
  const log = `${files.ctr}/run-${randomBytes(6).toString('hex')}.log`;
  const writer = ctx.meta.logPath ? new K8sLogWriter(ctx.meta.logPath) : null;
  if (writer) ctx.writers.set(ctx.id, writer);
  const argv = runcArgv(ctx.runcRoot, ['--log-format', 'json', 'run', '--keep', '--pid-file', files.pid, '--bundle', files.bundle, ctx.id], log);
  const { session } = startClient({
    argv,
    logFile: log,
    tty: options.tty,
    stdin: options.stdin,
    kill: async (signal) => {
      await runc(ctx.runcRoot, ['kill', ctx.id, signal], `kill ${ctx.id}`);
    },
    tee: writer ? (stream, chunk) => writer.write(options.tty ? 'stdout' : stream, chunk) : undefined,
    async finish(code) {
      if (ctx.writers.get(ctx.id) === writer) ctx.writers.delete(ctx.id);
      writer?.close();
      if ((await oomKills(ctx.meta.cgroupsPath)) > 0) await writeFile(files.oomFlags[0] as string, '');
      await writeExitFile(ctx.exitDir, ctx.id, code);
      await rm(log, { force: true });
      await rm(`${log}.stderr`, { force: true });
      return code;
    },
  });
  return session;
}
