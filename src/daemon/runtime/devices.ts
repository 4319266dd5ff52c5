/**
 * Host devices in the container: `devices:` entries (a device node, or a directory of them),
 * device cgroup rules, and every host device for a privileged container. runc itself creates the
 * basic nodes (/dev/null, zero, full, random, urandom, tty) and allows them.
 */
import { lstatSync, readdirSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { EngineError } from '../../contract/errors.js';

export interface OciDevice {
  path: string;
  type: 'c' | 'b';
  major: number;
  minor: number;
  fileMode: number;
  uid: number;
  gid: number;
}

export interface OciDeviceRule {
  allow: boolean;
  type?: string;
  major?: number;
  minor?: number;
  access?: string;
}

/** Linux's dev_t encoding (major: bits 8-19 and 32-43; minor: bits 0-7 and 20-31). */
export function splitDev(rdev: number): { major: number; minor: number } {
  const big = BigInt(rdev);
  const major = Number(((big >> 8n) & 0xfffn) | ((big >> 32n) & ~0xfffn));
  const minor = Number((big & 0xffn) | ((big >> 12n) & ~0xffn));
  return { major, minor };
}

function deviceOf(st: Stats, inContainer: string): OciDevice | null {
  const type = st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : null;
  if (!type) return null;
  const { major, minor } = splitDev(st.rdev);
  return { path: inContainer, type, major, minor, fileMode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
}

function checkPermissions(p: string): string {
  const perms = p || 'rwm';
  if (!/^[rwm]{1,3}$/.test(perms)) throw new EngineError('invalid', `invalid device permissions ${JSON.stringify(p)}: expected a combination of r, w and m`);
  return perms;
}

/** The service's `devices:` resolved on the host: nodes and the cgroup rules allowing them. */
export function mappedDevices(devices: readonly { pathOnHost: string; pathInContainer: string; permissions: string }[]): { devices: OciDevice[]; rules: OciDeviceRule[] } {
  const out: OciDevice[] = [];
  const rules: OciDeviceRule[] = [];
  for (const d of devices) {
    const access = checkPermissions(d.permissions);
    const target = d.pathInContainer || d.pathOnHost;
    let st: Stats;
    try {
      st = statSync(d.pathOnHost);
    } catch (e) {
      throw new EngineError('invalid', `error gathering device information while adding custom device ${JSON.stringify(d.pathOnHost)}: ${(e as Error).message}`);
    }
    const found: OciDevice[] = [];
    if (st.isDirectory()) {
      for (const name of readdirSync(d.pathOnHost)) {
        const full = join(d.pathOnHost, name);
        const dev = deviceOf(lstatSync(full), join(target, name));
        if (dev) found.push(dev);
      }
    } else {
      const dev = deviceOf(st, target);
      if (!dev) throw new EngineError('invalid', `${d.pathOnHost} is not a device node`);
      found.push(dev);
    }
    for (const dev of found) {
      out.push(dev);
      rules.push({ allow: true, type: dev.type, major: dev.major, minor: dev.minor, access });
    }
  }
  return { devices: out, rules };
}

/** "c 1:3 rwm", "b *:* m", "a *:* rwm" (device_cgroup_rules). */
export function parseDeviceRule(rule: string): OciDeviceRule {
  const m = /^([acb]) (\d+|\*):(\d+|\*) ([rwm]{1,3})$/.exec(rule.trim());
  if (!m) throw new EngineError('invalid', `invalid device cgroup rule ${JSON.stringify(rule)}: expected "type major:minor access", e.g. "c 1:3 rwm"`);
  const out: OciDeviceRule = { allow: true, type: m[1] as string, access: m[4] as string };
  if (m[2] !== '*') out.major = Number(m[2]);
  if (m[3] !== '*') out.minor = Number(m[3]);
  return out;
}

const SKIPPED_DIRS = new Set(['pts', 'shm', 'mqueue', 'fd', '.lxc', '.lxd-mounts', '.udev']);
const SKIPPED_NODES = new Set(['console', 'ptmx', 'tty']);

/** Every device node under the host's /dev, for a privileged container. */
export function allHostDevices(root = '/dev'): OciDevice[] {
  const out: OciDevice[] = [];
  const walk = (dir: string, rel: string) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      const full = join(dir, name);
      let st: Stats;
      try {
        st = lstatSync(full);
      } catch {
        continue;
      }
      if (st.isDirectory()) {
        if (!SKIPPED_DIRS.has(name) || rel !== '') walk(full, `${rel}${name}/`);
        continue;
      }
      if (rel === '' && SKIPPED_NODES.has(name)) continue;
      const dev = deviceOf(st, `/dev/${rel}${name}`);
      if (dev) out.push(dev);
    }
  };
  walk(root, '');
  return out;
}
