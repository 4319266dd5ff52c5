/**
 * Content-addressed blobs (OCI layout): images/blobs/sha256/<hex>. A blob is written under
 * images/ingest/ while its sha256 is computed, and renamed into place only when the digest is the
 * one expected (or, with none expected, under the digest it turned out to have): what is in
 * blobs/ has been verified as it was written, and is never written again.
 *
 * An interrupted download leaves ingest/<hex>.partial: the bytes received so far, which a later
 * download of the same digest continues from (HTTP Range) instead of starting over. A digest
 * mismatch keeps nothing.
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { EngineError } from '../../contract/errors.js';
import { DiskGuard } from './disk.js';

export const SHA256_DIGEST = /^sha256:([0-9a-f]{64})$/;

export function hexOf(digest: string): string {
  const m = SHA256_DIGEST.exec(digest);
  if (!m?.[1]) throw new EngineError('invalid', `unsupported digest ${JSON.stringify(digest)} (only sha256)`);
  return m[1];
}

export function sha256Digest(bytes: Buffer | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

async function sizeOrNull(path: string): Promise<number | null> {
  try {
    return (await stat(path)).size;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/**
 * Bytes gathered before a write: a download arrives in socket reads of up to 64 KiB, and each
 * write is a trip through libuv's thread pool.
 */
const WRITE_BYTES = 1024 * 1024;

/** A blob being written: bytes go in, the digest is checked at commit. */
export class BlobWriter {
  private closed = false;
  /** Bytes hashed and counted but not yet in the file (a copy: callers may reuse their buffers). */
  private pending: Buffer | null = null;
  private used = 0;

  constructor(
    private readonly store: BlobStore,
    private readonly fh: import('node:fs/promises').FileHandle,
    readonly path: string,
    private readonly hash: Hash,
    /** Bytes already in the file (a resumed download). */
    public written: number,
    private readonly expected: string | null,
    private readonly disk: DiskGuard,
  ) {}

  async write(chunk: Buffer): Promise<void> {
    this.hash.update(chunk);
    this.written += chunk.length;
    if (this.used === 0 && chunk.length >= WRITE_BYTES) return this.writeOut(chunk);
    let at = 0;
    while (at < chunk.length) {
      this.pending ??= Buffer.allocUnsafe(WRITE_BYTES);
      const n = chunk.copy(this.pending, this.used, at);
      this.used += n;
      at += n;
      if (this.used === WRITE_BYTES) await this.flush();
    }
  }

  private async flush(): Promise<void> {
    if (this.used === 0 || this.pending === null) return;
    const n = this.used;
    this.used = 0;
    await this.writeOut(this.pending.subarray(0, n));
  }

  private async writeOut(bytes: Buffer): Promise<void> {
    let done = 0;
    while (done < bytes.length) done += (await this.fh.write(bytes, done, bytes.length - done)).bytesWritten;
    await this.disk.wrote(bytes.length);
  }

  /** Verifies and moves the blob into place; resolves to its digest. A mismatch removes the bytes. */
  async commit(): Promise<string> {
    try {
      await this.flush();
    } catch (e) {
      await this.abandon(false);
      throw e;
    }
    await this.close();
    const digest = `sha256:${this.hash.digest('hex')}`;
    if (this.expected !== null && digest !== this.expected) {
      await rm(this.path, { force: true });
      throw new EngineError('invalid', `digest mismatch: expected ${this.expected}, got ${digest} (${this.written} bytes); nothing was kept`);
    }
    await this.store.place(this.path, digest);
    return digest;
  }

  /** Keeps what was written for a later resume (a download broken off), or removes it. */
  async abandon(keep: boolean): Promise<void> {
    // A resume hashes the kept file again, so a failed flush only makes it shorter.
    if (keep && !this.closed) await this.flush().catch(() => undefined);
    await this.close();
    if (!keep) await rm(this.path, { force: true });
  }

  private async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.sync().catch(() => undefined);
    await this.fh.close();
  }
}

export class BlobStore {
  readonly dir: string;
  readonly ingestDir: string;

  constructor(
    imagesDir: string,
    private readonly minFreeBytes: number,
  ) {
    this.dir = join(imagesDir, 'blobs', 'sha256');
    this.ingestDir = join(imagesDir, 'ingest');
  }

  async open(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await mkdir(this.ingestDir, { recursive: true, mode: 0o700 });
  }

  path(digest: string): string {
    return join(this.dir, hexOf(digest));
  }

  /** The blob's size, or null when it is not stored. */
  size(digest: string): Promise<number | null> {
    return sizeOrNull(this.path(digest));
  }

  async has(digest: string): Promise<boolean> {
    return (await this.size(digest)) !== null;
  }

  read(digest: string): Promise<Buffer> {
    return readFile(this.path(digest));
  }

  stream(digest: string, start = 0): NodeJS.ReadableStream {
    return createReadStream(this.path(digest), { start, highWaterMark: 256 * 1024 });
  }

  /**
   * A writer for a blob of the `expected` digest (null: any). With `resume`, the bytes an earlier
   * attempt left are kept and hashed again, and `written` says how many there are.
   */
  async writer(expected: string | null, options: { resume?: boolean } = {}): Promise<BlobWriter> {
    const name = expected !== null ? `${hexOf(expected)}.partial` : `.tmp-${randomBytes(8).toString('hex')}`;
    const path = join(this.ingestDir, name);
    const hash = createHash('sha256');
    let written = 0;
    if (options.resume && expected !== null) {
      const have = await sizeOrNull(path);
      if (have !== null && have > 0) {
        for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
        written = have;
      }
    } else {
      await rm(path, { force: true });
    }
    const disk = new DiskGuard(this.ingestDir, this.minFreeBytes);
    await disk.check();
    const fh = await open(path, written > 0 ? 'a' : 'w', 0o600);
    return new BlobWriter(this, fh, path, hash, written, expected, disk);
  }

  /** Stores bytes held in memory (configs, manifests); resolves to their digest. */
  async put(bytes: Buffer, expected: string | null = null): Promise<string> {
    const digest = sha256Digest(bytes);
    if (expected !== null && digest !== expected) throw new EngineError('invalid', `digest mismatch: expected ${expected}, got ${digest}; nothing was kept`);
    if (await this.has(digest)) return digest;
    const w = await this.writer(null);
    await w.write(bytes);
    return w.commit();
  }

  /** Moves a verified file (ingest/ or a spool on the same file system) into place. */
  async place(file: string, digest: string): Promise<void> {
    const target = this.path(digest);
    if (await this.has(digest)) {
      await unlink(file).catch(() => undefined);
      return;
    }
    await rename(file, target);
  }

  async remove(digest: string): Promise<void> {
    await rm(this.path(digest), { force: true });
  }

  /** Every stored digest. */
  async list(): Promise<string[]> {
    return (await readdir(this.dir)).filter((n) => /^[0-9a-f]{64}$/.test(n)).map((n) => `sha256:${n}`);
  }

  /** Removes temporaries (not the partial downloads, which a later pull resumes). */
  async clean(keepPartials: boolean): Promise<void> {
    for (const name of await readdir(this.ingestDir)) {
      if (name.startsWith('.tmp-') || !keepPartials) await rm(join(this.ingestDir, name), { force: true });
    }
  }
}
