/**
 * Seccomp filters in OCI form (config.json linux.seccomp).
 *
 * The default profile is our own, written from the behaviour Docker documents on
 * docs.docker.com, "Seccomp security profiles for Docker": the table of "significant syscalls
 * blocked by the default profile" and the capabilities that give some of them back. Docker's
 * profile is an allow-list; this one is the equivalent deny-list: everything is allowed except
 * the calls below, which fail with EPERM (clone3 with ENOSYS, so that glibc falls back to clone,
 * whose namespace flags can then be checked):
 *
 *   blocked unless the container has      system calls
 *   CAP_SYS_ADMIN                         mount umount umount2 pivot_root unshare setns
 *                                         clone (with a CLONE_NEW* flag) clone3 (ENOSYS)
 *                                         fsopen fsconfig fsmount fspick move_mount open_tree
 *                                         mount_setattr name_to_handle_at quotactl quotactl_fd
 *                                         lookup_dcookie swapon swapoff
 *   CAP_SYS_BOOT                          reboot kexec_load kexec_file_load
 *   CAP_SYS_MODULE                        init_module finit_module delete_module
 *   CAP_SYS_PACCT                         acct
 *   CAP_SYS_PTRACE                        ptrace process_vm_readv process_vm_writev kcmp pidfd_getfd
 *   CAP_SYS_RAWIO                         iopl ioperm
 *   CAP_SYS_TIME                          settimeofday stime clock_settime(64) clock_adjtime(64)
 *   CAP_SYS_NICE                          get_mempolicy set_mempolicy mbind move_pages
 *                                         set_mempolicy_home_node
 *   CAP_DAC_READ_SEARCH                   open_by_handle_at
 *   CAP_SYSLOG or CAP_SYS_ADMIN           syslog
 *   CAP_BPF or CAP_SYS_ADMIN              bpf
 *   CAP_PERFMON or CAP_SYS_ADMIN          perf_event_open
 *   CAP_SYS_TTY_CONFIG                    vhangup
 *   (always)                              add_key keyctl request_key nfsservctl create_module
 *                                         get_kernel_syms query_module uselib ustat sysfs _sysctl
 *                                         vm86 vm86old userfaultfd, and personality with any
 *                                         value but 0, 8 (PER_LINUX32), 0x20000 (UNAME26),
 *                                         0x20008 and 0xffffffff (the query)
 *
 * Beyond the documented table: clone3, the new mount API (fs*, move_mount, open_tree,
 * mount_setattr), quotactl_fd, pidfd_getfd, set_mempolicy_home_node, clock_*64, syslog and
 * vhangup, which are the newer or 32-bit forms of blocked calls, or calls Docker's profile
 * likewise gives only with those capabilities. ptrace is blocked without CAP_SYS_PTRACE even on
 * kernels >= 4.8 (Docker allows it there).
 *
 * runc turns several conditions on the same argument into separate rules (any one matching),
 * which is what the clone and personality rules rely on. Privileged containers and
 * `seccomp=unconfined` get no filter; `seccomp=<file>` loads a profile in Docker's JSON format
 * (compileProfile).
 */
import { EngineError } from '../../engine/errors.js';

export interface OciSeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: string;
}

export interface OciSeccompSyscall {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: OciSeccompArg[];
}

export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  syscalls?: OciSeccompSyscall[];
}

const EPERM = 1;
const ENOSYS = 38;

/** The architectures a filter covers on this machine: the native one and its compat modes. */
export function seccompArchitectures(arch: string): string[] {
  switch (arch) {
    case 'x64':
      return ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'];
    case 'ia32':
      return ['SCMP_ARCH_X86'];
    case 'arm64':
      return ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'];
    case 'arm':
      return ['SCMP_ARCH_ARM'];
    default:
      return [];
  }
}

interface Blocked {
  names: string[];
  /** Any one of these capabilities lifts the block. */
  unlessCap?: string[];
  errno?: number;
  args?: OciSeccompArg[];
}

const bit = (n: number) => 2 ** n;

/** clone's flags (argument 0 on x86 and arm): one condition per namespace flag, any one blocks. */
const CLONE_NAMESPACE_FLAGS = [
  0x00020000, // CLONE_NEWNS
  0x02000000, // CLONE_NEWCGROUP
  0x04000000, // CLONE_NEWUTS
  0x08000000, // CLONE_NEWIPC
  0x10000000, // CLONE_NEWUSER
  0x20000000, // CLONE_NEWPID
  0x40000000, // CLONE_NEWNET
].map((flag): OciSeccompArg => ({ index: 0, value: flag, valueTwo: flag, op: 'SCMP_CMP_MASKED_EQ' }));

/**
 * personality(persona) is allowed only for 0, 0x8, 0x20000, 0x20008 and 0xffffffff. As a union of
 * single masked comparisons: "bit 31 clear and some bit other than 3 and 17 set", or "bit 31 set
 * and some other bit clear" (0xffffffff has none clear).
 */
const PERSONALITY_CONDITIONS: OciSeccompArg[] = [
  ...Array.from({ length: 31 }, (_, i) => i)
    .filter((i) => i !== 3 && i !== 17)
    .map((i): OciSeccompArg => ({ index: 0, value: bit(i) + bit(31), valueTwo: bit(i), op: 'SCMP_CMP_MASKED_EQ' })),
  ...Array.from({ length: 31 }, (_, j) => j).map((j): OciSeccompArg => ({ index: 0, value: bit(31) + bit(j), valueTwo: bit(31), op: 'SCMP_CMP_MASKED_EQ' })),
];

const BLOCKED: readonly Blocked[] = [
  {
    names: ['mount', 'umount', 'umount2', 'pivot_root', 'unshare', 'setns', 'fsopen', 'fsconfig', 'fsmount', 'fspick', 'move_mount', 'open_tree', 'mount_setattr', 'name_to_handle_at', 'quotactl', 'quotactl_fd', 'lookup_dcookie', 'swapon', 'swapoff'],
    unlessCap: ['SYS_ADMIN'],
  },
  { names: ['clone'], unlessCap: ['SYS_ADMIN'], args: CLONE_NAMESPACE_FLAGS },
  { names: ['clone3'], unlessCap: ['SYS_ADMIN'], errno: ENOSYS },
  { names: ['reboot', 'kexec_load', 'kexec_file_load'], unlessCap: ['SYS_BOOT'] },
  { names: ['init_module', 'finit_module', 'delete_module'], unlessCap: ['SYS_MODULE'] },
  { names: ['acct'], unlessCap: ['SYS_PACCT'] },
  { names: ['ptrace', 'process_vm_readv', 'process_vm_writev', 'kcmp', 'pidfd_getfd'], unlessCap: ['SYS_PTRACE'] },
  { names: ['iopl', 'ioperm'], unlessCap: ['SYS_RAWIO'] },
  { names: ['settimeofday', 'stime', 'clock_settime', 'clock_settime64', 'clock_adjtime', 'clock_adjtime64'], unlessCap: ['SYS_TIME'] },
  { names: ['get_mempolicy', 'set_mempolicy', 'mbind', 'move_pages', 'set_mempolicy_home_node'], unlessCap: ['SYS_NICE'] },
  { names: ['open_by_handle_at'], unlessCap: ['DAC_READ_SEARCH'] },
  { names: ['syslog'], unlessCap: ['SYSLOG', 'SYS_ADMIN'] },
  { names: ['bpf'], unlessCap: ['BPF', 'SYS_ADMIN'] },
  { names: ['perf_event_open'], unlessCap: ['PERFMON', 'SYS_ADMIN'] },
  { names: ['vhangup'], unlessCap: ['SYS_TTY_CONFIG'] },
  {
    names: ['add_key', 'keyctl', 'request_key', 'nfsservctl', 'create_module', 'get_kernel_syms', 'query_module', 'uselib', 'ustat', 'sysfs', '_sysctl', 'vm86', 'vm86old', 'userfaultfd'],
  },
  { names: ['personality'], args: PERSONALITY_CONDITIONS },
];

/** The default profile for a container with these capabilities (names without CAP_). */
export function defaultSeccompProfile(capabilities: ReadonlySet<string>, arch: string): OciSeccomp {
  const syscalls: OciSeccompSyscall[] = [];
  for (const rule of BLOCKED) {
    if (rule.unlessCap?.some((c) => capabilities.has(c))) continue;
    const entry: OciSeccompSyscall = { names: [...rule.names], action: 'SCMP_ACT_ERRNO', errnoRet: rule.errno ?? EPERM };
    if (rule.args) entry.args = rule.args.map((a) => ({ ...a }));
    syscalls.push(entry);
  }
  return { defaultAction: 'SCMP_ACT_ALLOW', architectures: seccompArchitectures(arch), syscalls };
}

// ---- profiles from files (Docker's JSON format) ------------------------------------------------

interface ProfileFilter {
  caps?: string[];
  arches?: string[];
  minKernel?: string;
}

const ARCH_NAMES: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm' };

function kernelAtLeast(kernel: string, min: string): boolean {
  const parse = (v: string) => v.split(/[.-]/).slice(0, 2).map((n) => Number.parseInt(n, 10) || 0);
  const [a = 0, b = 0] = parse(kernel);
  const [c = 0, d = 0] = parse(min);
  return a !== c ? a > c : b >= d;
}

function stripCap(name: string): string {
  const upper = name.toUpperCase();
  return upper.startsWith('CAP_') ? upper.slice(4) : upper;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function stringList(x: unknown): string[] {
  return Array.isArray(x) ? x.filter((s): s is string => typeof s === 'string') : [];
}

/**
 * A profile in Docker's format (defaultAction, architectures or archMap, syscalls with names or
 * name, action, errnoRet, args, includes/excludes by capability, architecture and minimum kernel)
 * compiled into the OCI form for a container with these capabilities on this architecture. An
 * OCI-form profile passes through the same way (it has no includes or excludes).
 */
export function compileProfile(profile: unknown, capabilities: ReadonlySet<string>, arch: string, kernel: string, source = 'the seccomp profile'): OciSeccomp {
  if (!isObject(profile) || typeof profile['defaultAction'] !== 'string') {
    throw new EngineError('invalid', `${source}: not a seccomp profile (no defaultAction)`);
  }
  const goArch = ARCH_NAMES[arch] ?? arch;
  const out: OciSeccomp = { defaultAction: profile['defaultAction'] };
  if (typeof profile['defaultErrnoRet'] === 'number') out.defaultErrnoRet = profile['defaultErrnoRet'];
  const native = seccompArchitectures(arch)[0];
  if (Array.isArray(profile['archMap'])) {
    const entry = profile['archMap'].find((m) => isObject(m) && m['architecture'] === native);
    out.architectures = isObject(entry) ? [String(entry['architecture']), ...stringList(entry['subArchitectures'])] : [];
  } else if (Array.isArray(profile['architectures'])) {
    out.architectures = stringList(profile['architectures']);
  }
  if (Array.isArray(profile['flags'])) out.flags = stringList(profile['flags']);
  const applies = (filter: unknown, include: boolean): boolean => {
    if (!isObject(filter)) return true;
    const f = filter as ProfileFilter;
    const caps = stringList(f.caps).map(stripCap);
    const arches = stringList(f.arches);
    if (include) {
      if (caps.some((c) => !capabilities.has(c))) return false;
      if (arches.length > 0 && !arches.includes(goArch)) return false;
      if (typeof f.minKernel === 'string' && !kernelAtLeast(kernel, f.minKernel)) return false;
      return true;
    }
    if (caps.some((c) => capabilities.has(c))) return false;
    if (arches.includes(goArch)) return false;
    return true;
  };
  const syscalls: OciSeccompSyscall[] = [];
  for (const [i, raw] of (Array.isArray(profile['syscalls']) ? profile['syscalls'] : []).entries()) {
    if (!isObject(raw)) throw new EngineError('invalid', `${source}: syscalls[${i}] is not an object`);
    if (!applies(raw['includes'], true) || !applies(raw['excludes'], false)) continue;
    const names = typeof raw['name'] === 'string' ? [raw['name'], ...stringList(raw['names'])] : stringList(raw['names']);
    if (names.length === 0) throw new EngineError('invalid', `${source}: syscalls[${i}] names no system call`);
    if (typeof raw['action'] !== 'string') throw new EngineError('invalid', `${source}: syscalls[${i}] has no action`);
    const entry: OciSeccompSyscall = { names, action: raw['action'] };
    if (typeof raw['errnoRet'] === 'number') entry.errnoRet = raw['errnoRet'];
    if (Array.isArray(raw['args']) && raw['args'].length > 0) {
      entry.args = raw['args'].map((a, j) => {
        if (!isObject(a) || typeof a['index'] !== 'number' || typeof a['value'] !== 'number' || typeof a['op'] !== 'string') {
          throw new EngineError('invalid', `${source}: syscalls[${i}].args[${j}] needs index, value and op`);
        }
        const arg: OciSeccompArg = { index: a['index'], value: a['value'], op: a['op'] };
        if (typeof a['valueTwo'] === 'number') arg.valueTwo = a['valueTwo'];
        return arg;
      });
    }
    syscalls.push(entry);
  }
  out.syscalls = syscalls;
  return out;
}
