/**
 * Running the host tools the daemon drives (runc, ip, iptables, mount, nsenter, ...): argv only,
 * never a shell, output captured, and a failure turned into a CommandError that names the command
 * and carries its stderr, so a caller can put the tool's own words into an EngineError.
 */
import { spawn } from 'node:child_process';

export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
    readonly signal: NodeJS.Signals | null = null,
  ) {
    const what = argv.join(' ');
    const why = stderr.trim().split('\n').filter(Boolean).pop() ?? (signal ? `killed by ${signal}` : `exit status ${exitCode}`);
    super(`${what}: ${why}`);
    this.name = 'CommandError';
  }
}

export interface RunOptions {
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Milliseconds before the command is killed (SIGKILL). */
  timeout?: number;
  /** Resolve even when the command fails (the caller looks at `code`). */
  allowFailure?: boolean;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const [command, ...args] = argv;
  if (command === undefined) throw new Error('run: empty argv');
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, {
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: options.env ?? process.env,
      cwd: options.cwd,
      timeout: options.timeout,
      killSignal: 'SIGKILL',
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (d: Buffer) => out.push(d));
    child.stderr?.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e: NodeJS.ErrnoException) => {
      reject(new CommandError(argv, null, e.code === 'ENOENT' ? `${command} is not installed (not found in PATH)` : e.message));
    });
    child.on('close', (code, signal) => {
      const result = { code: code ?? -1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
      if ((code === 0 && signal === null) || options.allowFailure) resolvePromise(result);
      else reject(new CommandError(argv, code, result.stderr, signal));
    });
    if (options.input !== undefined && child.stdin) {
      // A command may exit without reading its input; its exit status tells what happened, and
      // the EPIPE that writing to it then raises must not take the daemon down.
      child.stdin.on('error', () => undefined);
      child.stdin.end(options.input);
    }
  });
}
