/**
 * The client's side of the socket: one grpc-js channel to the daemon, and the four shapes of call
 * (unary, streamed replies, streamed requests, both) with every failure turned into an
 * EngineError and an AbortSignal cancelling the call.
 */
import { once } from 'node:events';
import { Client, credentials, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import { MAX_MESSAGE, rpcMethod } from '../../contract/protocol/service.js';
import { engineErrorOf, isServiceError } from '../../contract/protocol/status.js';

/** Bytes per message when a stream of bytes is sent (stdin, an image archive). */
export const DATA_PIECE = 256 << 10;

export class RpcChannel {
  private readonly client: Client;

  constructor(readonly socket: string) {
    this.client = new Client(`unix://${socket}`, credentials.createInsecure(), {
      'grpc.max_receive_message_length': MAX_MESSAGE,
      'grpc.max_send_message_length': MAX_MESSAGE,
    });
  }

  /** The EngineError for a failed call (anything else is returned as it is). */
  error(e: unknown): unknown {
    return isServiceError(e) ? engineErrorOf(e, this.socket) : e;
  }

  unary(name: string, request: unknown, signal?: AbortSignal): Promise<unknown> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const m = rpcMethod(name);
    return new Promise((resolve, reject) => {
      const call = this.client.makeUnaryRequest(m.path, m.serializeRequest, m.deserializeResponse, request, (err: ServiceError | null, reply?: unknown) => {
        signal?.removeEventListener('abort', onAbort);
        if (err) reject(signal?.aborted ? signal.reason : this.error(err));
        else resolve(reply);
      });
      const onAbort = () => call.cancel();
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * The replies of a call, read as they are consumed (the daemon waits for a slow reader). Ends
   * quietly when `signal` aborts; ending the loop early cancels the call.
   */
  async *stream(name: string, request: unknown, signal?: AbortSignal): AsyncGenerator<unknown> {
    if (signal?.aborted) return;
    const m = rpcMethod(name);
    const call = this.client.makeServerStreamRequest(m.path, m.serializeRequest, m.deserializeResponse, request);
    const onAbort = () => call.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const reply of call) {
        yield reply as unknown;
        if (signal?.aborted) return;
      }
    } catch (e) {
      if (signal?.aborted) return;
      throw this.error(e);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      call.cancel();
    }
  }

  /**
   * Sends `first`, then every chunk of `data` (wrapped by `message`) as the daemon takes them,
   * and resolves with the reply. A failure of the call stops the reading of `data`.
   */
  upload(name: string, first: unknown | undefined, data: AsyncIterable<Buffer | string>, message: (piece: Buffer) => unknown): Promise<unknown> {
    const m = rpcMethod(name);
    let outcome: { error: unknown } | { value: unknown } | undefined;
    const finished = deferred();
    const call = this.client.makeClientStreamRequest(m.path, m.serializeRequest, m.deserializeResponse, (err: ServiceError | null, value?: unknown) => {
      outcome = err ? { error: this.error(err) } : { value };
      finished.resolve();
    });
    const pump = async () => {
      if (first !== undefined) call.write(first);
      for await (const chunk of data) {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        for (let at = 0; at < bytes.length; at += DATA_PIECE) {
          if (outcome) return;
          if (!call.write(message(bytes.subarray(at, at + DATA_PIECE)))) await Promise.race([once(call, 'drain'), finished.promise]);
        }
        // The daemon answered early (a failure): stop reading.
        if (outcome) return;
      }
      call.end();
    };
    return pump().then(
      async () => {
        await finished.promise;
        if (outcome && 'error' in outcome) throw outcome.error;
        return outcome?.value;
      },
      async (e: unknown) => {
        // Reading the input failed: the daemon must not take a truncated archive for a whole one.
        call.cancel();
        await finished.promise;
        throw e;
      },
    );
  }

  duplex(name: string): ClientDuplexStream<unknown, unknown> {
    const m = rpcMethod(name);
    return this.client.makeBidiStreamRequest(m.path, m.serializeRequest, m.deserializeResponse);
  }

  close(): void {
    this.client.close();
  }
}

export interface Deferred {
  promise: Promise<void>;
  resolve(): void;
}

export function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
