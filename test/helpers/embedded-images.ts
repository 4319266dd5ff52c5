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
          execFile('bash', [scriptPath(script), out], { encoding: 'utf8', timeout: 60_000 }, (error, _stdout, stderr) => {
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
