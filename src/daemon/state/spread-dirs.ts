/**
 * ext4 puts a new directory near its parent, and without a journal (this kind of machine's root
 * filesystem) its inode allocator steps over every inode of that block group freed in the last
 * half minute before it reuses one. The per-container directories all live under a few parents,
 * so an `up` right after a `down` paid for the hundreds of inodes the `down` freed: a quarter of
 * the CPU of an `up -d` of 30 services (docs/benchmarks.md). The 'T' attribute marks a directory
 * whose subdirectories are unrelated hierarchies (chattr(1)), and the allocator then spreads
 * them over block groups. A hint only: filesystems without it (tmpfs, xfs, btrfs) are left alone.
 */
import { mkdir } from 'node:fs/promises';
import { run } from '../command.js';

export async function spreadSubdirectories(dirs: readonly { path: string; mode: number }[], log: (line: string) => void): Promise<void> {
  for (const d of dirs) await mkdir(d.path, { recursive: true, mode: d.mode });
  const argv = ['chattr', '+T', ...dirs.map((d) => d.path)];
  const r = await run(argv, { allowFailure: true }).catch((e: Error) => ({ code: -1, stdout: '', stderr: e.message }));
  if (r.code !== 0) log(`${argv.join(' ')}: ${r.stderr.trim() || `exit status ${r.code}`} (an allocation hint for ext4; going on without it)`);
}
