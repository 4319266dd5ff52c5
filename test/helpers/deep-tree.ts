/** Trees deeper than PATH_MAX for the removal tests, and their cleanup. */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';

/**
 * `mkdir NAME && cd NAME` `levels` times below `dir`, a file every 500 levels and one at the bottom:
 * built relative to the working directory, since no path that long can be passed to the kernel.
 * Synchronous from start to end, so no other code of the process runs while it is elsewhere.
 */
export function deepTree(dir: string, levels: number, name = 'd'): void {
  const back = process.cwd();
  try {
    process.chdir(dir);
    for (let i = 0; i < levels; i++) {
      mkdirSync(name);
      process.chdir(name);
      if (i % 500 === 0) writeFileSync(`f${i}`, 'x');
    }
    writeFileSync('bottom', 'x');
  } finally {
    process.chdir(back);
  }
}

/** Removes `path` with rm(1), which walks with directory descriptors: any depth, whatever a failed test left. */
export function removeAnyDepth(path: string): void {
  spawnSync('rm', ['-rf', path]);
}
