/** The OCI spec as a pure unit: capabilities, command line, environment, users, resources, sysctls, mounts, seccomp. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ContainerSpec } from '../../../src/contract/engine.js';
import { EngineError } from '../../../src/contract/errors.js';
import { capabilitiesFromMask, containerCapabilities, DEFAULT_CAPABILITIES, maskOf } from '../../../src/daemon/runtime/capabilities.js';
import { commandLine, containerEnv, mergeEnv, resolveUser } from '../../../src/daemon/runtime/process-config.js';
import { checkSysctls, parseLimits } from '../../../src/daemon/runtime/resources.js';
import { buildSpec, type HostFacts, type SpecInput } from '../../../src/daemon/runtime/spec.js';
import { parseSecurityOpt } from '../../../src/daemon/runtime/security-opt.js';
import { containerSpec } from './fixture.js';

// This machine's root: every capability up to CHECKPOINT_RESTORE except SYS_RESOURCE.
const HOST_CAPS = new Set(capabilitiesFromMask('000001fffeffffff'));

const host: HostFacts = {
  capabilities: HOST_CAPS,
  arch: 'x64',
  kernel: '6.1.0',
  swapAccounting: true,
  cpus: 2,
  hardLimits: new Map([['nofile', 20000]]),
  initBinary: '/usr/bin/tini-static',
  hostname: 'the-host',
};

const ID = 'ab'.repeat(32);

function input(spec: Partial<ContainerSpec> = {}, extra: Partial<SpecInput['req']> = {}, rest: Partial<SpecInput> = {}): SpecInput {
  return {
    req: {
      id: ID,
      spec: containerSpec(spec),
      image: { layers: ['/img'], config: { Env: ['PATH=/bin', 'FROM_IMAGE=1'], Cmd: ['sh'] } },
      network: { path: '/run/netns/x' },
      mounts: [],
      files: { hosts: '/f/hosts', resolvConf: '/f/resolv.conf', hostname: '/f/hostname' },
      cgroupsPath: `/flotilla-test/${ID}`,
      log: null,
      ...extra,
    },
    host,
    user: { uid: 0, gid: 0, additionalGids: [] },
    ...rest,
  };
}

function rejects(fn: () => unknown, kind: string, message: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof EngineError && e.kind === kind && message.test(e.message));
}

test('capability masks: this host lacks SYS_RESOURCE; masks round-trip', () => {
  assert.ok(!HOST_CAPS.has('SYS_RESOURCE'));
  assert.equal(HOST_CAPS.size, 40);
  assert.equal(maskOf(HOST_CAPS), '000001fffeffffff');
  // Docker's 14 defaults, minus CHOWN, plus NET_ADMIN: the research's a80435fa.
  assert.equal(maskOf([...DEFAULT_CAPABILITIES.filter((c) => c !== 'CHOWN'), 'NET_ADMIN']), '00000000a80435fa');
});

test('capabilities: defaults, drop and add, ALL both ways, privileged, refusals', () => {
  const caps = (capAdd: string[], capDrop: string[], privileged = false) => containerCapabilities({ capAdd, capDrop, privileged }, HOST_CAPS);
  assert.equal(caps([], []).length, 14);
  assert.deepEqual(new Set(caps([], [])), new Set(DEFAULT_CAPABILITIES));
  const tweaked = caps(['net_admin', 'CAP_SYS_PTRACE'], ['CHOWN', 'cap_mknod']);
  assert.ok(tweaked.includes('NET_ADMIN') && tweaked.includes('SYS_PTRACE'));
  assert.ok(!tweaked.includes('CHOWN') && !tweaked.includes('MKNOD'));
  assert.equal(tweaked.length, 14);
  assert.deepEqual(caps(['NET_BIND_SERVICE'], ['ALL']), ['NET_BIND_SERVICE']);
  const all = caps(['ALL'], ['NET_RAW']);
  assert.equal(all.length, 39);
  assert.ok(!all.includes('NET_RAW') && !all.includes('SYS_RESOURCE') && all.includes('SYS_ADMIN'));
  assert.equal(caps([], [], true).length, 40);
  assert.ok(!caps([], [], true).includes('SYS_RESOURCE'));
  rejects(() => caps(['SYS_RESOURCE'], []), 'invalid', /^cannot add capability SYS_RESOURCE: the daemon itself does not have it \(its bounding set lacks it\)$/);
  rejects(() => caps(['NOPE'], []), 'invalid', /unknown capability "NOPE" in cap_add/);
  rejects(() => caps([], ['CAP_WHAT']), 'invalid', /unknown capability "CAP_WHAT" in cap_drop/);
});

test('the spec carries the capabilities in every set, CAP_ prefixed; privileged drops seccomp and masks', () => {
  const { config } = buildSpec(input({ capAdd: ['NET_ADMIN'] }));
  assert.equal(config.process.capabilities.bounding.length, 15);
  assert.deepEqual(config.process.capabilities.effective, config.process.capabilities.bounding);
  assert.deepEqual(config.process.capabilities.permitted, config.process.capabilities.bounding);
  assert.ok(config.process.capabilities.bounding.includes('CAP_NET_ADMIN'));
  assert.ok(config.linux.seccomp);
  assert.ok(config.linux.maskedPaths?.includes('/proc/kcore'));
  assert.ok(config.linux.readonlyPaths?.includes('/proc/sys'));
  const priv = buildSpec(input({ privileged: true })).config;
  assert.equal(priv.process.capabilities.bounding.length, 40);
  assert.equal(priv.linux.seccomp, undefined);
  assert.equal(priv.linux.maskedPaths, undefined);
  assert.deepEqual(priv.linux.resources.devices, [{ allow: true, access: 'rwm' }]);
  assert.ok(priv.mounts.find((m) => m.destination === '/sys')?.options.includes('rw'));
  assert.ok(buildSpec(input()).config.mounts.find((m) => m.destination === '/sys')?.options.includes('ro'));
});

test('command line: Docker rules for entrypoint and command against the image', () => {
  const image = { Entrypoint: ['/entry'], Cmd: ['--default'] };
  assert.deepEqual(commandLine({}, image), ['/entry', '--default']);
  assert.deepEqual(commandLine({ command: ['run'] }, image), ['/entry', 'run']);
  assert.deepEqual(commandLine({ entrypoint: ['/other'] }, image), ['/other'], 'a new entrypoint drops the image command');
  assert.deepEqual(commandLine({ entrypoint: ['/other'], command: ['x'] }, image), ['/other', 'x']);
  assert.deepEqual(commandLine({ entrypoint: [] }, image), ['--default'], 'an empty entrypoint clears the image one');
  assert.deepEqual(commandLine({ entrypoint: [], command: ['ls'] }, image), ['ls']);
  assert.deepEqual(commandLine({ command: [] }, image), ['/entry', '--default'], 'an empty command takes the image one');
  rejects(() => commandLine({ entrypoint: [] }, { Entrypoint: ['/e'], Cmd: null }), 'invalid', /no command specified/);
  rejects(() => commandLine({}, {}), 'invalid', /no command specified/);
});

test('init: tini runs as PID 1 in front of the command, mounted read-only', () => {
  const { config } = buildSpec(input({ init: true, command: ['sleep', '5'] }));
  assert.deepEqual(config.process.args, ['/sbin/flotilla-init', '--', 'sleep', '5']);
  const m = config.mounts.find((x) => x.destination === '/sbin/flotilla-init');
  assert.equal(m?.source, '/usr/bin/tini-static');
  assert.ok(m?.options.includes('ro'));
  assert.equal(buildSpec(input()).config.mounts.find((x) => x.destination === '/sbin/flotilla-init'), undefined);
});

test('environment: image env overridden by key, PATH default, HOSTNAME, TERM with a TTY, removal', () => {
  assert.deepEqual(mergeEnv(['A=1', 'B=2'], ['B=3', 'C=4'], ['A']), ['B=3', 'C=4']);
  const env = containerEnv({ imageEnv: ['FOO=image', 'KEEP=1'], env: ['FOO=service', 'NEW=x=y'], hostname: 'h1', tty: true });
  assert.deepEqual(env, [
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    'HOSTNAME=h1',
    'TERM=xterm',
    'FOO=service',
    'KEEP=1',
    'NEW=x=y',
  ]);
  assert.ok(containerEnv({ imageEnv: ['PATH=/only'], env: [], hostname: 'h', tty: false }).includes('PATH=/only'));
  assert.ok(!containerEnv({ imageEnv: [], env: [], hostname: 'h', tty: false }).some((e) => e.startsWith('TERM=')));
  const { config } = buildSpec(input({ env: ['X=1'], hostname: 'web' }));
  assert.ok(config.process.env.includes('HOSTNAME=web') && config.process.env.includes('FROM_IMAGE=1') && config.process.env.includes('X=1'));
  assert.equal(config.hostname, 'web');
  assert.equal(buildSpec(input()).config.hostname, ID.slice(0, 12), 'the short id by default');
});

test('working directory: the service, the image, or /; must be absolute', () => {
  assert.equal(buildSpec(input({ workingDir: '/srv' })).config.process.cwd, '/srv');
  assert.equal(buildSpec(input({}, { image: { layers: ['/img'], config: { Cmd: ['sh'], WorkingDir: '/app' } } })).config.process.cwd, '/app');
  assert.equal(buildSpec(input()).config.process.cwd, '/');
  rejects(() => buildSpec(input({ workingDir: 'rel' })), 'invalid', /needs to be an absolute path/);
});

test('users: names and ids from the container files, groups, memberships, group_add, errors', () => {
  const files = {
    passwd: 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n',
    group: 'root:x:0:\napp:x:1000:\nstaff:x:50:app,other\naudio:x:29:\nnogroup:x:65534:\n',
  };
  assert.deepEqual(resolveUser('', files), { uid: 0, gid: 0, additionalGids: [] });
  assert.deepEqual(resolveUser('app', files), { uid: 1000, gid: 1000, additionalGids: [50] });
  assert.deepEqual(resolveUser('nobody', files), { uid: 65534, gid: 65534, additionalGids: [] });
  assert.deepEqual(resolveUser('1000', files), { uid: 1000, gid: 1000, additionalGids: [50] });
  assert.deepEqual(resolveUser('4242', files), { uid: 4242, gid: 0, additionalGids: [] }, 'an unknown uid is fine');
  assert.deepEqual(resolveUser('app:audio', files), { uid: 1000, gid: 29, additionalGids: [] }, 'an explicit group: no memberships');
  assert.deepEqual(resolveUser('nobody:7', files), { uid: 65534, gid: 7, additionalGids: [] });
  assert.deepEqual(resolveUser('app', files, ['audio', '123']), { uid: 1000, gid: 1000, additionalGids: [50, 29, 123] });
  rejects(() => resolveUser('ghost', files), 'invalid', /unable to find user ghost/);
  rejects(() => resolveUser('app:ghosts', files), 'invalid', /unable to find group ghosts/);
  rejects(() => resolveUser('app', files, ['ghosts']), 'invalid', /unable to find group ghosts/);
  rejects(() => resolveUser('root', { passwd: null, group: null }), 'invalid', /unable to find user root/);
  rejects(() => resolveUser('99999999999', files), 'invalid', /out of range/);
  const { config } = buildSpec(input({}, {}, { user: { uid: 1000, gid: 1000, additionalGids: [50] } }));
  assert.deepEqual(config.process.user, { uid: 1000, gid: 1000, additionalGids: [50] });
});

test('resources: memory and swap, reservation, swappiness, CPUs, pids, oom_score_adj', () => {
  const r = (spec: Partial<ContainerSpec>, h: Partial<HostFacts> = {}) => buildSpec({ ...input(spec), host: { ...host, ...h } }).config;
  const mem = r({ memory: 64 << 20 }).linux.resources.memory;
  assert.deepEqual(mem, { limit: 64 << 20, swap: 128 << 20 }, 'swap defaults to twice the memory');
  assert.deepEqual(r({ memory: 64 << 20, memorySwap: 64 << 20 }).linux.resources.memory, { limit: 64 << 20, swap: 64 << 20 });
  assert.deepEqual(r({ memory: 64 << 20, memorySwap: -1 }).linux.resources.memory, { limit: 64 << 20, swap: -1 });
  assert.deepEqual(r({ memory: 64 << 20 }, { swapAccounting: false }).linux.resources.memory, { limit: 64 << 20 });
  assert.deepEqual(r({ memoryReservation: 32 << 20, memorySwappiness: 10 }).linux.resources.memory, { reservation: 32 << 20, swappiness: 10 });
  rejects(() => r({ memory: 64 << 20, memorySwap: 32 << 20 }), 'invalid', /at least the memory limit/);
  rejects(() => r({ memory: 1024 }), 'invalid', /^Minimum memory limit allowed is 6MB$/);
  rejects(() => r({ memoryReservation: 1 << 20 }), 'invalid', /^Minimum memory reservation allowed is 6MB$/);
  rejects(() => r({ memory: 64 << 20, memoryReservation: 128 << 20 }), 'invalid', /can not be less than memory reservation/);
  rejects(() => r({ nanoCpus: 3e9 }), 'invalid', /^range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available$/);
  rejects(() => r({ nanoCpus: -1 }), 'invalid', /^range of CPUs/);
  assert.deepEqual(r({ nanoCpus: 1_500_000_000, cpuShares: 512, cpusetCpus: '0' }).linux.resources.cpu, { period: 100000, quota: 150000, shares: 512, cpus: '0' });
  assert.deepEqual(r({ cpuQuota: 50000, cpuPeriod: 100000 }).linux.resources.cpu, { quota: 50000, period: 100000 });
  rejects(() => r({ nanoCpus: 1e9, cpuQuota: 50000 }), 'invalid', /cannot be combined/);
  rejects(() => r({ cpusetCpus: 'zero' }), 'invalid', /invalid cpuset/);
  assert.deepEqual(r({ pidsLimit: 10 }).linux.resources.pids, { limit: 10 });
  assert.equal(r({ pidsLimit: -1 }).linux.resources.pids, undefined);
  assert.equal(r({ oomScoreAdj: 500 }).process.oomScoreAdj, 500);
  rejects(() => r({ oomScoreAdj: -500 }), 'invalid', /CAP_SYS_RESOURCE/);
  assert.deepEqual(r({}).linux.resources.devices, [{ allow: false, access: 'rwm' }]);
  assert.equal(r({}).linux.cgroupsPath, `/flotilla-test/${ID}`);
  rejects(() => buildSpec(input({}, { cgroupsPath: 'relative/x' })), 'invalid', /cgroupsPath must be absolute/);
});

test('ulimits: rlimits, a hard limit above the daemon refused without CAP_SYS_RESOURCE', () => {
  const r = buildSpec(input({ ulimits: [{ name: 'nofile', soft: 1024, hard: 2048 }, { name: 'nproc', soft: 50, hard: 50 }] })).config;
  assert.deepEqual(r.process.rlimits, [
    { type: 'RLIMIT_NOFILE', hard: 2048, soft: 1024 },
    { type: 'RLIMIT_NPROC', hard: 50, soft: 50 },
  ]);
  rejects(() => buildSpec(input({ ulimits: [{ name: 'nofile', soft: 1024, hard: 100000 }] })), 'invalid', /cannot raise the hard limit/);
  rejects(() => buildSpec(input({ ulimits: [{ name: 'bogus', soft: 1, hard: 1 }] })), 'invalid', /unknown ulimit/);
  const limits = parseLimits('Limit                     Soft Limit           Hard Limit           Units     \nMax open files            1024                 20000                files     \nMax core file size        0                    unlimited            bytes     \n');
  assert.equal(limits.get('nofile'), 20000);
  assert.equal(limits.get('core'), Infinity);
});

test('sysctls: namespaced ones only; net.* refused with host networking, IPC ones with ipc: host', () => {
  assert.deepEqual(checkSysctls({ 'net.ipv4.ip_unprivileged_port_start': '0', 'kernel.shmmax': '1', 'fs.mqueue.msg_max': '20' }, { hostNetwork: false, hostIpc: false }), {
    'net.ipv4.ip_unprivileged_port_start': '0',
    'kernel.shmmax': '1',
    'fs.mqueue.msg_max': '20',
  });
  rejects(() => checkSysctls({ 'kernel.panic': '1' }, { hostNetwork: false, hostIpc: false }), 'invalid', /^sysctl kernel\.panic is not namespaced: a container cannot set it/);
  rejects(() => checkSysctls({ 'vm.swappiness': '1' }, { hostNetwork: false, hostIpc: false }), 'invalid', /not namespaced/);
  rejects(() => checkSysctls({ 'net.core.somaxconn': '1' }, { hostNetwork: true, hostIpc: false }), 'invalid', /cannot be set with network_mode: host/);
  rejects(() => checkSysctls({ 'kernel.msgmax': '1' }, { hostNetwork: false, hostIpc: true }), 'invalid', /cannot be set with ipc: host/);
  rejects(() => buildSpec(input({ sysctls: { 'net.ipv4.ip_forward': '1' } }, { network: 'host' })), 'invalid', /network_mode: host/);
  assert.deepEqual(buildSpec(input({ sysctls: { 'net/ipv4/ip_forward': '1' } })).config.linux.sysctl, { 'net.ipv4.ip_forward': '1' });
});

test('namespaces: the netns file, host network (no uts either), ipc and pid modes', () => {
  const types = (c: ReturnType<typeof buildSpec>['config']) => c.linux.namespaces.map((n) => (n.path ? `${n.type}=${n.path}` : n.type));
  assert.deepEqual(types(buildSpec(input()).config), ['mount', 'pid', 'ipc', 'uts', 'network=/run/netns/x']);
  const hostNet = buildSpec(input({}, { network: 'host' })).config;
  assert.deepEqual(types(hostNet), ['mount', 'pid', 'ipc']);
  assert.equal(hostNet.hostname, undefined);
  assert.ok(hostNet.process.env.includes('HOSTNAME=the-host'));
  const shared = buildSpec(input({}, { ipc: { path: '/proc/42/ns/ipc' }, pid: { path: '/proc/42/ns/pid' } })).config;
  assert.deepEqual(types(shared), ['mount', 'pid=/proc/42/ns/pid', 'ipc=/proc/42/ns/ipc', 'uts', 'network=/run/netns/x']);
  assert.deepEqual(shared.mounts.find((m) => m.destination === '/dev/shm'), { destination: '/dev/shm', type: 'bind', source: '/proc/42/root/dev/shm', options: ['rbind', 'rprivate', 'rw'] });
  const hostIpc = buildSpec(input({}, { ipc: 'host', pid: 'host' })).config;
  assert.deepEqual(types(hostIpc), ['mount', 'uts', 'network=/run/netns/x']);
  assert.equal(hostIpc.mounts.find((m) => m.destination === '/dev/shm')?.source, '/dev/shm');
});

test('mounts: system mounts, /dev/shm size, host files (ro with a read-only rootfs), binds, tmpfs defaults, ordering', () => {
  const { config } = buildSpec(
    input(
      { readOnlyRootfs: true, shmSize: 1 << 20 },
      {
        // The container manager resolves `tmpfs:` entries into mounts like the others.
        mounts: [
          { type: 'bind', source: '/data/sub', target: '/data/sub', readOnly: false },
          { type: 'bind', source: '/data', target: '/data/', readOnly: true },
          { type: 'tmpfs', target: '/cache', options: ['size=65536k'] },
          { type: 'tmpfs', target: '/run', options: ['size=1m'] },
          { type: 'tmpfs', target: '/tmp', options: ['exec', 'mode=1777'] },
        ],
      },
    ),
  );
  const dest = config.mounts.map((m) => m.destination);
  for (const d of ['/proc', '/dev', '/dev/pts', '/sys', '/sys/fs/cgroup', '/dev/mqueue', '/dev/shm', '/etc/hosts', '/etc/resolv.conf', '/etc/hostname']) assert.ok(dest.includes(d), d);
  assert.ok(config.root.readonly);
  assert.ok(config.mounts.find((m) => m.destination === '/dev/shm')?.options.includes(`size=${1 << 20}`));
  assert.deepEqual(config.mounts.find((m) => m.destination === '/etc/hosts'), { destination: '/etc/hosts', type: 'bind', source: '/f/hosts', options: ['rbind', 'rprivate', 'ro'] });
  assert.ok(dest.indexOf('/data') < dest.indexOf('/data/sub'), 'parents first');
  assert.deepEqual(config.mounts.find((m) => m.destination === '/data')?.options, ['rbind', 'ro', 'rprivate']);
  assert.deepEqual(config.mounts.find((m) => m.destination === '/data/sub')?.options, ['rbind', 'rw', 'rprivate']);
  assert.deepEqual(config.mounts.find((m) => m.destination === '/cache')?.options, ['nosuid', 'nodev', 'noexec', 'size=65536k']);
  assert.deepEqual(config.mounts.find((m) => m.destination === '/tmp')?.options, ['nosuid', 'nodev', 'exec', 'mode=1777']);
  assert.ok(buildSpec(input()).config.mounts.find((m) => m.destination === '/dev/shm')?.options.includes(`size=${64 << 20}`));
  const replaced = buildSpec(input({}, { mounts: [{ type: 'bind', source: '/my/hosts', target: '/etc/hosts', readOnly: true }] })).config;
  assert.equal(replaced.mounts.filter((m) => m.destination === '/etc/hosts').length, 1);
  assert.equal(replaced.mounts.find((m) => m.destination === '/etc/hosts')?.source, '/my/hosts');
  rejects(() => buildSpec(input({}, { mounts: [{ type: 'bind', source: 'rel', target: '/x', readOnly: false }] })), 'invalid', /absolute host path/);
  rejects(() => buildSpec(input({}, { mounts: [{ type: 'tmpfs', target: 'x', options: [] }] })), 'invalid', /must be an absolute path/);
});

test('security_opt: no-new-privileges, seccomp unconfined or a profile, apparmor/label ignored with a note, unknown refused', () => {
  assert.equal(buildSpec(input({ securityOpt: ['no-new-privileges'] })).config.process.noNewPrivileges, true);
  assert.equal(buildSpec(input({ securityOpt: ['no-new-privileges:false'] })).config.process.noNewPrivileges, false);
  assert.equal(buildSpec(input()).config.process.noNewPrivileges, false);
  assert.equal(buildSpec(input({ securityOpt: ['seccomp=unconfined'] })).config.linux.seccomp, undefined);
  assert.equal(buildSpec(input({ securityOpt: ['seccomp:unconfined'] })).config.linux.seccomp, undefined);
  const built = buildSpec(input({ securityOpt: ['apparmor=docker-default', 'label=disable'] }));
  assert.equal(built.notes.length, 2);
  assert.match(built.notes[0] ?? '', /apparmor=docker-default ignored/);
  rejects(() => parseSecurityOpt(['bogus=1']), 'invalid', /invalid security_opt "bogus=1"/);
  assert.deepEqual(parseSecurityOpt(['seccomp=/p.json']).seccomp, { path: '/p.json' });
  assert.equal(buildSpec(input({ securityOpt: ['systempaths=unconfined'] })).config.linux.maskedPaths, undefined);
});

test('devices: cgroup rules parsed; a bad rule refused', () => {
  const { config } = buildSpec(input({ deviceCgroupRules: ['c 1:3 rwm', 'b *:* m'] }));
  assert.deepEqual(config.linux.resources.devices, [
    { allow: false, access: 'rwm' },
    { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
    { allow: true, type: 'b', access: 'm' },
  ]);
  rejects(() => buildSpec(input({ deviceCgroupRules: ['x 1:3 rwm'] })), 'invalid', /invalid device cgroup rule/);
  rejects(() => buildSpec(input({}, { id: 'short' })), 'invalid', /invalid container id/);
});
