/**
 * conmon, the per-container monitor: it runs `runc create`, stays the container's parent, writes
 * its output to the k8s-file log, its exit code to the exit dir and the OOM flag to the persist
 * dir. It daemonizes (own session, parent PID 1), so the container outlives the daemon; the daemon
 * must never kill it (research pitfall 5).
 *
 * The sync pipe (_OCI_SYNCPIPE=3) tells when the container exists: conmon writes
 * {"data": <pid>} after `runc create`, or {"data": -1, "message": "..."} when it failed.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { EngineError } from '../../contract/errors.js';
import type { ContainerFiles } from './layout.js';
import { logrusMessage } from './runc.js';

export interface ConmonOptions {
  id: string;
  files: ContainerFiles;
  runcRoot: string;
  runcPath: string;
  exitDir: string;
  socketDir: string;
  logPath: string | null;
  tty: boolean;
  openStdin: boolean;
}

export function conmonArgs(o: ConmonOptions): string[] {
  const args = [
    '--api-version', '1',
    '-c', o.id, '-u', o.id, '-n', o.id,
    '-r', o.runcPath,
    '--runtime-arg', '--root', '--runtime-arg', o.runcRoot,
    '-b', o.files.bundle,
    '-p', o.files.pid,
    '-P', o.files.conmonPid,
    '-l', o.logPath ? `k8s-file:${o.logPath}` : 'none',
    '--exit-dir', o.exitDir,
    '--persist-dir', o.files.persist,
    '--socket-dir-path', o.socketDir,
    // conmon knows error, warn, info, debug and trace ("quiet" is refused).
    '--log-level', 'error',
  ];
  if (o.tty) args.push('-t');
  if (o.openStdin) args.push('-i');
  return args;
}

interface SyncMessage {
  data?: number;
  message?: string;
}

/** conmon's one-line messages ("[conmon:e]: ..."), for when the sync pipe says nothing. */
function conmonStderr(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').filter(Boolean).slice(-3).join('; ');
  } catch {
    return '';
  }
}

/** Spawns conmon and waits for the container to be created; returns the container's pid. */
export function spawnConmon(o: ConmonOptions, timeoutMs = 60_000): Promise<number> {
  // conmon's own stderr goes to a file: a pipe to us would break when the daemon goes away.
  const errFd = openSync(o.files.conmonLog, 'w');
  return new Promise<number>((resolve, reject) => {
    let child;
    try {
      child = spawn('conmon', conmonArgs(o), {
        stdio: ['ignore', 'ignore', errFd, 'pipe'],
        detached: true,
        // conmon also writes an `oom` file in its working directory: keep it in the persist dir
        // (where it writes its own copy), which each start clears, never the daemon's cwd.
        cwd: o.files.persist,
        env: { ...process.env, _OCI_SYNCPIPE: '3' },
      });
    } finally {
      closeSync(errFd);
    }
    child.unref();
    const pipe = child.stdio[3] as NodeJS.ReadableStream & { destroy(): void };
    let text = '';
    let settled = false;
    const finish = (error: EngineError | null, pid?: number) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      pipe.destroy();
      if (error) reject(error);
      else resolve(pid as number);
    };
    const timer = setTimeout(() => finish(new EngineError('engine', `conmon gave no answer within ${timeoutMs / 1000}s ${conmonStderr(o.files.conmonLog)}`.trim())), timeoutMs);
    pipe.on('data', (d: Buffer) => {
      text += d.toString('utf8');
      for (const line of text.split('\n')) {
        const trimmed = line.trim();
        if (!trimmed.startsWith('{') || !trimmed.endsWith('}')) continue;
        let msg: SyncMessage;
        try {
          msg = JSON.parse(trimmed) as SyncMessage;
        } catch {
          continue;
        }
        if (typeof msg.data !== 'number') continue;
        if (msg.data > 0) finish(null, msg.data);
        else finish(createError(msg.message ?? (conmonStderr(o.files.conmonLog) || 'conmon could not create the container')));
        return;
      }
    });
    pipe.on('error', () => undefined);
    pipe.on('end', () => finish(new EngineError('engine', `conmon failed: ${conmonStderr(o.files.conmonLog) || 'it closed the sync pipe without an answer'}`)));
    child.on('error', (e) => finish(new EngineError('engine', `cannot run conmon: ${e.message}`)));
  });
}

/**
 * The failure of `runc create` as conmon reports it, e.g. `runc create failed: unable to start
 * container process: exec: "nope": executable file not found in $PATH`: 'invalid' when the command
 * cannot be run (not found, not executable), 'engine' otherwise.
 */
export function createError(message: string): EngineError {
  // conmon passes runc's stderr on: a logrus record.
  const text = logrusMessage(message).replace(/^runc create failed: /, '').replace(/^unable to start container process: /, '');
  const invalid = /exec: .*(executable file not found|no such file or directory|permission denied|exec format error)|no such file or directory: unknown|chdir to cwd/i.test(text);
  return new EngineError(invalid ? 'invalid' : 'engine', text);
}
