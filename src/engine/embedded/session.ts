/**
 * A StreamSession (exec, attach) over one bidirectional call. The first message opens the
 * session; the promise resolves once the daemon answers `opened` (so a missing container fails
 * exec() itself, as with Docker). Input goes as `stdin` messages and `stdin_end`; each resize is
 * answered in order by a `resized`; the output ends with the exit code.
 *
 * The replies are read as they come, into a queue the output iterator drains; reading pauses
 * while the queue is long, unless a resize or the exit code is awaited (those answers are behind
 * the output, so they must not wait for a reader).
 */
import { Writable } from 'node:stream';
import type { ClientDuplexStream } from '@grpc/grpc-js';
import type { LogChunk, StreamSession } from '../../contract/engine.js';
import { EngineError } from '../../contract/errors.js';
import { DATA_PIECE, type RpcChannel } from './channel.js';
import { isKind } from '../../contract/protocol/status.js';

/** Replies queued before reading pauses. */
const HIGH_WATER = 64;

type Reply =
  | { opened: object }
  | { chunk: LogChunk }
  | { resized: { error?: { kind: string; message: string } } }
  | { exitCode: number };

interface Pending<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function openSession(channel: RpcChannel, rpc: string, open: unknown, stdin: boolean): Promise<StreamSession> {
  const call: ClientDuplexStream<unknown, unknown> = channel.duplex(rpc);
  const queue: LogChunk[] = [];
  const resizes: Pending<void>[] = [];
  let wake: (() => void) | undefined;
  let opened: Pending<StreamSession> | undefined;
  let exitCode: number | undefined;
  let failure: unknown;
  let ended = false;
  let closed = false;
  let exitWanted = false;
  const exitWaiters: Pending<number>[] = [];

  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const flowControl = () => {
    if (queue.length >= HIGH_WATER && resizes.length === 0 && !exitWanted) call.pause();
    else call.resume();
  };

  /** The call is over: settle everything still waiting. */
  const finish = (error?: unknown) => {
    if (ended) return;
    ended = true;
    if (error !== undefined && exitCode === undefined) failure = error;
    const why = failure ?? (closed ? new EngineError('engine', 'the session was closed') : new EngineError('engine', 'the Flotilla daemon ended the session without an exit code'));
    opened?.reject(why);
    for (const r of resizes.splice(0)) r.reject(why);
    for (const w of exitWaiters.splice(0)) {
      if (exitCode !== undefined) w.resolve(exitCode);
      else w.reject(why);
    }
    notify();
  };

  call.on('data', (reply: Reply) => {
    if ('opened' in reply) {
      opened?.resolve(session);
      opened = undefined;
    } else if ('chunk' in reply) {
      queue.push(reply.chunk);
      notify();
    } else if ('resized' in reply) {
      const r = resizes.shift();
      const error = reply.resized.error;
      if (error) r?.reject(new EngineError(isKind(error.kind) ? error.kind : 'engine', error.message));
      else r?.resolve();
    } else if ('exitCode' in reply) {
      exitCode = reply.exitCode;
      for (const w of exitWaiters.splice(0)) w.resolve(reply.exitCode);
      call.end();
    }
    flowControl();
  });
  call.on('error', (e: unknown) => finish(closed ? undefined : channel.error(e)));
  call.on('end', () => finish());

  const input = stdin
    ? new Writable({
        write(chunk: Buffer, _encoding, callback) {
          if (ended || closed || exitCode !== undefined || chunk.length === 0) return callback();
          const last = Math.floor((chunk.length - 1) / DATA_PIECE) * DATA_PIECE;
          for (let at = 0; at <= last; at += DATA_PIECE) {
            // Failures of the call surface through the output and the exit code, not here.
            call.write({ stdin: chunk.subarray(at, at + DATA_PIECE) }, at === last ? () => callback() : undefined);
          }
        },
        final(callback) {
          if (!ended && !closed && exitCode === undefined) call.write({ stdinEnd: {} });
          callback();
        },
      })
    : null;

  async function* output(): AsyncGenerator<LogChunk> {
    for (;;) {
      const chunk = queue.shift();
      if (chunk !== undefined) {
        flowControl();
        yield chunk;
        continue;
      }
      if (ended || exitCode !== undefined) {
        if (failure !== undefined && !closed) throw failure;
        return;
      }
      await new Promise<void>((resolve) => (wake = resolve));
    }
  }

  const session: StreamSession = {
    output: output(),
    input,
    resize(rows, columns) {
      if (ended || closed || exitCode !== undefined) return Promise.reject(new EngineError('conflict', 'the session has ended'));
      return new Promise<void>((resolve, reject) => {
        resizes.push({ resolve, reject });
        flowControl();
        call.write({ resize: { rows, columns } });
      });
    },
    exitCode() {
      exitWanted = true;
      flowControl();
      if (exitCode !== undefined) return Promise.resolve(exitCode);
      if (ended) return Promise.reject(failure ?? new EngineError('engine', 'the session ended without an exit code'));
      return new Promise<number>((resolve, reject) => exitWaiters.push({ resolve, reject }));
    },
    close() {
      if (closed) return;
      closed = true;
      call.cancel();
      finish();
    },
  };

  return new Promise<StreamSession>((resolve, reject) => {
    opened = { resolve, reject };
    call.write({ open });
  });
}
