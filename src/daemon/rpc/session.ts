/**
 * An exec or attach session over one bidirectional call: the first message opens it (the backend
 * call), `opened` answers; then the client's stdin, stdin end and resizes go to the session while
 * its output goes back, and the exit code ends the call. A cancelled call closes the session.
 */
import { once } from 'node:events';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { StreamSession } from '../../contract/engine.js';
import { EngineError } from '../../contract/errors.js';
import { cancellation, endWithError, failure, pieces, send, type Log } from './call.js';

interface SessionInput {
  open?: unknown;
  stdin?: Buffer;
  stdinEnd?: object;
  resize?: { rows: number; columns: number };
}

export async function serveSession(call: ServerDuplexStream<unknown, unknown>, name: string, log: Log, open: (message: unknown) => Promise<StreamSession>): Promise<void> {
  const signal = cancellation(call);
  // grpc-js yields what the method's deserializer returned (unknown); ours gives SessionInput.
  const inputs = call[Symbol.asyncIterator]() as AsyncIterator<SessionInput>;
  let session: StreamSession | undefined;
  signal.addEventListener('abort', () => session?.close(), { once: true });
  try {
    const first = await inputs.next();
    if (first.done || first.value.open === undefined) throw new EngineError('invalid', `${name}: the first message must open the session`);
    session = await open(first.value.open);
    if (signal.aborted) {
      session.close();
      return;
    }
    await send(call, { opened: {} }, signal);
    // Runs beside the output until the client half-closes (after the exit code) or the call ends.
    const over = new AbortController();
    void forwardInput(inputs, session, call, AbortSignal.any([signal, over.signal]));
    for await (const chunk of session.output) {
      for (const data of pieces(chunk.data)) await send(call, { chunk: { stream: chunk.stream, data } }, signal);
    }
    const exitCode = await session.exitCode();
    over.abort();
    await send(call, { exitCode }, signal);
    call.end();
  } catch (e) {
    if (!signal.aborted) endWithError(call, failure(e, name, log));
  } finally {
    session?.close();
  }
}

/** The client's messages after the first, until it half-closes or `signal` aborts (the call is over). */
async function forwardInput(inputs: AsyncIterator<SessionInput>, session: StreamSession, call: ServerDuplexStream<unknown, unknown>, signal: AbortSignal): Promise<void> {
  const stdin = session.input;
  try {
    for (;;) {
      const next = await inputs.next();
      if (next.done || signal.aborted) break;
      const message = next.value;
      if (message.stdin !== undefined) {
        if (stdin && !stdin.write(message.stdin)) await once(stdin, 'drain', { signal });
      } else if (message.stdinEnd !== undefined) {
        stdin?.end();
      } else if (message.resize !== undefined) {
        let error: { kind: string; message: string } | undefined;
        try {
          await session.resize(message.resize.rows, message.resize.columns);
        } catch (e) {
          error = e instanceof EngineError ? { kind: e.kind, message: e.message } : { kind: 'engine', message: e instanceof Error ? e.message : String(e) };
        }
        await send(call, { resized: error ? { error } : {} }, signal);
      }
    }
  } catch {
    // The call ended (cancelled, or over): nothing more to forward.
  }
}
