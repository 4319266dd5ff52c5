/** The seccomp profile generator and the Docker-format profile compiler, as pure units. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EngineError } from '../../../src/contract/errors.js';
import { compileProfile, defaultSeccompProfile, type OciSeccomp, type OciSeccompArg } from '../../../src/daemon/runtime/seccomp.js';

/** What the filter does with a call, as runc builds it (several conditions on one argument: any matches). */
function verdict(profile: OciSeccomp, name: string, args: bigint[] = []): { action: string; errno?: number } {
  const matches = (a: OciSeccompArg) => {
    const v = args[a.index] ?? 0n;
    const value = BigInt(a.value);
    const two = BigInt(a.valueTwo ?? 0);
    switch (a.op) {
      case 'SCMP_CMP_MASKED_EQ':
        return (v & value) === two;
      case 'SCMP_CMP_EQ':
        return v === value;
      case 'SCMP_CMP_NE':
        return v !== value;
      case 'SCMP_CMP_LT':
        return v < value;
      case 'SCMP_CMP_GT':
        return v > value;
      default:
        throw new Error(`op ${a.op} not modelled`);
    }
  };
  for (const rule of profile.syscalls ?? []) {
    if (!rule.names.includes(name)) continue;
    const conds = rule.args ?? [];
    const sameIndex = new Set(conds.map((c) => c.index)).size < conds.length;
    const hit = conds.length === 0 || (sameIndex ? conds.some(matches) : conds.every(matches));
    if (hit) return { action: rule.action, ...(rule.errnoRet !== undefined ? { errno: rule.errnoRet } : {}) };
  }
  return { action: profile.defaultAction, ...(profile.defaultErrnoRet !== undefined ? { errno: profile.defaultErrnoRet } : {}) };
}

const DEFAULT_CAPS = new Set(['CHOWN', 'DAC_OVERRIDE', 'FSETID', 'FOWNER', 'MKNOD', 'NET_RAW', 'SETGID', 'SETUID', 'SETFCAP', 'SETPCAP', 'NET_BIND_SERVICE', 'SYS_CHROOT', 'KILL', 'AUDIT_WRITE']);
const EPERM = { action: 'SCMP_ACT_ERRNO', errno: 1 };
const ALLOW = { action: 'SCMP_ACT_ALLOW' };

const KERNEL = '6.1.0-18-amd64';

test('default profile: an allow-list, EPERM for everything else, x86_64 with its 32-bit modes', () => {
  const p = defaultSeccompProfile(DEFAULT_CAPS, 'x64', KERNEL);
  assert.equal(p.defaultAction, 'SCMP_ACT_ERRNO');
  assert.equal(p.defaultErrnoRet, 1);
  assert.deepEqual(p.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  assert.deepEqual(defaultSeccompProfile(DEFAULT_CAPS, 'arm64', KERNEL).architectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
  assert.ok(p.syscalls?.every((s) => s.action === 'SCMP_ACT_ALLOW' || s.names.join() === 'clone3'), 'only clone3 gets a rule that is not an allow');
  for (const name of [
    'io_uring_setup', 'io_uring_enter', 'io_uring_register', 'mount', 'umount2', 'pivot_root', 'unshare', 'setns', 'reboot', 'kexec_load', 'kexec_file_load',
    'init_module', 'finit_module', 'delete_module', 'acct', 'iopl', 'ioperm', 'settimeofday', 'clock_settime', 'keyctl', 'add_key', 'request_key',
    'bpf', 'perf_event_open', 'userfaultfd', 'open_by_handle_at', 'quotactl', 'lookup_dcookie', 'nfsservctl', 'vm86', 'create_module', 'uselib',
    'ustat', 'sysfs', '_sysctl', 'swapon', 'swapoff', 'mbind', 'kcmp', 'pidfd_getfd', 'process_madvise', 'sethostname', 'syslog', 'vhangup',
    'fanotify_init', 'fsopen', 'move_mount', 'open_tree', 'a_call_nobody_has_heard_of',
  ]) {
    assert.deepEqual(verdict(p, name), EPERM, name);
  }
  for (const name of ['read', 'write', 'openat', 'execve', 'chown', 'setuid', 'futex', 'epoll_wait', 'statx', 'fchmodat2', 'rseq', 'arch_prctl', 'io_setup', 'clock_adjtime']) {
    assert.deepEqual(verdict(p, name), ALLOW, name);
  }
  assert.deepEqual(verdict(defaultSeccompProfile(DEFAULT_CAPS, 'arm64', KERNEL), 'arch_prctl'), EPERM, 'arch_prctl exists on x86_64 only');
  assert.deepEqual(verdict(defaultSeccompProfile(DEFAULT_CAPS, 'arm64', KERNEL), 'set_tls'), ALLOW);
  assert.deepEqual(verdict(p, 'clone3'), { action: 'SCMP_ACT_ERRNO', errno: 38 }, 'clone3 gets ENOSYS so libc falls back to clone');
});

test('default profile: ptrace without CAP_SYS_PTRACE from Linux 4.8 on, as Docker allows it', () => {
  for (const name of ['ptrace', 'process_vm_readv', 'process_vm_writev']) {
    assert.deepEqual(verdict(defaultSeccompProfile(DEFAULT_CAPS, 'x64', '4.8.0'), name), ALLOW, name);
    assert.deepEqual(verdict(defaultSeccompProfile(DEFAULT_CAPS, 'x64', '6.18.44-fc'), name), ALLOW, name);
    assert.deepEqual(verdict(defaultSeccompProfile(DEFAULT_CAPS, 'x64', '4.4.0-210-generic'), name), EPERM, name);
  }
  assert.deepEqual(verdict(defaultSeccompProfile(new Set([...DEFAULT_CAPS, 'SYS_PTRACE']), 'x64', '4.4.0'), 'ptrace'), ALLOW);
});

test('default profile: socket for every address family but AF_ALG and AF_VSOCK', () => {
  const p = defaultSeccompProfile(DEFAULT_CAPS, 'x64', KERNEL);
  for (const family of [1n, 2n, 10n, 16n, 17n, 37n, 39n, 41n, 44n]) assert.deepEqual(verdict(p, 'socket', [family]), ALLOW, `family ${family}`);
  for (const family of [38n, 40n]) assert.deepEqual(verdict(p, 'socket', [family]), EPERM, `family ${family}`);
});

test('default profile: clone with a namespace flag is refused, plain clone (threads, fork) is not', () => {
  const p = defaultSeccompProfile(DEFAULT_CAPS, 'x64', KERNEL);
  const CLONE_THREAD_FLAGS = 0x3d0f00n; // what pthread_create passes
  const SIGCHLD = 17n; // fork()
  assert.deepEqual(verdict(p, 'clone', [CLONE_THREAD_FLAGS]), ALLOW);
  assert.deepEqual(verdict(p, 'clone', [SIGCHLD]), ALLOW);
  for (const flag of [0x20000n, 0x2000000n, 0x4000000n, 0x8000000n, 0x10000000n, 0x20000000n, 0x40000000n]) {
    assert.deepEqual(verdict(p, 'clone', [SIGCHLD | flag]), EPERM, `flag ${flag.toString(16)}`);
  }
});

test('default profile: personality only with 0, PER_LINUX32, UNAME26, both, or the query', () => {
  const p = defaultSeccompProfile(DEFAULT_CAPS, 'x64', KERNEL);
  for (const ok of [0n, 8n, 0x20000n, 0x20008n, 0xffffffffn]) assert.deepEqual(verdict(p, 'personality', [ok]), ALLOW, ok.toString(16));
  const ADDR_NO_RANDOMIZE = 0x40000n;
  const READ_IMPLIES_EXEC = 0x400000n;
  for (const bad of [ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC, 8n | ADDR_NO_RANDOMIZE, 1n, 0x80040000n, 0xfffffffen, 0x7fffffffn, 0x80000000n]) {
    assert.deepEqual(verdict(p, 'personality', [bad]), EPERM, bad.toString(16));
  }
});

test('default profile: capabilities give their calls back', () => {
  const with_ = (...caps: string[]) => defaultSeccompProfile(new Set([...DEFAULT_CAPS, ...caps]), 'x64', KERNEL);
  const admin = with_('SYS_ADMIN');
  for (const name of ['mount', 'umount2', 'unshare', 'setns', 'bpf', 'perf_event_open', 'syslog', 'sethostname', 'fsopen']) assert.deepEqual(verdict(admin, name), ALLOW, name);
  assert.deepEqual(verdict(admin, 'clone', [0x40000000n]), ALLOW);
  assert.deepEqual(verdict(admin, 'clone3'), ALLOW);
  assert.deepEqual(verdict(admin, 'reboot'), EPERM, 'SYS_ADMIN does not give reboot');
  assert.deepEqual(verdict(admin, 'pivot_root'), EPERM, 'nor pivot_root, which Docker never allows');
  assert.deepEqual(verdict(with_('SYS_PTRACE'), 'kcmp'), ALLOW);
  assert.deepEqual(verdict(with_('SYS_TIME'), 'clock_settime'), ALLOW);
  assert.deepEqual(verdict(with_('SYS_BOOT'), 'reboot'), ALLOW);
  assert.deepEqual(verdict(with_('SYS_MODULE'), 'finit_module'), ALLOW);
  assert.deepEqual(verdict(with_('BPF'), 'bpf'), ALLOW);
  assert.deepEqual(verdict(with_('DAC_READ_SEARCH'), 'open_by_handle_at'), ALLOW);
  const noChroot = new Set(DEFAULT_CAPS);
  noChroot.delete('SYS_CHROOT');
  assert.deepEqual(verdict(defaultSeccompProfile(DEFAULT_CAPS, 'x64', KERNEL), 'chroot'), ALLOW, 'SYS_CHROOT is a default capability');
  assert.deepEqual(verdict(defaultSeccompProfile(noChroot, 'x64', KERNEL), 'chroot'), EPERM, 'cap_drop: SYS_CHROOT takes chroot away');
  assert.deepEqual(verdict(with_('SYS_ADMIN', 'SYS_PTRACE'), 'keyctl'), EPERM, 'never allowed');
  assert.deepEqual(verdict(with_('SYS_ADMIN', 'SYS_PTRACE'), 'io_uring_setup'), EPERM, 'never allowed');
});

test('Docker-format profiles: names, includes and excludes by capability and architecture, archMap', () => {
  const profile = {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 1,
    archMap: [
      { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
      { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
    ],
    syscalls: [
      { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
      { name: 'mount', action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } },
      { names: ['ptrace'], action: 'SCMP_ACT_ALLOW', excludes: { caps: ['CAP_SYS_ADMIN'] } },
      { names: ['arch_prctl'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['amd64'] } },
      { names: ['new_call'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '7.0' } },
      { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }] },
    ],
  };
  const plain = compileProfile(profile, DEFAULT_CAPS, 'x64', '6.1.0');
  assert.equal(plain.defaultAction, 'SCMP_ACT_ERRNO');
  assert.equal(plain.defaultErrnoRet, 1);
  assert.deepEqual(plain.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  const names = (p: OciSeccomp) => (p.syscalls ?? []).flatMap((s) => s.names);
  assert.deepEqual(names(plain), ['read', 'write', 'ptrace', 'arch_prctl', 'personality']);
  assert.deepEqual(plain.syscalls?.at(-1)?.args, [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }]);
  assert.deepEqual(names(compileProfile(profile, new Set([...DEFAULT_CAPS, 'SYS_ADMIN']), 'x64', '7.1')), ['read', 'write', 'mount', 'arch_prctl', 'new_call', 'personality']);
  assert.deepEqual(names(compileProfile(profile, DEFAULT_CAPS, 'arm64', '6.1')), ['read', 'write', 'ptrace', 'personality']);
  assert.throws(() => compileProfile({ syscalls: [] }, DEFAULT_CAPS, 'x64', '6.1', 'p.json'), (e: unknown) => e instanceof EngineError && /p\.json: not a seccomp profile/.test(e.message));
  assert.throws(() => compileProfile({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['x'] }] }, DEFAULT_CAPS, 'x64', '6.1'), /has no action/);
});
