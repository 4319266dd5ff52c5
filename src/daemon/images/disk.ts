/**
 * Free space while images are unpacked: checked before each layer and again after every
 * CHECK_EVERY bytes written, so a layer that would fill the disk (a decompression bomb within the
 * size cap, or a disk that is simply full) stops with a clear error while some room is left.
 */
import { statfs } from 'node:fs/promises';
import { EngineError } from '../../contract/errors.js';

const CHECK_EVERY = 64 * 1024 * 1024;

function mib(n: number): string {
  return `${Math.floor(n / (1024 * 1024))} MiB`;
}

export async function freeBytes(path: string): Promise<number> {
  const s = await statfs(path);
  return s.bavail * s.bsize;
}

export class DiskGuard {
  private sinceCheck = 0;

  /** `minFree`: bytes that must stay free on `path`'s file system. */
  constructor(
    private readonly path: string,
    private readonly minFree: number,
  ) {}

  /** Throws EngineError resource when less than `minFree` (plus `needed`) is free. */
  async check(needed = 0): Promise<void> {
    this.sinceCheck = 0;
    const free = await freeBytes(this.path);
    if (free < this.minFree + needed) {
      throw new EngineError(
        'resource',
        `not enough free space to unpack the image: ${mib(free)} free on the file system of ${this.path}, ${mib(this.minFree + needed)} needed (${mib(this.minFree)} are always kept free)`,
      );
    }
  }

  async wrote(bytes: number): Promise<void> {
    this.sinceCheck += bytes;
    if (this.sinceCheck >= CHECK_EVERY) await this.check();
  }
}
