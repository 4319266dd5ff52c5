/**
 * Images for the embedded engine's tests. busyboxRootfsTar() resolves to the path of a root
 * filesystem tarball made by scripts/busybox-rootfs from /bin/busybox (static; a symlink per
 * applet, /etc/passwd, /etc/group, /tmp 1777): built once per test process into a temporary
 * folder, removed when the process exits. Import it as busybox:latest with
 * ImageStore.importRootfs(createReadStream(path), { reference: 'busybox:latest' }) or
 * `flotilla image import PATH busybox:latest`.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// From dist/test/helpers/ (or test/helpers/) up to the repository.
const scriptPath = (name: string) => fileURLToPath(new URL(`../../../scripts/${name}`, import.meta.url));

const cache = new Map<string, Promise<string>>();

/**
 * The tarball scripts/<script> writes, built once per process in a temporary folder removed when
 * the process exits; a failed build is retried on the next call.
 */
function built(script: string): Promise<string> {
  let pending = cache.get(script);
  if (pending === undefined) {
    pending = (async () => {
      const dir = await mkdtemp(join(tmpdir(), `flotilla-${script}-`));
      process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
      const out = join(dir, `${script}.tar`);
      try {
        await new Promise<void>((resolve, reject) => {
          execFile('bash', [scriptPath(script), out], { encoding: 'utf8', timeout: 300_000 }, (error, _stdout, stderr) => {
            if (error) reject(new Error(`scripts/${script} failed: ${(stderr.trim() || error.message).split('\n')[0]}`));
            else resolve();
          });
        });
      } catch (e) {
        await rm(dir, { recursive: true, force: true });
        throw e;
      }
      return out;
    })();
    cache.set(script, pending);
    pending.catch(() => cache.delete(script));
  }
  return pending;
}

/** The busybox root filesystem tarball (scripts/busybox-rootfs). */
export function busyboxRootfsTar(): Promise<string> {
  return built('busybox-rootfs');
}

/** A `docker save` archive of busybox:latest with Cmd ["sh"], as the Engine contract expects (scripts/busybox-image). */
export function busyboxImageTar(): Promise<string> {
  return built('busybox-image');
}

/**
 * Calls `fn` with the files of image `id` of the store in `imagesDir` as a container sees them:
 * its layer snapshots (images/snapshots/<diff id hex>/fs, listed by the config blob's
 * rootfs.diff_ids) stacked read-only on a temporary mount point, unmounted afterwards. Needs root.
 */
export function withImageView<T>(imagesDir: string, id: string, fn: (root: string) => T): T {
  const config = JSON.parse(readFileSync(join(imagesDir, 'blobs', 'sha256', id.slice('sha256:'.length)), 'utf8')) as { rootfs: { diff_ids: string[] } };
  // Overlay refuses a lower dir listed twice: a repeated layer is kept at its topmost place only,
  // as the store stacks it for containers (the copy above has every file and whiteout of the one below).
  const ids = config.rootfs.diff_ids.filter((d, i, all) => !all.includes(d, i + 1));
  const lowers = ids.map((d) => join(imagesDir, 'snapshots', d.replace(/^sha256:/, ''), 'fs')).reverse();
  const target = mkdtempSync(join(tmpdir(), 'flt-image-view-'));
  try {
    const options = lowers.length === 1 ? ['--bind', '-o', 'ro', lowers[0] ?? '', target] : ['-t', 'overlay', 'overlay', '-o', `ro,lowerdir=${lowers.join(':')}`, target];
    const mounted = spawnSync('mount', options, { encoding: 'utf8' });
    assert.equal(mounted.status, 0, mounted.stderr);
    try {
      return fn(target);
    } finally {
      spawnSync('umount', [target]);
    }
  } finally {
    rmSync(target, { recursive: true, force: true });
  }
}
