/**
 * Seccomp filters in OCI form (config.json linux.seccomp).
 *
 * The default profile is an allow-list, as Docker's is: the calls in seccomp-allow-list.ts are
 * allowed, everything else fails with EPERM. On top of the fixed table:
 *   - calls a capability gives back (mount and unshare with CAP_SYS_ADMIN, ptrace with
 *     CAP_SYS_PTRACE, ...), only when the container holds it;
 *   - ptrace and process_vm_readv/writev without CAP_SYS_PTRACE on kernels >= 4.8;
 *   - clone without CAP_SYS_ADMIN only without a CLONE_NEW* flag, and clone3 failing with ENOSYS
 *     (its flags are in memory seccomp cannot read), so that libc falls back to clone;
 *   - socket for every address family but AF_ALG (38) and AF_VSOCK (40);
 *   - personality only with 0, PER_LINUX32 (8), UNAME26 (0x20000), both, or the query (0xffffffff).
 * runc adds conditions on one argument as separate rules (any one matching); the socket and
 * personality rules are written one per value for that reason. Privileged containers and
 * `seccomp=unconfined` get no filter; `seccomp=<file>` loads a profile in Docker's JSON format
 * (compileProfile).
 */
import { EngineError } from '../../contract/errors.js';
import { ALWAYS_ALLOWED, ARCH_ALLOWED, CAPABILITY_ALLOWED, PTRACE_CALLS, PTRACE_MIN_KERNEL } from './seccomp-allow-list.js';

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
const AF_ALG = 38;
const AF_VSOCK = 40;

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

/** clone's flags that make a namespace (argument 0 on x86 and arm). */
const CLONE_NEW_FLAGS =
  0x00020000 + // CLONE_NEWNS
  0x02000000 + // CLONE_NEWCGROUP
  0x04000000 + // CLONE_NEWUTS
  0x08000000 + // CLONE_NEWIPC
  0x10000000 + // CLONE_NEWUSER
  0x20000000 + // CLONE_NEWPID
  0x40000000; // CLONE_NEWNET

const PERSONALITIES = [0, 0x8, 0x20000, 0x20008, 0xffffffff];

/**
 * The default profile for a container with these capabilities (names without CAP_) on this
 * architecture (process.arch) and kernel release (os.release()).
 */
export function defaultSeccompProfile(capabilities: ReadonlySet<string>, arch: string, kernel: string): OciSeccomp {
  const allowed = new Set<string>(Object.values(ALWAYS_ALLOWED).flat());
  for (const rule of ARCH_ALLOWED) if (rule.arches.includes(arch)) for (const n of rule.names) allowed.add(n);
  for (const rule of CAPABILITY_ALLOWED) if (capabilities.has(rule.cap)) for (const n of rule.names) allowed.add(n);
  if (kernelAtLeast(kernel, `${PTRACE_MIN_KERNEL[0]}.${PTRACE_MIN_KERNEL[1]}`)) for (const n of PTRACE_CALLS) allowed.add(n);

  const allow = (names: string[], args?: OciSeccompArg[]): OciSeccompSyscall => ({ names, action: 'SCMP_ACT_ALLOW', ...(args ? { args } : {}) });
  const syscalls: OciSeccompSyscall[] = [allow([...allowed].sort())];
  for (const args of [
    { index: 0, value: AF_ALG, op: 'SCMP_CMP_LT' },
    { index: 0, value: AF_ALG + 1, op: 'SCMP_CMP_EQ' },
    { index: 0, value: AF_VSOCK, op: 'SCMP_CMP_GT' },
  ]) {
    syscalls.push(allow(['socket'], [args]));
  }
  for (const value of PERSONALITIES) syscalls.push(allow(['personality'], [{ index: 0, value, op: 'SCMP_CMP_EQ' }]));
  if (!capabilities.has('SYS_ADMIN')) {
    syscalls.push(allow(['clone'], [{ index: 0, value: CLONE_NEW_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }]));
    syscalls.push({ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS });
  }
  return { defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: EPERM, architectures: seccompArchitectures(arch), syscalls };
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
