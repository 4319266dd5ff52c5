/** Whether something accepts connections on a unix socket (the daemon, or a stale file). */
import { connect } from 'node:net';

/**
 * Connects and hangs up at once: resolves null when something accepted the connection, or the
 * errno that refused it (ENOENT: no file; ECONNREFUSED: a stale file; EACCES: not ours to use).
 */
export function probeSocket(path: string, timeoutMs = 1000): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = connect(path);
    const done = (result: string | null) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done('ETIMEDOUT'), timeoutMs);
    socket.once('connect', () => done(null));
    socket.once('error', (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
  });
}

export async function socketAnswers(path: string): Promise<boolean> {
  return (await probeSocket(path)) === null;
}
