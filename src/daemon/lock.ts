/**
 * One daemon per state root: the pid file is created exclusively (O_EXCL); a pid file whose
 * process is gone, or is not a Flotilla daemon any more (pids get reused), is stale and taken over.
 */
import { DaemonStartError } from './errors.js';
import { readFileSync } from 'node:fs';
import { open, readFile, rm } from 'node:fs/promises';

export type LockResult = { acquired: true; release: () => Promise<void> } | { acquired: false; holder: number };

export async function acquirePidLock(path: string): Promise<LockResult> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(path, 'wx', 0o644);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return {
        acquired: true,
        release: async () => {
          const text = await readFile(path, 'utf8').catch(() => '');
          if (Number(text.trim()) === process.pid) await rm(path, { force: true });
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holder = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(holder) && holder > 0 && isDaemonProcess(holder)) return { acquired: false, holder };
    await rm(path, { force: true });
  }
  throw new DaemonStartError(`cannot take the daemon's pid file ${path}`);
}

/** Whether `pid` is a live `flotilla daemon` process. */
export function isDaemonProcess(pid: number): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.some((a) => /flotilla/.test(a)) && argv.includes('daemon');
  } catch {
    return false;
  }
}
