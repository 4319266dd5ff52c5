/**
 * What is mounted at a path, told by the filesystem type statfs(2) reports there: one system call,
 * where reading /proc/self/mountinfo costs more with every mount on the host.
 */
import { statfs } from 'node:fs/promises';

/** f_type values (linux/magic.h) of the filesystems the daemon asks about. */
export const FS_MAGIC = {
  ext4: 0xef53,
  overlay: 0x794c7630,
  nsfs: 0x6e736673,
} as const;

/** Whether the filesystem at `path` has type `magic`; false for a path that does not exist. */
export async function hasFilesystemType(path: string, magic: number): Promise<boolean> {
  try {
    return (await statfs(path)).type === magic;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}
