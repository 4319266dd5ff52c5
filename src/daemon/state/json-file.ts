/**
 * State files: JSON written atomically (a temporary file in the same folder, fsync, rename), so a
 * daemon killed mid-write leaves the old version or the new one, never half of either.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { open, readFile, rename, rm, mkdir } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await open(temp, 'w', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(value, null, 2)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, path);
  } catch (e) {
    await rm(temp, { force: true });
    throw e;
  }
}

/** The parsed file, or null when it does not exist. A corrupt file is an error naming it. */
export async function readJson<T>(path: string): Promise<T | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  return parseState<T>(text, path);
}

export function readJsonSync<T>(path: string): T | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  return parseState<T>(text, path);
}

function parseState<T>(text: string, path: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new Error(`state file ${path} is corrupt: ${(e as Error).message}`);
  }
}

/** Temporaries a killed daemon left behind (".<name>.<hex>.tmp"). */
export function isStateTemporary(name: string): boolean {
  return /^\..+\.[0-9a-f]{8}\.tmp$/.test(name);
}

/**
 * One state file written from many places at once: one write at a time, each of the latest value.
 * A save while a write is under way is folded with the saves after it into one more write; every
 * caller's promise settles once a write that began after its call has. (Concurrent
 * writeJsonAtomic calls on one path could finish out of order and leave an older version.)
 */
export class LatestJsonFile {
  private latest: unknown;
  private writing: Promise<void> | null = null;
  private next: Promise<void> | null = null;
  private closed = false;

  constructor(private readonly path: string) {}

  save(value: unknown): Promise<void> {
    this.latest = value;
    if (this.closed) return Promise.resolve();
    if (this.next) return this.next;
    if (!this.writing) return this.begin();
    this.next = this.writing
      .catch(() => undefined)
      .then(() => {
        this.next = null;
        return this.begin();
      });
    return this.next;
  }

  /** Waits for the writes under way, then refuses further saves (the file is about to be removed). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([this.writing, this.next]);
  }

  private begin(): Promise<void> {
    if (this.closed) return Promise.resolve();
    const write: Promise<void> = writeJsonAtomic(this.path, this.latest).finally(() => {
      if (this.writing === write) this.writing = null;
    });
    this.writing = write;
    return write;
  }
}
