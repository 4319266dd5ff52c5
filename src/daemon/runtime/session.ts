/**
 * Running a runc client (`runc exec` or a foreground `runc run`) with its streams handed to the
 * caller. Without a TTY, runc passes our pipes to the process itself. With a TTY, runc needs a
 * real terminal of its own (it refuses otherwise, and Node cannot make one), so it runs under
 * util-linux `script`, whose pty becomes runc's terminal; runc copies between it and the
 * container's pty and follows its size (SIGWINCH), so resizing means setting the size of
 * script's pty (`stty -F /dev/pts/N rows R cols C`). runc prints one stray NUL byte on the
 * terminal first; it is dropped.
 *
 * runc's own errors go to a JSON log file (--log), so they are told apart from the process's
 * output: a process that could not be started gets Docker's exit codes (127 not found, 126 not
 * executable) and runc's message on its error stream.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, readlink } from 'node:fs/promises';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { run } from '../command.js';
import { parseSignal } from './signals.js';
import type { ExecSession } from './types.js';

export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** runc's error records from a --log-format json file (the last one is the reason). */
export async function runcLogErrors(logFile: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(logFile, 'utf8');
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const rec = JSON.parse(line) as { level?: string; msg?: string };
      if ((rec.level === 'error' || rec.level === 'fatal') && rec.msg) out.push(rec.msg);
    } catch {
      // not a JSON record
    }
  }
  return out;
}

/** The exit code Docker gives for a process runc could not start (null: it started). */
export function startFailureCode(message: string): number | null {
  if (!/(exec|run|create|start) failed|unable to start container process/.test(message)) return null;
  if (/exec: ".*": (executable file not found|no such file or directory)/.test(message)) return 127;
  return 126;
}

/** Drops the NUL byte runc writes on the terminal before the first output. */
function dropLeadingNul(): Transform {
  let first = true;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (first && chunk.length > 0) {
        first = false;
        if (chunk[0] === 0) chunk = chunk.subarray(1);
      }
      done(null, chunk);
    },
  });
}

/** The pty `script` made for its child: the child's stdin, /dev/pts/N. */
async function scriptPty(script: ChildProcess): Promise<string | null> {
  const pid = script.pid;
  if (!pid) return null;
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      const children = (await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8')).trim().split(/\s+/).filter(Boolean);
      for (const child of children) {
        const target = await readlink(`/proc/${child}/fd/0`).catch(() => '');
        if (target.startsWith('/dev/pts/')) return target;
      }
    } catch {
      return null; // script has ended
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return null;
}

export interface ClientOptions {
  /** The runc command line, with `--log <logFile> --log-format json`. */
  argv: string[];
  logFile: string;
  tty: boolean;
  stdin: boolean;
  /** Signals the process in the container (the client's own signal would not reach it). */
  kill: (signal: NodeJS.Signals) => void | Promise<void>;
  /** Called with the exit code once the output has ended, before `exit` resolves; may change it. */
  finish?: (code: number, errors: string[]) => Promise<number> | number;
  /** Sees every chunk of output as it comes (for the log of attached runs). */
  tee?: (stream: 'stdout' | 'stderr', chunk: Buffer) => void;
}

export interface RunningClient {
  session: ExecSession;
  child: ChildProcess;
}

export function startClient(o: ClientOptions): RunningClient {
  let child: ChildProcess;
  if (o.tty) {
    // runc makes script's terminal raw itself, but only once it has attached: input written
    // before that would be echoed back. Raw first. (About 1 run in 40 still shows a line end
    // as \r\r\n, which a terminal renders the same; the cause is not found yet.)
    const command = `stty raw -echo 2>/dev/null; exec ${o.argv.map(shellQuote).join(' ')} 2>>${shellQuote(o.logFile)}.stderr`;
    // stdin stays a pipe even when not attached: at the end of its input script ends the terminal's
    // input too, and a shell would then exit at once.
    child = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, SHELL: '/bin/sh' }, detached: true });
  } else {
    const [command, ...args] = o.argv as [string, ...string[]];
    child = spawn(command, args, { stdio: [o.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'], detached: true });
  }
  const stdout = new PassThrough();
  const stderr = o.tty ? null : new PassThrough();
  const source: Readable = o.tty ? (child.stdout as Readable).pipe(dropLeadingNul()) : (child.stdout as Readable);
  source.on('data', (d: Buffer) => o.tee?.('stdout', d));
  source.pipe(stdout, { end: false });
  if (o.tty) {
    child.stderr?.resume(); // script's own complaints, if any
  } else {
    child.stderr?.on('data', (d: Buffer) => o.tee?.('stderr', d));
    child.stderr?.pipe(stderr as PassThrough, { end: false });
  }
  const stdin = o.stdin ? child.stdin : null;
  stdin?.on('error', () => undefined); // the process may end before reading its input
  if (!o.stdin && !o.tty) child.stdin?.destroy();

  const exit = new Promise<number>((resolve) => {
    let spawnError: Error | null = null;
    child.on('error', (e) => {
      spawnError = e;
    });
    child.on('close', (code, signal) => {
      void (async () => {
        let exitCode = code ?? (signal ? 128 + parseSignal(signal).number : 255);
        const errors = await runcLogErrors(o.logFile);
        const reason = errors[errors.length - 1];
        if (spawnError) {
          exitCode = 126;
          (stderr ?? stdout).write(`${spawnError.message}\n`);
        } else if (reason !== undefined) {
          const failed = startFailureCode(reason);
          if (failed !== null) {
            exitCode = failed;
            // Without a TTY runc printed it on stderr already.
            if (o.tty) stdout.write(`${reason}\r\n`);
          }
        }
        if (o.finish) exitCode = await o.finish(exitCode, errors);
        if (o.tty) child.stdin?.destroy();
        stdout.end();
        stderr?.end();
        resolve(exitCode);
      })();
    });
  });

  let ptyPath: Promise<string | null> | null = null;
  const session: ExecSession = {
    stdin,
    stdout,
    stderr,
    async resize(rows: number, columns: number) {
      if (!o.tty) return;
      ptyPath ??= scriptPty(child);
      const pty = await ptyPath;
      if (!pty) return;
      await run(['stty', '-F', pty, 'rows', String(Math.max(0, Math.floor(rows))), 'cols', String(Math.max(0, Math.floor(columns)))], { allowFailure: true, timeout: 10_000 });
    },
    kill(signal: NodeJS.Signals = 'SIGKILL') {
      void Promise.resolve(o.kill(signal)).catch(() => undefined);
    },
    exit,
  };
  return { session, child };
}
