/**
 * Images for the embedded engine's tests. busyboxRootfsTar() resolves to the path of a root
 * filesystem tarball made by scripts/busybox-rootfs from /bin/busybox (static; a symlink per
 * applet, /etc/passwd, /etc/group, /tmp 1777): built once per test process into a temporary
 * folder, removed when the process exits. Import it as busybox:latest with
 * ImageStore.importRootfs(createReadStream(path), { reference: 'busybox:latest' }) or
 * `flotilla image import PATH busybox:latest`.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// From dist/test/helpers/ (or test/helpers/) up to the repository.
const SCRIPT = fileURLToPath(new URL('../../../scripts/busybox-rootfs', import.meta.url));
const IMAGE_SCRIPT = fileURLToPath(new URL('../../../scripts/busybox-image', import.meta.url));

let cached: Promise<string> | undefined;

async function build(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'flotilla-busybox-rootfs-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'busybox-rootfs.tar');
  try {
    await new Promise<void>((resolve, reject) => {
      execFile('bash', [SCRIPT, out], { encoding: 'utf8', timeout: 60_000 }, (error, _stdout, stderr) => {
        if (error) reject(new Error(`scripts/busybox-rootfs failed: ${(stderr.trim() || error.message).split('\n')[0]}`));
        else resolve();
      });
    });
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  return out;
}

/** The busybox root filesystem tarball's path; a failed build is retried on the next call. */
export function busyboxRootfsTar(): Promise<string> {
  if (cached === undefined) {
    cached = build();
    cached.catch(() => {
      cached = undefined;
    });
  }
  return cached;
}

let cachedImage: Promise<string> | undefined;

/**
 * A `docker save` archive of busybox:latest with Cmd ["sh"], as the Engine contract expects (made
 * by scripts/busybox-image once per process, removed on exit).
 */
export function busyboxImageTar(): Promise<string> {
  if (cachedImage === undefined) {
    cachedImage = (async () => {
      const dir = await mkdtemp(join(tmpdir(), 'flotilla-busybox-image-'));
      process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
      const out = join(dir, 'busybox-image.tar');
      await new Promise<void>((resolve, reject) => {
        execFile('bash', [IMAGE_SCRIPT, out], { encoding: 'utf8', timeout: 60_000 }, (error, _stdout, stderr) => {
          if (error) reject(new Error(`scripts/busybox-image failed: ${(stderr.trim() || error.message).split('\n')[0]}`));
          else resolve();
        });
      });
      return out;
    })();
    cachedImage.catch(() => {
      cachedImage = undefined;
    });
  }
  return cachedImage;
}
