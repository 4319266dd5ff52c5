/**
 * Exit files: conmon writes `<exit dir>/<id>` holding the exit code when a container ends (and
 * `<persist>/oom` when the OOM killer was involved); runAttached writes the same files
 * itself. ExitWatcher reports each exit once: fs.watch on the directory, a scan when it starts
 * (exits that happened while no daemon was running), and a slow rescan in case an event is lost.
 */
import { mkdirSync, watch, type FSWatcher } from 'node:fs';
import { readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExitInfo } from './types.js';

export async function readExitInfo(exitFile: string, oomFlags: readonly string[]): Promise<ExitInfo | null> {
  let text: string;
  let mtime: Date;
  try {
    [text, mtime] = await Promise.all([readFile(exitFile, 'utf8'), stat(exitFile).then((s) => s.mtime)]);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  const code = Number.parseInt(text.trim(), 10);
  if (!Number.isInteger(code)) return null; // being written
  let oomKilled = false;
  for (const flag of oomFlags) {
    try {
      await stat(flag);
      oomKilled = true;
    } catch {
      // not this one
    }
  }
  return { code, oomKilled, finishedAt: mtime.toISOString() };
}

/** Writes an exit file the way conmon does, atomically (a dot file renamed into place). */
export async function writeExitFile(exitDir: string, id: string, code: number): Promise<void> {
  const tmp = join(exitDir, `.${id}.tmp`);
  await writeFile(tmp, String(code));
  await rename(tmp, join(exitDir, id));
}

export type ExitListener = (id: string, info: ExitInfo) => void;

export class ExitWatcher {
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly listeners = new Set<ExitListener>();
  /** Ids whose current exit file has been reported (forgotten when they start again). */
  private readonly reported = new Set<string>();
  private readonly busy = new Set<string>();

  constructor(
    private readonly exitDir: string,
    private readonly oomFlags: (id: string) => string[],
    private readonly log: (line: string) => void,
    private readonly rescanMs = 2000,
  ) {}

  add(listener: ExitListener): () => void {
    this.listeners.add(listener);
    if (!this.timer) this.startWatching();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stop();
    };
  }

  /** Forget what was reported for `id` (it is being started again). */
  forget(id: string): void {
    this.reported.delete(id);
  }

  private startWatching(): void {
    this.watch();
    this.timer = setInterval(() => {
      if (!this.watcher) this.watch();
      void this.scan();
    }, this.rescanMs);
    this.timer.unref();
    setImmediate(() => void this.scan());
  }

  private watch(): void {
    try {
      mkdirSync(this.exitDir, { recursive: true });
      this.watcher = watch(this.exitDir, (_event, name) => {
        if (name) void this.check(String(name));
      });
      this.watcher.on('error', (e) => {
        this.log(`exit watcher: ${e.message}`);
        this.watcher?.close();
        this.watcher = null;
      });
    } catch (e) {
      this.log(`exit watcher: cannot watch ${this.exitDir}: ${(e as Error).message}; polling`);
      this.watcher = null;
    }
  }

  private stop(): void {
    this.watcher?.close();
    this.watcher = null;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async scan(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.exitDir);
    } catch {
      return;
    }
    for (const name of names) await this.check(name);
  }

  private async check(name: string): Promise<void> {
    if (name.startsWith('.') || this.busy.has(name) || this.listeners.size === 0) return;
    this.busy.add(name);
    try {
      if (this.reported.has(name)) return;
      const file = join(this.exitDir, name);
      let info = await readExitInfo(file, this.oomFlags(name));
      if (!info) {
        // Created but not written yet: look again in a moment (the rescan would too).
        await new Promise((r) => setTimeout(r, 20));
        info = await readExitInfo(file, this.oomFlags(name));
      }
      if (!info) return;
      this.reported.add(name);
      for (const listener of this.listeners) {
        try {
          listener(name, info);
        } catch (e) {
          this.log(`exit listener for ${name}: ${(e as Error).message}`);
        }
      }
    } finally {
      this.busy.delete(name);
    }
  }
}
