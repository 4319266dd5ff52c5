/**
 * The container's cgroup directories: one per hierarchy (cgroup v1 controllers, the named systemd
 * one and the v2 unified one on this hybrid host) at the same absolute path. runc creates them;
 * release() removes what runc left, and the daemon's parent once empty.
 */
import { readdir, readFile, rmdir } from 'node:fs/promises';
import { posix } from 'node:path';
import { mounts } from './rootfs.js';

interface Hierarchies {
  /** Mount points of every cgroup hierarchy (v1 and v2). */
  all: readonly string[];
  /** The v1 memory controller's, if any. */
  memory: string | null;
  /** The v2 unified hierarchy's, if any. */
  unified: string | null;
}

let hierarchiesFound: Hierarchies | null = null;

/**
 * The host's cgroup hierarchies, read once: they do not change while the daemon runs, while
 * mountinfo (read synchronously) grows by an overlay and a netns with every container.
 */
function hierarchies(): Hierarchies {
  if (!hierarchiesFound) {
    const all = mounts().filter((m) => m.fsType === 'cgroup' || m.fsType === 'cgroup2');
    hierarchiesFound = {
      all: [...new Set(all.map((m) => m.mountPoint))],
      memory: all.find((m) => m.fsType === 'cgroup' && m.superOptions.split(',').includes('memory'))?.mountPoint ?? null,
      unified: all.find((m) => m.fsType === 'cgroup2')?.mountPoint ?? null,
    };
  }
  return hierarchiesFound;
}

export function cgroupMountPoints(): readonly string[] {
  return hierarchies().all;
}

/** The number of OOM kills in a cgroup so far (cgroup v1 memory.oom_control, v2 memory.events). */
export async function oomKills(cgroupsPath: string): Promise<number> {
  const { memory, unified } = hierarchies();
  const candidates = memory ? [posix.join(memory, cgroupsPath, 'memory.oom_control')] : [];
  if (unified) candidates.push(posix.join(unified, cgroupsPath, 'memory.events'));
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

/** Removes the container's cgroup in every hierarchy. Returns the directories that could not go. */
export function removeCgroups(cgroupsPath: string): Promise<string[]> {
  return removeCgroupDirs(cgroupMountPoints().map((root) => posix.join(root, cgroupsPath)));
}

/** Removes cgroup directories (absolute paths) and what is under them; returns those that could not go. */
export async function removeCgroupDirs(dirs: readonly string[]): Promise<string[]> {
  const left: string[] = [];
  for (const dir of dirs) {
    try {
      await removeTree(dir);
    } catch (e) {
      left.push(`${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  return left;
}

/**
 * The daemon's parent cgroup goes when its last container's does, but each `runc create` makes it
 * again (mkdir -p) before its own: removed in between, the new container's cgroup cannot be made
 * and runc fails with "unable to get oom kill count". So creates hold the gate, the parent is
 * removed only while none runs, and a create waits for a removal under way.
 */
export class CgroupParentGate {
  private creating = 0;
  private removal: Promise<void> = Promise.resolve();

  constructor(private readonly parent: string) {}

  async whileCreating<T>(create: () => Promise<T>): Promise<T> {
    for (let r = this.removal; ; r = this.removal) {
      await r;
      if (r === this.removal) break; // no removal began while this one was awaited
    }
    this.creating++;
    try {
      return await create();
    } finally {
      this.creating--;
    }
  }

  /** Removes the parent in every hierarchy where it is empty, unless a create is running. */
  removeIfUnused(): Promise<void> {
    if (this.creating > 0 || this.parent === '/' || this.parent === '') return Promise.resolve();
    this.removal = this.removal.then(async () => {
      for (const root of cgroupMountPoints()) {
        try {
          await rmdir(posix.join(root, this.parent));
        } catch {
          // not empty (another container's cgroup is in it), or not there: both fine
        }
      }
    });
    return this.removal;
  }
}
