/**
 * A real Debian base image for the builder's real-project test: `mmdebstrap --variant=minbase
 * bookworm` (Debian's package; about 40 MB of packages from the mirror), as a root filesystem
 * tarball. Made once a day and kept between test runs in a cache folder outside the repository
 * ($FLOTILLA_TEST_CACHE, default /var/tmp/flotilla-test-cache), keyed by the date; older days'
 * tarballs are removed when a new one is made. Test processes share it through a lock.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export function testCacheDir(): string {
  return process.env['FLOTILLA_TEST_CACHE'] || '/var/tmp/flotilla-test-cache';
}

function today(): string {
  return new Date().toISOString().slice(0, 10).replace(/-/g, '');
}

async function withLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const lock = join(dir, 'debian.lock');
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      // A lock older than the longest mmdebstrap run belongs to a process that died.
      if (Date.now() - statSync(lock, { throwIfNoEntry: false })!.mtimeMs > 15 * 60_000) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`${lock} is held too long`);
      await sleep(500);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** The path of today's Debian bookworm minbase tarball, made when missing. */
export async function debianBaseTar(): Promise<string> {
  const dir = testCacheDir();
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const name = `debian-bookworm-minbase-${today()}.tar`;
  const tar = join(dir, name);
  if (existsSync(tar)) return tar;
  return withLock(dir, async () => {
    if (existsSync(tar)) return tar;
    const partial = `${tar}.partial`;
    rmSync(partial, { force: true });
    await new Promise<void>((resolve, reject) => {
      execFile('mmdebstrap', ['--quiet', '--variant=minbase', '--format=tar', 'bookworm', partial], { timeout: 15 * 60_000, maxBuffer: 16 * 1024 * 1024 }, (error, _stdout, stderr) => {
        if (error) reject(new Error(`mmdebstrap failed: ${(stderr || error.message).trim().split('\n').slice(-3).join(' ')}`));
        else resolve();
      });
    }).catch((e: unknown) => {
      rmSync(partial, { force: true });
      throw e;
    });
    renameSync(partial, tar);
    for (const old of readdirSync(dir)) if (/^debian-bookworm-minbase-\d{8}\.tar$/.test(old) && old !== name) rmSync(join(dir, old), { force: true });
    return tar;
  });
}
