/** The seccomp profile generator and the Docker-format profile compiler, as pure units. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EngineError } from '../../../src/engine/errors.js';
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
  return { action: profile.defaultAction };
}

const DEFAULT_CAPS = new Set(['CHOWN', 'DAC_OVERRIDE', 'FSETID', 'FOWNER', 'MKNOD', 'NET_RAW', 'SETGID', 'SETUID', 'SETFCAP', 'SETPCAP', 'NET_BIND_SERVICE', 'SYS_CHROOT', 'KILL', 'AUDIT_WRITE']);
const EPERM = { action: 'SCMP_ACT_ERRNO', errno: 1 };
const ALLOW = { action: 'SCMP_ACT_ALLOW' };

test('default profile: allow by default, x86_64 with its 32-bit modes, documented blocks with EPERM', () => {
  const p = defaultSeccompProfile(DEFAULT_CAPS, 'x64');
  assert.equal(p.defaultAction, 'SCMP_ACT_ALLOW');
  assert.deepEqual(p.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  assert.deepEqual(defaultSeccompProfile(DEFAULT_CAPS, 'arm64').architectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
  for (const name of ['mount', 'umount2', 'pivot_root', 'unshare', 'setns', 'reboot', 'kexec_load', 'init_module', 'finit_module', 'delete_module', 'acct', 'ptrace', 'process_vm_readv', 'iopl', 'ioperm', 'settimeofday', 'clock_settime', 'keyctl', 'add_key', 'request_key', 'bpf', 'perf_event_open', 'userfaultfd', 'open_by_handle_at', 'quotactl', 'lookup_dcookie', 'nfsservctl', 'vm86', 'create_module', 'uselib', 'ustat', 'sysfs', '_sysctl', 'swapon', 'swapoff', 'mbind', 'kcmp']) {
    assert.deepEqual(verdict(p, name), EPERM, name);
  }
  for (const name of ['read', 'write', 'openat', 'execve', 'socket', 'chown', 'setuid']) assert.deepEqual(verdict(p, name), ALLOW, name);
  assert.deepEqual(verdict(p, 'clone3'), { action: 'SCMP_ACT_ERRNO', errno: 38 }, 'clone3 gets ENOSYS so glibc falls back to clone');
});

test('default profile: clone with a namespace flag is refused, plain clone (threads, fork) is not', () => {
  const p = defaultSeccompProfile(DEFAULT_CAPS, 'x64');
  const CLONE_THREAD_FLAGS = 0x3d0f00n; // what pthread_create passes
  const SIGCHLD = 17n; // fork()
  assert.deepEqual(verdict(p, 'clone', [CLONE_THREAD_FLAGS]), ALLOW);
  assert.deepEqual(verdict(p, 'clone', [SIGCHLD]), ALLOW);
  for (const flag of [0x20000n, 0x2000000n, 0x4000000n, 0x8000000n, 0x10000000n, 0x20000000n, 0x40000000n]) {
    assert.deepEqual(verdict(p, 'clone', [SIGCHLD | flag]), EPERM, `flag ${flag.toString(16)}`);
  }
});

test('default profile: personality only with 0, PER_LINUX32, UNAME26, both, or the query', () => {
  const p = defaultSeccompProfile(DEFAULT_CAPS, 'x64');
  for (const ok of [0n, 8n, 0x20000n, 0x20008n, 0xffffffffn]) assert.deepEqual(verdict(p, 'personality', [ok]), ALLOW, ok.toString(16));
  const ADDR_NO_RANDOMIZE = 0x40000n;
  const READ_IMPLIES_EXEC = 0x400000n;
  for (const bad of [ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC, 8n | ADDR_NO_RANDOMIZE, 1n, 0x80040000n, 0xfffffffen, 0x7fffffffn, 0x80000000n]) {
    assert.deepEqual(verdict(p, 'personality', [bad]), EPERM, bad.toString(16));
  }
});

test('default profile: capabilities lift their blocks', () => {
  const with_ = (...caps: string[]) => defaultSeccompProfile(new Set([...DEFAULT_CAPS, ...caps]), 'x64');
  const admin = with_('SYS_ADMIN');
  for (const name of ['mount', 'umount2', 'unshare', 'setns', 'pivot_root', 'bpf', 'perf_event_open', 'syslog']) assert.deepEqual(verdict(admin, name), ALLOW, name);
  assert.deepEqual(verdict(admin, 'clone', [0x40000000n]), ALLOW);
  assert.deepEqual(verdict(admin, 'clone3'), ALLOW);
  assert.deepEqual(verdict(admin, 'reboot'), EPERM, 'SYS_ADMIN does not give reboot');
  assert.deepEqual(verdict(with_('SYS_PTRACE'), 'ptrace'), ALLOW);
  assert.deepEqual(verdict(with_('SYS_TIME'), 'clock_settime'), ALLOW);
  assert.deepEqual(verdict(with_('SYS_BOOT'), 'reboot'), ALLOW);
  assert.deepEqual(verdict(with_('SYS_MODULE'), 'finit_module'), ALLOW);
  assert.deepEqual(verdict(with_('BPF'), 'bpf'), ALLOW);
  assert.deepEqual(verdict(with_('SYS_ADMIN', 'SYS_PTRACE'), 'keyctl'), EPERM, 'never allowed');
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
