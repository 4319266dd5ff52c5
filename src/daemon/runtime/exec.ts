/**
 * `docker exec`: a process in a running container through `runc exec --process <file>`, the
 * process being the container's own (from its config.json) with the exec's command, environment,
 * user, working directory and, when privileged, every capability the daemon has. `--pid-file`
 * gives the host pid of the process: killing the runc client with SIGKILL would leave the process
 * running in the container (research pitfall 7), so kill() signals that pid.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import type { ExecSpec } from '../../contract/engine.js';
import { EngineError } from '../../contract/errors.js';
import { CAPABILITY_NAMES } from './capabilities.js';
import type { ContainerFiles } from './layout.js';
import { mergeEnv, resolveUser } from './process-config.js';
import { readContainerFile } from './rootfs.js';
import { runcArgv } from './runc.js';
import { startClient } from './session.js';
import type { OciProcess, OciSpec } from './spec.js';
import type { BundleMeta, ExecSession } from './types.js';

export interface ExecContext {
  id: string;
  runcRoot: string;
  files: ContainerFiles;
  meta: BundleMeta;
  daemonCapabilities: ReadonlySet<string>;
}

export async function execProcess(ctx: ExecContext, spec: ExecSpec): Promise<OciProcess> {
  if (spec.command.length === 0) throw new EngineError('invalid', 'exec needs a command');
  const config = JSON.parse(await readFile(ctx.files.config, 'utf8')) as OciSpec;
  const base = config.process;
  const tty = spec.tty && !spec.detach;
  const process: OciProcess = {
    ...base,
    terminal: tty,
    args: [...spec.command],
    env: mergeEnv(base.env, tty ? ['TERM=xterm'] : [], spec.env),
    cwd: spec.workingDir || base.cwd,
  };
  if (!process.cwd.startsWith('/')) throw new EngineError('invalid', `the working directory ${JSON.stringify(process.cwd)} is invalid: it needs to be an absolute path`);
  if (spec.user) {
    const files = { passwd: await readContainerFile(ctx.files.rootfs, '/etc/passwd'), group: await readContainerFile(ctx.files.rootfs, '/etc/group') };
    const user = resolveUser(spec.user, files, ctx.meta.groupAdd);
    process.user = { uid: user.uid, gid: user.gid };
    if (user.additionalGids.length > 0) process.user.additionalGids = user.additionalGids;
  }
  if (spec.privileged) {
    const all = CAPABILITY_NAMES.filter((c) => ctx.daemonCapabilities.has(c)).map((c) => `CAP_${c}`);
    process.capabilities = { bounding: all, effective: all, permitted: all };
  }
  return process;
}

function readPid(file: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
    return pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

export async function startExec(ctx: ExecContext, spec: ExecSpec): Promise<ExecSession> {
  const process = await execProcess(ctx, spec);
  const stem = `${ctx.files.ctr}/exec-${randomBytes(6).toString('hex')}`;
  const files = { process: `${stem}.json`, pid: `${stem}.pid`, log: `${stem}.log` };
  const cleanup = () => Promise.all([files.process, files.pid, files.log, `${files.log}.stderr`].map((f) => rm(f, { force: true })));
  await writeFile(files.process, JSON.stringify(process));
  // A detached exec is run like any other, its output dropped: runc stays its parent, so its exit
  // code is known when it ends (`exec -d` returns at once; the Engine's exitCode() waits for it).
  const argv = runcArgv(ctx.runcRoot, ['--log-format', 'json', 'exec', '--process', files.process, '--pid-file', files.pid, ctx.id], files.log);

  let exited = false;
  const { session, child } = startClient({
    argv,
    logFile: files.log,
    tty: process.terminal,
    stdin: spec.attachStdin && !spec.detach,
    async kill(signal) {
      // The pid file appears once runc has started the process.
      for (let i = 0; i < 500 && !exited; i++) {
        const pid = readPid(files.pid);
        if (pid !== null) {
          try {
            globalThis.process.kill(pid, signal);
          } catch {
            // already gone
          }
          return;
        }
        await new Promise((r) => setTimeout(r, 10));
      }
      if (!exited) child.kill(signal);
    },
    async finish(code) {
      exited = true;
      await cleanup();
      return code;
    },
  });
  child.once('exit', () => {
    exited = true;
  });
  if (!spec.detach) return session;
  session.stdout.resume();
  session.stderr?.resume();
  const none = new PassThrough();
  none.end();
  return { ...session, stdin: null, stdout: none, stderr: null };
}
