/**
 * The container's cgroup directories: one per hierarchy (cgroup v1 controllers, the named systemd
 * one and the v2 unified one on this hybrid host) at the same absolute path. runc creates them;
 * release() removes what runc left, and the daemon's parent once empty.
 */
import { readdir, readFile, rmdir } from 'node:fs/promises';
import { posix } from 'node:path';
import { mounts } from './rootfs.js';

/** Mount points of every cgroup hierarchy (v1 and v2). */
export function cgroupMountPoints(): string[] {
  return [...new Set(mounts().filter((m) => m.fsType === 'cgroup' || m.fsType === 'cgroup2').map((m) => m.mountPoint))];
}

/** The memory hierarchy's directory of a cgroup path, or null without a v1 memory controller. */
export function memoryCgroupDir(cgroupsPath: string): string | null {
  const m = mounts().find((x) => x.fsType === 'cgroup' && x.superOptions.split(',').includes('memory'));
  return m ? posix.join(m.mountPoint, cgroupsPath) : null;
}

/** The number of OOM kills in a cgroup so far (cgroup v1 memory.oom_control, v2 memory.events). */
export async function oomKills(cgroupsPath: string): Promise<number> {
  const v1 = memoryCgroupDir(cgroupsPath);
  const candidates = v1 ? [posix.join(v1, 'memory.oom_control')] : [];
  const unified = mounts().find((x) => x.fsType === 'cgroup2');
  if (unified) candidates.push(posix.join(unified.mountPoint, cgroupsPath, 'memory.events'));
  for (const file of candidates) {
    try {
      const m = /^oom_kill (\d+)$/m.exec(await readFile(file, 'utf8'));
      if (m) return Number(m[1]);
    } catch {
      // not in this hierarchy
    }
  }
  return 0;
}

async function removeTree(dir: string): Promise<void> {
  // Children first (a container may have made sub-cgroups), then the directory itself.
  let names: string[] = [];
  try {
    names = (await readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch {
    return;
  }
  for (const name of names) await removeTree(posix.join(dir, name));
  try {
    await rmdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/**
 * Removes the container's cgroup in every hierarchy, then its parent where empty (EBUSY or
 * ENOTEMPTY: another container still uses it). Returns the directories that could not go.
 */
export async function removeCgroups(cgroupsPath: string): Promise<string[]> {
  const left: string[] = [];
  const parent = posix.dirname(cgroupsPath);
  for (const root of cgroupMountPoints()) {
    const dir = posix.join(root, cgroupsPath);
    try {
      await removeTree(dir);
    } catch (e) {
      left.push(`${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    if (parent !== '/') {
      try {
        await rmdir(posix.join(root, parent));
      } catch {
        // not empty, or not there: both fine
      }
    }
  }
  return left;
}
