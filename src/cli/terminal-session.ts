/**
 * Connecting an exec or attach session to this process's terminal: output to stdout/stderr, our
 * stdin to the process (if it takes input), the terminal in raw mode and its size followed when
 * the session has a TTY. Resolves with the process's exit code.
 */
import type { StreamSession } from '../contract/engine.js';

export interface TerminalOptions {
  tty: boolean;
  /** Forward this process's stdin. */
  stdin: boolean;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export async function connectTerminal(session: StreamSession, o: TerminalOptions): Promise<number> {
  const input = process.stdin;
  const rawTerminal = o.tty && input.isTTY === true;
  const out = process.stdout;
  const resize = () => {
    if (out.isTTY) void session.resize(out.rows, out.columns).catch(() => {});
  };
  let forwarding = false;
  const onData = (chunk: Buffer) => session.input?.write(chunk);
  const onEnd = () => session.input?.end();
  if (o.stdin && session.input) {
    forwarding = true;
    if (rawTerminal) input.setRawMode(true);
    input.on('data', onData);
    input.once('end', onEnd);
    input.resume();
  }
  if (o.tty) {
    resize();
    out.on('resize', resize);
  }
  try {
    for await (const chunk of session.output) (chunk.stream === 'stderr' ? o.stderr : o.stdout).write(chunk.data);
    return await session.exitCode();
  } finally {
    if (forwarding) {
      input.off('data', onData);
      input.off('end', onEnd);
      if (rawTerminal) input.setRawMode(false);
      input.pause();
      // A paused stdin handle would still keep the process alive once the command is over.
      (input as NodeJS.ReadStream & { unref?: () => void }).unref?.();
    }
    if (o.tty) out.off('resize', resize);
    session.close();
  }
}
