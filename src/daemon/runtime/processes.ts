/**
 * Host processes the runtime waits on: conmon (found by its pid file, checked against its
 * command line so a reused pid is not mistaken for it) and a container's first process (which is
 * `runc init` until `runc start` has let it exec the command).
 */
import { readFile } from 'node:fs/promises';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function cmdline(pid: number): Promise<string[] | null> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
  } catch {
    return null;
  }
}

/** The pid of the container's conmon while it runs; null when it is not running, undefined when it left no pid file. */
export async function runningConmon(pidFile: string, id: string): Promise<number | null | undefined> {
  let pid: number;
  try {
    pid = Number.parseInt((await readFile(pidFile, 'utf8')).trim(), 10);
  } catch {
    return undefined;
  }
  if (!(pid > 0)) return null;
  const argv = await cmdline(pid);
  return argv && (argv[0] ?? '').endsWith('conmon') && argv.includes(id) ? pid : null;
}

/**
 * Waits for the container's conmon to end (after a failed start it reports the failure, then
 * cleans up and exits). No pid file after `graceMs` counts as ended. False on time out.
 */
export async function waitConmonGone(pidFile: string, id: string, timeoutMs: number, graceMs = 500): Promise<boolean> {
  const start = Date.now();
  for (;;) {
    const pid = await runningConmon(pidFile, id);
    if (pid === null || (pid === undefined && Date.now() - start >= graceMs)) return true;
    if (Date.now() - start >= timeoutMs) return false;
    await sleep(20);
  }
}

/** Waits (at most timeoutMs) until `pid` is no longer `runc init`: it runs the command, or has ended. */
export async function waitForExec(pid: number, timeoutMs: number): Promise<void> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    const argv = await cmdline(pid);
    if (!argv || !((argv[0] ?? '').endsWith('runc') && argv[1] === 'init')) return;
    await sleep(10);
  }
}
