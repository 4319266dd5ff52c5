/**
 * Unmounting, shared by every part of the daemon: the mount points asked for while one `umount`
 * runs go to the next one together. The daemon's main thread waits in every spawn until the
 * child has exec'd, which on a loaded machine took longer than anything else in `down`; with
 * each container's removal spawning its own two (rootfs overlay, network namespace file), 30
 * removals at once now make a handful of `umount` processes.
 *
 * Best effort: `umount` goes on past a mount point it cannot unmount (busy, not mounted), so
 * callers look at what is still mounted afterwards and deal with it themselves.
 */
import { run } from './command.js';

interface Waiting {
  path: string;
  done: () => void;
}

/** Mount points per `umount` (its command line stays far below the kernel's limit). */
const MOST = 200;

let waiting: Waiting[] = [];
let draining = false;

/** Unmounts `path` once (the topmost mount there), in the next `umount` run. */
export function unmountSoon(path: string): Promise<void> {
  return new Promise((done) => {
    waiting.push({ path, done });
    if (!draining) void drain();
  });
}

async function drain(): Promise<void> {
  draining = true;
  try {
    while (waiting.length > 0) {
      const batch = waiting.splice(0, MOST);
      const paths = [...new Set(batch.map((w) => w.path))];
      await run(['umount', ...paths], { allowFailure: true, timeout: 30_000 }).catch(() => undefined);
      for (const w of batch) w.done();
    }
  } finally {
    draining = false;
  }
}
