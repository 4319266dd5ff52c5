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
  /** Bytes that, typed in this order, end the session without stopping the process (`attach`); resolves 0. */
  detachKeys?: readonly number[];
}

export async function connectTerminal(session: StreamSession, o: TerminalOptions): Promise<number> {
  const input = process.stdin;
  const rawTerminal = o.tty && input.isTTY === true;
  const out = process.stdout;
  const resize = () => {
    if (out.isTTY) void session.resize(out.rows, out.columns).catch(() => {});
  };
  let forwarding = false;
  let isDetached = false;
  let detach: () => void = () => {};
  const detached = new Promise<'detached'>((resolve) => {
    detach = () => {
      isDetached = true;
      resolve('detached');
    };
  });
  const keys = o.detachKeys ?? [];
  let matched = 0;
  // The detach sequence is held back while it is being typed, and sent on if it is not finished.
  const onData = (chunk: Buffer) => {
    if (keys.length === 0) {
      session.input?.write(chunk);
      return;
    }
    const out: number[] = [];
    for (const byte of chunk) {
      if (byte !== keys[matched] && matched > 0) {
        out.push(...keys.slice(0, matched));
        matched = 0;
      }
      if (byte === keys[matched]) {
        matched++;
        if (matched === keys.length) {
          // The engine gets the keys too: dockerd then ends the attach itself, leaving stdin open.
          out.push(...keys);
          matched = 0;
          input.off('data', onData);
          input.off('end', onEnd);
          if (session.input) session.input.write(Buffer.from(out), () => detach());
          else detach();
          return;
        }
      } else out.push(byte);
    }
    if (out.length > 0) session.input?.write(Buffer.from(out));
  };
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
    const pump = (async () => {
      for await (const chunk of session.output) (chunk.stream === 'stderr' ? o.stderr : o.stdout).write(chunk.data);
      // Detached: the process goes on, and waiting for its exit would keep this one alive.
      return isDetached ? 0 : session.exitCode();
    })();
    // After a detach the closed session may still fail the pump: nobody waits for it then.
    pump.catch(() => {});
    const result = await Promise.race([pump, detached]);
    return result === 'detached' ? 0 : result;
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
