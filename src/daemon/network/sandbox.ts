/**
 * Network namespaces pinned to files (no /run/netns, no `ip netns`): `unshare --net=FILE` creates
 * the namespace and bind-mounts it (an nsfs mount) on FILE, which keeps it alive with no process
 * in it; runc then joins it by path. Removing is umount + unlink.
 */
import { readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { run } from '../command.js';
import { FS_MAGIC, hasFilesystemType } from '../fs-type.js';
import { hostError, ipBatch } from './links.js';
import { unmountSoon } from '../unmount.js';

/** nsfs mount points (paths) of this process's mount namespace under `dir`. */
export async function nsfsMounts(dir: string): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const sep = fields.indexOf('-');
    if (sep < 0 || fields[sep + 1] !== 'nsfs') continue;
    const mountPoint = unescapeMountinfo(fields[4] ?? '');
    if (mountPoint === dir || mountPoint.startsWith(dir + '/')) out.push(mountPoint);
  }
  return out;
}

function unescapeMountinfo(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Whether a namespace is mounted on `path`. */
export function isNetnsMounted(path: string): Promise<boolean> {
  return hasFilesystemType(path, FS_MAGIC.nsfs);
}

/**
 * Creates the netns file with lo up, and runs `inside` (`ip -batch` lines) in it: one process for
 * both. An existing mounted one is kept (idempotent) and `inside` then runs in it.
 */
export async function createNetns(path: string, inside: string[] = []): Promise<void> {
  if (await isNetnsMounted(path)) {
    await ipBatch(inside, path);
    return;
  }
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, '');
  try {
    await run(['unshare', `--net=${path}`, 'ip', '-batch', '-'], { input: ['link set dev lo up', ...inside].join('\n') + '\n' });
  } catch (e) {
    await removeNetns(path).catch(() => undefined);
    throw hostError(e);
  }
}

/** Unmounts (every stacked mount) and removes the netns file; a missing one is fine. */
export async function removeNetns(path: string): Promise<void> {
  if (await isNetnsMounted(path)) await unmountSoon(path);
  for (let i = 0; i < 8 && (await isNetnsMounted(path)); i++) {
    const r = await run(['umount', path], { allowFailure: true });
    if (r.code !== 0) await run(['umount', '--lazy', path], { allowFailure: true });
  }
  if (await isNetnsMounted(path)) throw hostError(new Error(`cannot unmount the network namespace ${path}`));
  await rm(path, { force: true });
}
