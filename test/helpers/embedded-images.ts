/**
 * Images for the embedded engine's tests. busyboxRootfsTar() is the path of a root filesystem
 * tarball made by scripts/busybox-rootfs (Debian's static busybox, a link per applet, /etc/passwd,
 * /etc/group, /tmp 1777): built once per test process into a temporary folder, removed when the
 * process exits. Import it with ImageStore.importRootfs or `flotilla image import`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// From dist/test/helpers/ (or test/helpers/) up to the repository.
const SCRIPT = fileURLToPath(new URL('../../../scripts/busybox-rootfs', import.meta.url));

let cached: string | undefined;

export function busyboxRootfsTar(): string {
  if (cached !== undefined) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-busybox-rootfs-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'busybox-rootfs.tar');
  const r = spawnSync('bash', [SCRIPT, out], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`scripts/busybox-rootfs failed: ${(r.stderr || String(r.error)).trim()}`);
  cached = out;
  return out;
}
