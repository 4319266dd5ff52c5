/**
 * The streams of a container: logs, exec sessions and attach, shaped as the Engine interface
 * returns them (LogChunk iterables, StreamSession). An attach made before the container starts
 * (how `run` works) gets the process's own stdin and output: the start then runs the container
 * in the foreground of the runtime (runAttached) instead of under conmon.
 */
import { PassThrough, type Readable } from 'node:stream';
import type { ExecSpec, LogChunk, LogOptions, StreamSession } from '../../contract/engine.js';
import { EngineError } from '../../contract/errors.js';
import type { ExecSession } from './collaborators.js';
import { notRunning, type ContainerManager } from './manager.js';
import type { ContainerRecord } from './record.js';

export function containerLogs(manager: ContainerManager, ref: string, options: LogOptions): AsyncIterable<LogChunk> {
  const record = manager.get(ref);
  const id = record.id;
  const isRunning = (): boolean => {
    const s = manager.records.get(id)?.state.status;
    return s === 'running' || s === 'paused' || s === 'restarting';
  };
  const source = manager.deps.runtime.readLogs(id, manager.logPath(id), { ...options, isRunning });
  // The runtime puts the timestamps in front of each line itself when they are asked for.
  return (async function* () {
    for await (const chunk of source) yield { stream: chunk.stream, data: chunk.data };
  })();
}

export async function execIn(manager: ContainerManager, ref: string, spec: ExecSpec): Promise<StreamSession> {
  const record = manager.get(ref);
  if (record.state.status === 'paused') throw new EngineError('conflict', `Container ${record.id} is paused, unpause the container before exec`);
  if (record.state.status !== 'running') throw new EngineError('conflict', `Container ${record.id} is not running`);
  manager.deps.events.emit('container', `exec_create: ${spec.command.join(' ')}`, record.id, { ...record.spec.labels, name: record.name });
  const session = await manager.deps.runtime.exec(record.id, spec).catch(notRunning(`Container ${record.id} is not running`));
  return streamSession(session);
}

/** The Engine's StreamSession over a runtime session. */
export function streamSession(session: ExecSession): StreamSession {
  let ended = false;
  void session.exit.then(
    () => (ended = true),
    () => (ended = true),
  );
  return {
    output: mergeOutput(session.stdout, session.stderr),
    input: session.stdin,
    resize: (rows, columns) => session.resize(rows, columns),
    exitCode: () => session.exit,
    close: () => {
      if (!ended) session.kill('SIGKILL');
    },
  };
}

async function* mergeOutput(stdout: Readable, stderr: Readable | null): AsyncIterable<LogChunk> {
  const queue: LogChunk[] = [];
  let open = stderr ? 2 : 1;
  let wake: (() => void) | null = null;
  const feed = (stream: Readable, name: LogChunk['stream']): void => {
    stream.on('data', (data: Buffer) => {
      queue.push({ stream: name, data });
      wake?.();
    });
    const end = (): void => {
      open--;
      wake?.();
    };
    stream.once('end', end);
    stream.once('error', end);
  };
  feed(stdout, 'stdout');
  if (stderr) feed(stderr, 'stderr');
  for (;;) {
    while (queue.length > 0) yield queue.shift() as LogChunk;
    if (open <= 0) return;
    await new Promise<void>((r) => (wake = r));
    wake = null;
  }
}

interface PendingAttach {
  options: { stdin: boolean; tty: boolean };
  stdout: PassThrough;
  stderr: PassThrough;
  input: PassThrough | null;
  session: ExecSession | null;
  resize: { rows: number; columns: number } | null;
}

/**
 * Attach: before the start, a session the start fills (see startAttached); on a running
 * container, its output from now on, without input.
 */
export async function attachTo(manager: ContainerManager, pending: Map<string, PendingAttach>, ref: string, options: { stdin: boolean; tty: boolean }): Promise<StreamSession> {
  const record = manager.get(ref);
  const waitExit = async (): Promise<number> => manager.wait(record.id);
  if (record.state.status === 'running' || record.state.status === 'paused') {
    const output = containerLogs(manager, record.id, { follow: true, tail: 0, timestamps: false });
    return { output, input: null, resize: async () => undefined, exitCode: waitExit, close: () => undefined };
  }
  const entry: PendingAttach = { options, stdout: new PassThrough(), stderr: new PassThrough(), input: options.stdin ? new PassThrough() : null, session: null, resize: null };
  pending.set(record.id, entry);
  let exit: Promise<number> | null = null;
  return {
    output: mergeOutput(entry.stdout, options.tty ? null : entry.stderr),
    input: entry.input,
    resize: async (rows, columns) => {
      entry.resize = { rows, columns };
      await entry.session?.resize(rows, columns);
    },
    exitCode: () => (exit ??= (async () => {
      await new Promise<void>((resolve) => {
        const check = (): void => {
          if (entry.session) resolve();
          else setTimeout(check, 20);
        };
        check();
      });
      await (entry.session as ExecSession).exit;
      return waitExit();
    })()),
    close: () => {
      pending.delete(record.id);
      entry.session?.kill('SIGKILL');
    },
  };
}

/** The start of a container someone attached to before: its process in the foreground, piped to the attach. */
export async function startAttached(manager: ContainerManager, pending: Map<string, PendingAttach>, record: ContainerRecord): Promise<{ pid: number } | null> {
  const entry = pending.get(record.id);
  if (!entry) return null;
  pending.delete(record.id);
  const session = await manager.deps.runtime.runAttached(record.id, entry.options);
  entry.session = session;
  session.stdout.pipe(entry.stdout);
  if (session.stderr) session.stderr.pipe(entry.stderr);
  else entry.stderr.end();
  if (entry.input && session.stdin) entry.input.pipe(session.stdin);
  if (entry.resize) await session.resize(entry.resize.rows, entry.resize.columns).catch(() => undefined);
  return { pid: 0 };
}

export type { PendingAttach };
