/**
 * One daemon per state root: the pid file is created exclusively (O_EXCL); a pid file whose
 * process is gone, or is not a Flotilla daemon any more (pids get reused), is stale and taken over.
 */
import { DaemonStartError } from './errors.js';
import { readFileSync } from 'node:fs';
import { link, readFile, rm, writeFile } from 'node:fs/promises';

export type LockResult = { acquired: true; release: () => Promise<void> } | { acquired: false; holder: number };

export async function acquirePidLock(path: string): Promise<LockResult> {
  for (let attempt = 0; attempt < 3; attempt++) {
    // The pid is written to a file of our own and linked into place, so the pid file never exists
    // empty: a second daemon reading it between an exclusive create and its write found no pid,
    // took it for stale, removed it and served beside the first (seen under load in CI).
    const mine = `${path}.${process.pid}.tmp`;
    try {
      await writeFile(mine, `${process.pid}\n`, { mode: 0o644 });
      try {
        await link(mine, path);
      } finally {
        await rm(mine, { force: true });
      }
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
