/** ContainerSpec → Docker's create body, and Docker's JSON → the Engine's types. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ContainerSpec } from '../../src/contract/engine.js';
import type { DockerContainerInspect } from '../../src/engine/docker/api-types.js';
import { createPlan } from '../../src/engine/docker/create-body.js';
import { containerInfo, containerSummary, engineEvent, labelFilter } from '../../src/engine/docker/from-api.js';
import { splitReference } from '../../src/engine/docker/paths.js';
import { containerSpec } from './contract.js';

function full(): ContainerSpec {
  return containerSpec('web-1', {
    image: 'nginx:1.25',
    labels: { a: '1' },
    entrypoint: [],
    command: ['nginx', '-g', 'daemon off;'],
    env: ['A=1'],
    workingDir: '/srv',
    user: 'www',
    hostname: 'web',
    domainname: 'example.org',
    macAddress: '02:42:ac:11:00:02',
    tty: true,
    openStdin: true,
    stopSignal: 'SIGQUIT',
    stopTimeout: 5,
    exposedPorts: [{ port: 80, protocol: 'tcp' }],
    healthcheck: { test: ['CMD-SHELL', 'true'], interval: 1e9, timeout: 2e9, startPeriod: 3e9, retries: 4 },
    networkMode: { kind: 'networks' },
    networks: {
      proj_front: { aliases: ['web'], ipv4Address: '10.1.0.5', links: [{ container: 'db', alias: 'database' }] },
      proj_back: { aliases: ['web-back'] },
    },
    publishedPorts: [
      { containerPort: 443, protocol: 'tcp', hostIp: '127.0.0.1', hostPorts: { start: 8443, end: 8443 } },
      { containerPort: 53, protocol: 'udp', hostIp: '', hostPorts: { start: 5300, end: 5310 } },
      { containerPort: 9000, protocol: 'tcp', hostIp: '' },
    ],
    mounts: [
      { type: 'bind', source: '/host', target: '/ctr', readOnly: true, createHostPath: true, selinuxRelabel: 'z' },
      { type: 'bind', source: '/src', target: '/dst', readOnly: true, consistency: 'cached', bindPropagation: 'rshared' },
      { type: 'volume', source: 'data', target: '/data', readOnly: false, volumeNoCopy: true },
      { type: 'tmpfs', target: '/run', readOnly: false, tmpfsSize: 65536 },
    ],
    volumesFrom: [{ container: 'other', mode: 'ro' }, { container: 'third' }],
    tmpfs: [{ target: '/tmp', options: ['size=1m', 'mode=1777'] }],
    links: [{ container: 'proj_db_1', alias: 'database' }],
    restartPolicy: { name: 'on-failure', maximumRetryCount: 3 },
    privileged: true,
    readOnlyRootfs: true,
    init: true,
    capAdd: ['NET_ADMIN'],
    capDrop: ['MKNOD'],
    devices: [{ pathOnHost: '/dev/null', pathInContainer: '/dev/nothing', permissions: 'rwm' }],
    deviceCgroupRules: ['c 1:3 mr'],
    dns: ['1.1.1.1'],
    dnsSearch: ['example.org'],
    dnsOptions: ['ndots:1'],
    extraHosts: [{ host: 'host', ip: '10.0.0.1' }, { host: 'v6', ip: 'fd00::1' }],
    groupAdd: ['audio'],
    ipcMode: { kind: 'shareable' },
    pidMode: { kind: 'container', container: 'abc' },
    userNsMode: 'host',
    cgroupParent: '/custom',
    shmSize: 1 << 26,
    sysctls: { 'net.core.somaxconn': '1024' },
    ulimits: [{ name: 'nofile', soft: 1024, hard: 2048 }],
    securityOpt: ['no-new-privileges'],
    logConfig: { type: 'json-file', config: { 'max-size': '1m' } },
    memory: 1 << 28,
    memorySwap: 1 << 29,
    memoryReservation: 1 << 27,
    memorySwappiness: 10,
    nanoCpus: 1.5e9,
    cpuShares: 512,
    cpuQuota: 50000,
    cpuPeriod: 100000,
    cpusetCpus: '0-1',
    pidsLimit: 100,
    oomKillDisable: true,
    oomScoreAdj: 100,
    runtime: 'runc',
    isolation: 'default',
    storageOpt: { size: '10G' },
    platform: 'linux/amd64',
  });
}

test('createPlan: every setting in its place (API 1.41)', () => {
  const plan = createPlan(full(), '1.41');
  assert.deepEqual(plan.query, { name: 'web-1', platform: 'linux/amd64' });
  const b = plan.body as Record<string, unknown> & { HostConfig: Record<string, unknown>; NetworkingConfig: { EndpointsConfig: Record<string, unknown> } };
  assert.deepEqual(b['Entrypoint'], ['']);
  assert.deepEqual(b['Cmd'], ['nginx', '-g', 'daemon off;']);
  assert.equal(b['MacAddress'], '02:42:ac:11:00:02');
  assert.deepEqual(b['ExposedPorts'], { '80/tcp': {}, '443/tcp': {}, '53/udp': {}, '9000/tcp': {} });
  assert.deepEqual(b['Healthcheck'], { Test: ['CMD-SHELL', 'true'], Interval: 1e9, Timeout: 2e9, StartPeriod: 3e9, Retries: 4 });
  assert.equal(b['OpenStdin'], true);
  assert.equal(b['AttachStdin'], true);
  assert.equal(b['StdinOnce'], true);
  assert.equal(b['StopTimeout'], 5);
  const h = b.HostConfig;
  // Docker's string encodings are made here only.
  assert.equal(h['NetworkMode'], 'proj_front');
  assert.deepEqual(h['Binds'], ['/host:/ctr:ro,z']);
  assert.deepEqual(h['VolumesFrom'], ['other:ro', 'third']);
  assert.deepEqual(h['Tmpfs'], { '/tmp': 'size=1m,mode=1777' });
  assert.deepEqual(h['Links'], ['proj_db_1:database']);
  assert.deepEqual(h['ExtraHosts'], ['host:10.0.0.1', 'v6:fd00::1']);
  assert.equal(h['IpcMode'], 'shareable');
  assert.equal(h['PidMode'], 'container:abc');
  assert.deepEqual(h['Mounts'], [
    { Type: 'bind', Source: '/src', Target: '/dst', ReadOnly: true, Consistency: 'cached', BindOptions: { Propagation: 'rshared' } },
    { Type: 'volume', Source: 'data', Target: '/data', ReadOnly: false, VolumeOptions: { NoCopy: true } },
    { Type: 'tmpfs', Target: '/run', ReadOnly: false, TmpfsOptions: { SizeBytes: 65536 } },
  ]);
  assert.deepEqual(h['PortBindings'], {
    '443/tcp': [{ HostIp: '127.0.0.1', HostPort: '8443' }],
    '53/udp': [{ HostIp: '', HostPort: '5300-5310' }],
    '9000/tcp': [{ HostIp: '', HostPort: '' }],
  });
  assert.deepEqual(h['RestartPolicy'], { Name: 'on-failure', MaximumRetryCount: 3 });
  assert.deepEqual(h['Devices'], [{ PathOnHost: '/dev/null', PathInContainer: '/dev/nothing', CgroupPermissions: 'rwm' }]);
  assert.deepEqual(h['Ulimits'], [{ Name: 'nofile', Soft: 1024, Hard: 2048 }]);
  assert.deepEqual(h['LogConfig'], { Type: 'json-file', Config: { 'max-size': '1m' } });
  assert.equal(h['NanoCpus'], 1.5e9);
  assert.equal(h['Init'], true);
  assert.equal(h['UsernsMode'], 'host');
  assert.deepEqual(h['StorageOpt'], { size: '10G' });
  for (const key of ['Privileged', 'ReadonlyRootfs', 'OomKillDisable']) assert.equal(h[key], true, key);
  for (const key of ['Memory', 'MemorySwap', 'MemoryReservation', 'MemorySwappiness', 'CpuShares', 'CpuQuota', 'CpuPeriod', 'PidsLimit', 'OomScoreAdj', 'ShmSize']) {
    assert.equal(typeof h[key], 'number', key);
  }
  // One endpoint at creation before API 1.44; the other is connected afterwards.
  assert.deepEqual(b.NetworkingConfig.EndpointsConfig, {
    proj_front: { Aliases: ['web'], IPAMConfig: { IPv4Address: '10.1.0.5' }, Links: ['db:database'] },
  });
  assert.deepEqual(plan.connect, [['proj_back', { Aliases: ['web-back'] }]]);
});

test('createPlan: API 1.44 creates every endpoint at once, the MAC address on the primary one', () => {
  const plan = createPlan(full(), '1.44');
  const b = plan.body as { MacAddress?: string; NetworkingConfig: { EndpointsConfig: Record<string, { MacAddress?: string }> } };
  assert.deepEqual(Object.keys(b.NetworkingConfig.EndpointsConfig), ['proj_front', 'proj_back']);
  assert.equal(b.NetworkingConfig.EndpointsConfig['proj_front']?.MacAddress, '02:42:ac:11:00:02');
  assert.equal(b.MacAddress, undefined);
  assert.deepEqual(plan.connect, []);
});

test('createPlan: unset settings are left to the engine', () => {
  const plan = createPlan(containerSpec('bare'), '1.41');
  const b = plan.body as Record<string, unknown> & { HostConfig: Record<string, unknown> };
  for (const key of ['Entrypoint', 'Cmd', 'Healthcheck', 'User', 'WorkingDir', 'StopSignal', 'ExposedPorts', 'Volumes']) assert.equal(key in b, false, key);
  for (const key of ['RestartPolicy', 'Init', 'Memory', 'LogConfig', 'ShmSize', 'StorageOpt']) assert.equal(key in b.HostConfig, false, key);
  assert.equal(b['OpenStdin'], false);
  assert.deepEqual(plan.query, { name: 'bare' });
});

function inspectJson(overrides: Partial<DockerContainerInspect> = {}): DockerContainerInspect {
  return {
    Id: 'abc',
    Name: '/proj_web_1',
    Image: 'sha256:1',
    Created: '2024-01-01T00:00:00Z',
    RestartCount: 0,
    State: { Status: 'exited', Running: false, Paused: false, Restarting: false, OOMKilled: false, Pid: 0, ExitCode: 0, StartedAt: '', FinishedAt: '' },
    Config: { Image: 'web', Labels: null, Cmd: null, Entrypoint: null, Env: null, Tty: false, OpenStdin: false, ExposedPorts: { '80/tcp': {}, '81/tcp': {} } },
    HostConfig: { PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }] } },
    NetworkSettings: { Ports: {}, Networks: { proj_default: { IPAddress: '', Aliases: null, NetworkID: 'n1' } } },
    Mounts: [{ Type: 'volume', Name: 'v', Source: '/var/lib/docker/volumes/v/_data', Destination: '/data', RW: true }],
    ...overrides,
  };
}

test('containerInfo: a stopped container reports its configured ports; nulls become empties', () => {
  const info = containerInfo(inspectJson());
  assert.equal(info.name, 'proj_web_1');
  assert.deepEqual(info.ports, [{ containerPort: 81, protocol: 'tcp' }, { containerPort: 80, protocol: 'tcp', hostIp: '', hostPort: 8080 }]);
  assert.deepEqual(info.labels, {});
  assert.deepEqual(info.config.env, []);
  assert.deepEqual(info.networks, { proj_default: { ipAddress: '', aliases: [], networkId: 'n1' } });
  assert.deepEqual(info.mounts, [{ type: 'volume', name: 'v', source: '/var/lib/docker/volumes/v/_data', destination: '/data', rw: true }]);
  assert.equal(info.state.health, undefined);
  const live = containerInfo(
    inspectJson({
      NetworkSettings: { Ports: { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }], '81/tcp': null }, Networks: null },
      State: { ...inspectJson().State, Status: 'running', Running: true, Health: { Status: 'healthy', FailingStreak: 0, Log: [{ ExitCode: 0, Output: 'ok' }] } },
    }),
  );
  assert.deepEqual(live.ports, [{ containerPort: 80, protocol: 'tcp', hostIp: '0.0.0.0', hostPort: 8080 }, { containerPort: 81, protocol: 'tcp' }]);
  assert.deepEqual(live.state.health, { status: 'healthy', failingStreak: 0, log: [{ exitCode: 0, output: 'ok' }] });
});

test('containerSummary: the own name, not a link alias', () => {
  const s = containerSummary({ Id: 'x', Names: ['/other/alias', '/proj_db_1'], Image: 'db', Labels: null, State: 'running', Status: 'Up 1 second', Created: 1 });
  assert.equal(s.name, 'proj_db_1');
  assert.equal(s.state, 'running');
});

test('engineEvent keeps every digit of timeNano and skips other types', () => {
  const line = '{"status":"start","id":"c1","Type":"container","Action":"start","Actor":{"ID":"c1","Attributes":{"name":"x","timeNano":"5"}},"scope":"local","time":1700000000,"timeNano":1700000000123456789}';
  const e = engineEvent(line);
  assert.deepEqual(e, { type: 'container', action: 'start', id: 'c1', attributes: { name: 'x', timeNano: '5' }, timeNano: 1700000000123456789n });
  assert.equal(engineEvent('{"Type":"daemon","Action":"reload","Actor":{"ID":"d"},"time":1,"timeNano":1}'), null);
});

test('labelFilter and splitReference', () => {
  assert.deepEqual(labelFilter({ a: 'b', c: true, 'd.e': '' }), ['a=b', 'c', 'd.e=']);
  assert.deepEqual(splitReference('busybox'), { repository: 'busybox' });
  assert.deepEqual(splitReference('busybox:1.36'), { repository: 'busybox', tag: '1.36' });
  assert.deepEqual(splitReference('localhost:5000/team/app'), { repository: 'localhost:5000/team/app' });
  assert.deepEqual(splitReference('localhost:5000/team/app:v2'), { repository: 'localhost:5000/team/app', tag: 'v2' });
  assert.deepEqual(splitReference('app:v2@sha256:abc'), { repository: 'app', tag: 'v2', digest: 'sha256:abc' });
  assert.deepEqual(splitReference('app@sha256:abc'), { repository: 'app', digest: 'sha256:abc' });
});

test('createPlan: the network mode from the typed spec (no network: the default one; another container\'s)', () => {
  const own = createPlan(containerSpec('a'), '1.41').body as { HostConfig: Record<string, unknown> };
  assert.equal(own.HostConfig['NetworkMode'], 'default');
  const shared = createPlan(containerSpec('b', { networkMode: { kind: 'container', container: 'abc' } }), '1.41').body as { HostConfig: Record<string, unknown> };
  assert.equal(shared.HostConfig['NetworkMode'], 'container:abc');
  const host = createPlan(containerSpec('c', { networkMode: { kind: 'host' } }), '1.41').body as { HostConfig: Record<string, unknown> };
  assert.equal(host.HostConfig['NetworkMode'], 'host');
});
