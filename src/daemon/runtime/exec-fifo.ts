/**
 * `runc start` without starting runc. After `runc create` the container's first process, `runc
 * init`, waits to open its exec fifo (<runc root>/<id>/exec.fifo) for writing; `runc start` opens
 * it for reading, reads the byte init writes, and removes the fifo, and init execs the command.
 * Doing those three steps here saves a fork of the daemon and a Go runtime's start per container.
 *
 * runc's own rules are kept: the fifo read is given up once the init process is gone or a zombie
 * (checked every 100 ms), and an empty read means the process died before it could be started.
 * The fifo is opened non-blocking and read through libuv, so a process that never opens its end
 * ties up no thread.
 */
import { constants, open } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { EngineError } from '../../contract/errors.js';
import { readRuncState } from './runc-state.js';

const openFd = promisify(open);
const POLL_MS = 100;

/** Reads the exec fifo until init closes it (by exec'ing the command, or by dying); the bytes read. */
function drain(fd: number, path: string, initGone: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const fifo = new Socket({ fd, readable: true, writable: false });
    let bytes = 0;
    let goneBefore = false;
    const started = Date.now();
    const finish = (result: number | Error) => {
      clearInterval(poll);
      fifo.destroy();
      if (typeof result === 'number') resolve(result);
      else reject(result);
    };
    fifo.on('data', (chunk: Buffer) => (bytes += chunk.length));
    fifo.on('end', () => finish(bytes));
    fifo.on('error', (e) => finish(e));
    // A process that dies before opening its end never makes the fifo readable. One that wrote
    // and then ended has its byte delivered with the end of the stream: give that a poll's time.
    const poll = setInterval(() => {
      void initGone().then((gone) => {
        if (gone && goneBefore) finish(bytes);
        else if (gone) goneBefore = true;
        else if (Date.now() - started > timeoutMs) finish(new Error(`the container's process did not open ${path} within ${timeoutMs / 1000} s`));
      }, finish);
    }, POLL_MS);
  });
}

/** Lets a created container's init exec its command, like `runc start` (which names the errors). */
export async function startCreated(runcRoot: string, id: string, timeoutMs = 60_000): Promise<void> {
  const what = `start ${id}`;
  const state = await readRuncState(runcRoot, id);
  if (!state) throw new EngineError('not-found', `${what}: container does not exist`);
  if (state.status === 'stopped') throw new EngineError('conflict', `${what}: cannot start a container that has stopped`);
  if (state.status !== 'created') throw new EngineError('conflict', `${what}: cannot start an already ${state.status} container`);
  const path = join(runcRoot, id, 'exec.fifo');
  let fd: number;
  try {
    fd = await openFd(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new EngineError('conflict', `${what}: cannot start an already running container`);
    throw new EngineError('engine', `${what}: ${path}: ${(e as Error).message}`);
  }
  const initGone = async () => (await readRuncState(runcRoot, id))?.status !== 'created';
  let bytes: number;
  try {
    bytes = await drain(fd, path, initGone, timeoutMs);
  } catch (e) {
    throw new EngineError('engine', `${what}: ${(e as Error).message}`);
  }
  if (bytes === 0) throw new EngineError('conflict', `${what}: container process is already dead`);
  await unlink(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw new EngineError('engine', `${what}: ${path}: ${e.message}`);
  });
}
