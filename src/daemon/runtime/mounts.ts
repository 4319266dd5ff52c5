/**
 * The container's mounts in OCI form: the system ones every container gets (/proc, /dev, /dev/pts,
 * /dev/shm, /dev/mqueue, /sys, /sys/fs/cgroup), the host files (/etc/hosts, /etc/resolv.conf,
 * /etc/hostname), the init binary, and the service's binds and tmpfs. Pure.
 */
import { posix } from 'node:path';
import { EngineError } from '../../contract/errors.js';
import type { HostMount } from './types.js';

export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

/** Where `init: true` mounts tini-static in the container. */
export const INIT_PATH = '/sbin/flotilla-init';
export const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;

/** Docker's masked paths: hidden from unprivileged containers. */
export const MASKED_PATHS = [
  '/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
];
/** Docker's read-only paths for unprivileged containers. */
export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

const PROPAGATIONS = ['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave'];

function cleanTarget(target: string, what: string): string {
  if (!target.startsWith('/')) throw new EngineError('invalid', `${what}: the mount point ${JSON.stringify(target)} must be an absolute path`);
  const clean = posix.normalize(target);
  return clean.length > 1 && clean.endsWith('/') ? clean.slice(0, -1) : clean;
}

/**
 * tmpfs options: nosuid, nodev and noexec unless the service says suid, dev or exec; a size or
 * mode given is kept. "size=64m" style suffixes are passed to the kernel as they are.
 */
export function tmpfsOptions(options: readonly string[]): string[] {
  const given = options.map((o) => o.trim()).filter(Boolean);
  const out: string[] = [];
  for (const [flag, opposite] of [['nosuid', 'suid'], ['nodev', 'dev'], ['noexec', 'exec']] as const) {
    if (!given.includes(opposite)) out.push(flag);
  }
  for (const o of given) if (!out.includes(o)) out.push(o);
  return out;
}

export function userMounts(mounts: readonly HostMount[]): OciMount[] {
  const out: OciMount[] = [];
  for (const m of mounts) {
    if (m.type === 'bind') {
      if (!m.source.startsWith('/')) throw new EngineError('invalid', `bind mount of ${JSON.stringify(m.source)}: the source must be an absolute host path`);
      const propagation = m.propagation || 'rprivate';
      if (!PROPAGATIONS.includes(propagation)) throw new EngineError('invalid', `bind mount at ${m.target}: unknown propagation ${JSON.stringify(propagation)}`);
      out.push({ destination: cleanTarget(m.target, 'bind mount'), type: 'bind', source: m.source, options: ['rbind', m.readOnly ? 'ro' : 'rw', propagation] });
    } else {
      out.push({ destination: cleanTarget(m.target, 'tmpfs'), type: 'tmpfs', source: 'tmpfs', options: tmpfsOptions(m.options) });
    }
  }
  const seen = new Set<string>();
  for (const m of out) {
    if (seen.has(m.destination)) throw new EngineError('invalid', `duplicate mount point ${m.destination}`);
    seen.add(m.destination);
  }
  // Parents before children, so that a mount inside another one is not hidden by it.
  const depth = (p: string) => (p === '/' ? 0 : p.split('/').length);
  return out.sort((a, b) => depth(a.destination) - depth(b.destination));
}

export interface SystemMountOptions {
  privileged: boolean;
  readOnlyRootfs: boolean;
  shmSize: number;
  /** private: a tmpfs; host: the host's /dev/shm; a path: that directory (another container's /dev/shm). */
  shm: 'private' | 'host' | { path: string };
  files: { hosts: string; resolvConf: string; hostname: string };
  /** The host path of tini-static when init is on. */
  init: string | null;
}

/** The mounts every container gets, minus those the service's own mounts replace. */
export function systemMounts(o: SystemMountOptions, userDestinations: ReadonlySet<string>): OciMount[] {
  const sysOptions = ['nosuid', 'noexec', 'nodev', o.privileged ? 'rw' : 'ro'];
  const shm: OciMount =
    o.shm === 'private'
      ? { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${o.shmSize}`] }
      : { destination: '/dev/shm', type: 'bind', source: o.shm === 'host' ? '/dev/shm' : o.shm.path, options: ['rbind', 'rprivate', 'rw'] };
  const fileOptions = ['rbind', 'rprivate', o.readOnlyRootfs ? 'ro' : 'rw'];
  const all: OciMount[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: sysOptions },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: [...sysOptions, 'relatime'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    shm,
    { destination: '/etc/resolv.conf', type: 'bind', source: o.files.resolvConf, options: fileOptions },
    { destination: '/etc/hostname', type: 'bind', source: o.files.hostname, options: fileOptions },
    { destination: '/etc/hosts', type: 'bind', source: o.files.hosts, options: fileOptions },
  ];
  if (o.init) all.push({ destination: INIT_PATH, type: 'bind', source: o.init, options: ['bind', 'ro', 'nosuid', 'nodev'] });
  return all.filter((m) => !userDestinations.has(m.destination));
}

/**
 * The shared /dev/shm of the container whose IPC namespace is `/proc/<pid>/ns/ipc`: its root as
 * seen from the host, `/proc/<pid>/root/dev/shm`. Other paths share the namespace only.
 */
export function sharedShm(ipcPath: string): { path: string } | null {
  const m = /^\/proc\/(\d+)\/ns\/ipc$/.exec(ipcPath);
  return m ? { path: `/proc/${m[1]}/root/dev/shm` } : null;
}
