/**
 * What every server-side handler needs: an AbortSignal that aborts when the client cancels the
 * call (or the server is forced down), writing with the client's pace, and ending a call with
 * the status of an error.
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { EventEmitter } from 'node:events';
import type { StatusObject } from '@grpc/grpc-js';
import { EngineError } from '../../contract/errors.js';
import { statusOf } from '../../contract/protocol/status.js';

export type Log = (line: string) => void;

/** Aborts when the call is cancelled. */
export function cancellation(call: EventEmitter & { cancelled: boolean }): AbortSignal {
  const controller = new AbortController();
  if (call.cancelled) controller.abort();
  else call.once('cancelled', () => controller.abort());
  return controller.signal;
}

/** Writes one message, waiting while the client is behind; rejects once the call is cancelled. */
export async function send(call: Writable, message: unknown, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  if (!call.write(message)) await once(call, 'drain', { signal });
}

/**
 * The status for a failed backend call: an EngineError's kind and message, anything else
 * INTERNAL with its message (and logged with its stack: it is a bug or an unexpected failure).
 */
export function failure(error: unknown, method: string, log: Log): StatusObject {
  if (!(error instanceof EngineError)) log(`${method}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  return statusOf(error);
}

/** Ends a streamed reply with the status of `error` (after the messages already written). */
export function endWithError(call: Writable, status: StatusObject): void {
  call.emit('error', status);
}

/** Splits bytes into messages small enough to send (a big log chunk, a burst of output). */
export function* pieces(data: Buffer, size = 1 << 20): Generator<Buffer> {
  if (data.length <= size) {
    yield data;
    return;
  }
  for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size);
}
