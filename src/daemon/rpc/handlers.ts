/**
 * The Engine service's handlers: each RPC calls the backend method of the same name, with the
 * arguments and result mapped by the tables of src/contract/protocol/methods.ts.
 */
import { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type {
  sendUnaryData,
  ServerDuplexStream,
  ServerReadableStream,
  ServerUnaryCall,
  ServerWritableStream,
  UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { ProgressEvent, ProgressSink } from '../../contract/engine.js';
import { EngineError } from '../../contract/errors.js';
import { OUTPUT_STREAMS, PROGRESS, SESSIONS, UNARY, UPLOADS, rpcName, type OutputStreamRpc, type ProgressRpc, type UnaryMethod, type UnaryRpc } from '../../contract/protocol/methods.js';
import { unimplemented } from '../../contract/protocol/status.js';
import type { DaemonBackend } from '../../contract/backend.js';
import { cancellation, endWithError, failure, pieces, send, type Log } from './call.js';
import { serveSession } from './session.js';

/** A backend method called by name with decoded arguments (the tables type each one). */
type AnyMethod = (...args: unknown[]) => unknown;

function methodOf(backend: DaemonBackend, name: string): AnyMethod | undefined {
  // Looked up by the name the RPC tables give; the tables, not TypeScript, pair each name with
  // its argument types, so the method is typed loosely here.
  const fn = (backend as unknown as Record<string, unknown>)[name];
  return typeof fn === 'function' ? (fn.bind(backend) as AnyMethod) : undefined;
}

export function engineHandlers(backend: DaemonBackend, log: Log): UntypedServiceImplementation {
  const handlers: UntypedServiceImplementation = {};

  for (const name of Object.keys(UNARY) as UnaryMethod[]) {
    if (name === 'shutdown') continue;
    const rpc: UnaryRpc<unknown[], unknown> = UNARY[name];
    handlers[rpcName(name)] = (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
      const signal = cancellation(call);
      const method = methodOf(backend, name);
      if (!method) return callback(unimplemented(name));
      const args = rpc.args.decode(call.request);
      if (rpc.signalAt !== undefined) args[rpc.signalAt] = signal;
      Promise.resolve()
        .then(() => method(...args))
        .then(
          (result) => callback(null, rpc.result.encode(result)),
          (e: unknown) => {
            if (!signal.aborted) callback(failure(e, name, log));
          },
        );
    };
  }
  // Shutdown answers first, then stops the daemon (stopping may wait for the calls in progress,
  // this one included).
  handlers[rpcName('shutdown')] = (_call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
    callback(null, UNARY.shutdown.result.encode());
    void nextTurn().then(() => backend.shutdown().catch((e: unknown) => log(`shutdown: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`)));
  };

  const { containerLogs, events, saveImages, containerArchive } = OUTPUT_STREAMS;
  handlers[rpcName('containerLogs')] = (call: ServerWritableStream<unknown, unknown>) =>
    void serveOutput(call, 'containerLogs', log, containerLogs, (...a) => backend.containerLogs(...a), (chunk) => [...pieces(chunk.data)].map((data) => ({ stream: chunk.stream, data })));
  handlers[rpcName('events')] = (call: ServerWritableStream<unknown, unknown>) =>
    void serveOutput(call, 'events', log, events, (...a) => backend.events(...a), (event) => [events.item.encode(event)]);
  handlers[rpcName('saveImages')] = (call: ServerWritableStream<unknown, unknown>) =>
    void serveOutput(call, 'saveImages', log, saveImages, (...a) => backend.saveImages(...a), (chunk) => [...pieces(chunk)].map((data) => saveImages.item.encode(data)));
  handlers[rpcName('containerArchive')] = (call: ServerWritableStream<unknown, unknown>) =>
    void serveOutput(call, 'containerArchive', log, containerArchive, (...a) => archiveOf(backend, ...a), (chunk) => [...pieces(chunk)].map((data) => containerArchive.item.encode(data)));

  const { pullImage, buildImage, pushImage } = PROGRESS;
  handlers[rpcName('pullImage')] = (call: ServerWritableStream<unknown, unknown>) =>
    void serveProgress(call, 'pullImage', log, pullImage, ([ref, options], sink) => backend.pullImage(ref, sink, options));
  handlers[rpcName('buildImage')] = (call: ServerWritableStream<unknown, unknown>) =>
    void serveProgress(call, 'buildImage', log, buildImage, ([request], sink) => backend.buildImage(request, sink));
  handlers[rpcName('pushImage')] = (call: ServerWritableStream<unknown, unknown>) =>
    void serveProgress(call, 'pushImage', log, pushImage, ([ref, options], sink) => backend.pushImage(ref, sink, options));

  handlers[rpcName('exec')] = (call: ServerDuplexStream<unknown, unknown>) =>
    void serveSession(call, 'exec', log, (open) => backend.exec(...SESSIONS.exec.decode(open)));
  handlers[rpcName('attachContainer')] = (call: ServerDuplexStream<unknown, unknown>) =>
    void serveSession(call, 'attachContainer', log, (open) => backend.attachContainer(...SESSIONS.attachContainer.decode(open)));

  handlers[rpcName('importImage')] = (call: ServerReadableStream<unknown, unknown>, callback: sendUnaryData<unknown>) =>
    void upload(call, callback, 'importImage', log, async (messages) => {
      const first = (await messages.next()) as IteratorResult<{ header?: unknown }>;
      if (first.done || first.value.header === undefined) throw new EngineError('invalid', 'ImportImage: the first message must be the header');
      const reference = UPLOADS.importImage.header.decode(first.value.header);
      return UPLOADS.importImage.result.encode(await backend.importImage(bytesOf(messages), reference));
    });
  handlers[rpcName('loadImages')] = (call: ServerReadableStream<unknown, unknown>, callback: sendUnaryData<unknown>) =>
    void upload(call, callback, 'loadImages', log, async (messages) => UPLOADS.loadImages.result.encode(await backend.loadImages(bytesOf(messages))));

  handlers[rpcName('extractToContainer')] = (call: ServerReadableStream<unknown, unknown>, callback: sendUnaryData<unknown>) =>
    void upload(call, callback, 'extractToContainer', log, async (messages) => {
      const first = (await messages.next()) as IteratorResult<{ header?: unknown }>;
      if (first.done || first.value.header === undefined) throw new EngineError('invalid', 'ExtractToContainer: the first message must be the header');
      if (!backend.extractToContainer) throw unimplemented('extractToContainer');
      const [id, path, options] = UPLOADS.extractToContainer.header.decode(first.value.header);
      await backend.extractToContainer(id, path, bytesOf(messages), options);
      return {};
    });

  return handlers;
}

function archiveOf(backend: DaemonBackend, id: string, path: string, signal?: AbortSignal): AsyncIterable<Buffer> {
  if (!backend.containerArchive) throw unimplemented('containerArchive');
  return backend.containerArchive(id, path, signal);
}

/** Streams what the backend yields until it ends, or until the client cancels (which aborts the backend's signal). */
async function serveOutput<A extends unknown[], T>(
  call: ServerWritableStream<unknown, unknown>,
  name: string,
  log: Log,
  rpc: OutputStreamRpc<A, T>,
  items: (...args: A) => AsyncIterable<T>,
  messages: (item: T) => unknown[],
): Promise<void> {
  const signal = cancellation(call);
  try {
    for await (const item of items(...rpc.withSignal(rpc.args.decode(call.request), signal))) {
      if (signal.aborted) break;
      for (const message of messages(item)) await send(call, message, signal);
    }
    if (!signal.aborted) call.end();
  } catch (e) {
    if (!signal.aborted) endWithError(call, failure(e, name, log));
  }
}

async function serveProgress<A extends unknown[], R>(
  call: ServerWritableStream<unknown, unknown>,
  name: string,
  log: Log,
  rpc: ProgressRpc<A, R>,
  run: (args: A, sink: ProgressSink) => Promise<R>,
): Promise<void> {
  const signal = cancellation(call);
  // Progress lines are small and the client reads them as they come: no waiting for it here.
  const sink = (progress: ProgressEvent) => {
    if (!signal.aborted) call.write({ progress });
  };
  try {
    const result = await run(rpc.args.decode(call.request), sink);
    if (signal.aborted) return;
    call.write({ done: { result: rpc.result.encode(result) } });
    call.end();
  } catch (e) {
    if (!signal.aborted) endWithError(call, failure(e, name, log));
  }
}

type Messages = AsyncIterator<unknown>;

/** The bytes of `data` messages, as the backend reads them (the client waits for it). */
function bytesOf(messages: Messages): Readable {
  return Readable.from(
    (async function* () {
      for (;;) {
        const next = (await messages.next()) as IteratorResult<{ data?: Buffer }>;
        if (next.done) return;
        if (next.value.data !== undefined && next.value.data.length > 0) yield next.value.data;
      }
    })(),
    { objectMode: false },
  );
}

async function upload(
  call: ServerReadableStream<unknown, unknown>,
  callback: sendUnaryData<unknown>,
  name: string,
  log: Log,
  handle: (messages: Messages) => Promise<unknown>,
): Promise<void> {
  const signal = cancellation(call);
  try {
    const reply = await handle(call[Symbol.asyncIterator]());
    callback(null, reply);
  } catch (e) {
    if (!signal.aborted) callback(failure(e, name, log));
  }
}
