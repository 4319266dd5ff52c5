/**
 * Log rotation with backups (conmon's own --log-size-max only truncates): ctr.log becomes
 * ctr.log.1 (.1 becomes .2 and so on; beyond max-file are deleted), then conmon is told to reopen
 * its log through the bundle's ctl fifo (`2 0 0`). conmon keeps writing into the renamed file until
 * it reopens, so no line is lost (verified in the research, 2.2); readers finish the renamed file
 * before they move to the new one.
 */
import { constants } from 'node:fs';
import { open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname } from 'node:path';

async function ignoreMissing(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/** Asks conmon to reopen its log file. False when no conmon listens on the fifo. */
export async function requestReopen(ctl: string): Promise<boolean> {
  let fh;
  try {
    fh = await open(ctl, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENXIO' || code === 'ENOENT') return false;
    throw e;
  }
  try {
    await fh.write('2 0 0\n');
    return true;
  } finally {
    await fh.close();
  }
}

/**
 * Rotates when the log has reached maxSize. maxFiles counts the live file (Docker's max-file):
 * 1 keeps no backup. `reopen` makes the writer continue in a new file at the same path.
 */
export async function rotateLog(logPath: string, maxSize: number, maxFiles: number, reopen: () => Promise<boolean>): Promise<boolean> {
  let size: number;
  try {
    size = (await stat(logPath)).size;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
  if (maxSize <= 0 || size < maxSize) return false;
  const backups = Math.max(1, Math.floor(maxFiles)) - 1;
  const base = basename(logPath);
  for (const name of await readdir(dirname(logPath))) {
    const n = name.startsWith(`${base}.`) ? Number(name.slice(base.length + 1)) : NaN;
    if (Number.isInteger(n) && n >= Math.max(backups, 1)) await ignoreMissing(unlink(`${logPath}.${n}`));
  }
  for (let n = backups - 1; n >= 1; n--) await ignoreMissing(rename(`${logPath}.${n}`, `${logPath}.${n + 1}`));
  await rename(logPath, `${logPath}.1`);
  await reopen();
  // No backups wanted: the renamed file goes once the writer has moved on (readers keep it open).
  if (backups === 0) await ignoreMissing(unlink(`${logPath}.1`));
  return true;
}
