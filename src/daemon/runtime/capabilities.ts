/**
 * Linux capabilities: names by number, the set a container gets by default (Docker's 14), and
 * cap_add/cap_drop applied the way Docker documents them, limited to what the daemon itself can
 * grant (its bounding set: this machine's root lacks CAP_SYS_RESOURCE, and runc fails the
 * container if asked for a capability it does not have).
 */
import { EngineError } from '../../contract/errors.js';

/** Capability names without the CAP_ prefix, indexed by their number (linux/capability.h). */
export const CAPABILITY_NAMES: readonly string[] = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID',
  'SETPCAP', 'LINUX_IMMUTABLE', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW',
  'IPC_LOCK', 'IPC_OWNER', 'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT',
  'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE', 'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD',
  'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP', 'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG',
  'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ', 'PERFMON', 'BPF', 'CHECKPOINT_RESTORE',
];

/** What an unprivileged container gets (Docker's documented default set). */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CHOWN', 'DAC_OVERRIDE', 'FSETID', 'FOWNER', 'MKNOD', 'NET_RAW', 'SETGID', 'SETUID', 'SETFCAP',
  'SETPCAP', 'NET_BIND_SERVICE', 'SYS_CHROOT', 'KILL', 'AUDIT_WRITE',
];

/** The capabilities set in a /proc/<pid>/status mask (e.g. CapBnd: 000001fffeffffff). */
export function capabilitiesFromMask(hex: string): string[] {
  const mask = BigInt(`0x${hex.trim()}`);
  return CAPABILITY_NAMES.filter((_, bit) => (mask >> BigInt(bit)) & 1n);
}

/** The mask of a set of capability names (the inverse of capabilitiesFromMask), as 16 hex digits. */
export function maskOf(names: Iterable<string>): string {
  let mask = 0n;
  for (const name of names) {
    const bit = CAPABILITY_NAMES.indexOf(name);
    if (bit >= 0) mask |= 1n << BigInt(bit);
  }
  return mask.toString(16).padStart(16, '0');
}

/** "cap_net_admin", "CAP_NET_ADMIN", "net_admin" → "NET_ADMIN"; "all" → "ALL". */
export function normalizeCapability(name: string): string {
  const upper = name.trim().toUpperCase();
  return upper.startsWith('CAP_') ? upper.slice(4) : upper;
}

function validated(list: readonly string[], option: string): string[] {
  const out: string[] = [];
  for (const raw of list) {
    const name = normalizeCapability(raw);
    if (name !== 'ALL' && !CAPABILITY_NAMES.includes(name)) throw new EngineError('invalid', `unknown capability ${JSON.stringify(raw)} in ${option}`);
    out.push(name);
  }
  return out;
}

/**
 * The container's capabilities (names without CAP_, sorted by number).
 *  - privileged: every capability the daemon has;
 *  - cap_add ALL: every capability the daemon has, minus cap_drop;
 *  - cap_drop ALL: only cap_add;
 *  - otherwise the default set minus cap_drop plus cap_add.
 * A capability named in cap_add that the daemon's bounding set lacks is an error (runc would fail
 * the container with "unable to apply caps: operation not permitted"); a default the daemon lacks
 * is left out silently.
 */
export function containerCapabilities(options: { privileged: boolean; capAdd: readonly string[]; capDrop: readonly string[] }, daemonHas: ReadonlySet<string>): string[] {
  const add = validated(options.capAdd, 'cap_add');
  const drop = validated(options.capDrop, 'cap_drop');
  const order = (set: Set<string>) => CAPABILITY_NAMES.filter((c) => set.has(c));
  const available = CAPABILITY_NAMES.filter((c) => daemonHas.has(c));
  if (options.privileged) return available;
  for (const name of add) {
    if (name !== 'ALL' && !daemonHas.has(name)) {
      throw new EngineError('invalid', `cannot add capability ${name}: the daemon itself does not have it (its bounding set lacks it)`);
    }
  }
  let result: Set<string>;
  if (add.includes('ALL')) result = new Set(available.filter((c) => !drop.includes(c)));
  else if (drop.includes('ALL')) result = new Set(add);
  else {
    result = new Set(DEFAULT_CAPABILITIES.filter((c) => daemonHas.has(c) && !drop.includes(c)));
    for (const c of add) result.add(c);
  }
  return order(result);
}
