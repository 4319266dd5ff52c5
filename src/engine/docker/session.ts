/**
 * A StreamSession over a hijacked connection (attach, exec): output demultiplexed unless there is
 * a TTY, input written straight to the connection (ending it half-closes the connection, which
 * the engine passes on as end of input), and the exit code asked for once the output has ended.
 */
import type { Socket } from 'node:net';
import { Writable } from 'node:stream';
import type { LogChunk, StreamSession } from '../../contract/engine.js';
import { demultiplex, raw } from './streams.js';

export interface SessionHooks {
  tty: boolean;
  stdin: boolean;
  resize(rows: number, columns: number): Promise<void>;
  /** Asked once the output has ended. */
  exitCode(): Promise<number>;
}

export function hijackedSession(socket: Socket, hooks: SessionHooks): StreamSession {
  let closed = false;
  const ended = new Promise<void>((resolve) => {
    socket.once('close', () => resolve());
    socket.once('end', () => resolve());
  });
  // Errors surface through the output iterator; this keeps an unread socket's error from
  // becoming an uncaught exception.
  socket.on('error', () => undefined);

  const input = hooks.stdin
    ? new Writable({
        write(chunk: Buffer, _encoding, callback) {
          if (closed) callback();
          else socket.write(chunk, (err) => callback(err ?? null));
        },
        final(callback) {
          if (!closed) socket.end();
          callback();
        },
      })
    : null;

  async function* output(): AsyncGenerator<LogChunk> {
    try {
      yield* hooks.tty ? raw(socket) : demultiplex(socket);
    } catch (e) {
      if (!closed) throw e;
    }
  }

  let exit: Promise<number> | undefined;
  return {
    output: output(),
    input,
    resize: (rows, columns) => hooks.resize(rows, columns),
    exitCode() {
      exit ??= ended.then(() => hooks.exitCode());
      return exit;
    },
    close() {
      closed = true;
      socket.destroy();
    },
  };
}
