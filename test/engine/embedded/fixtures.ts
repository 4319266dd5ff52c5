/**
 * Values with every field set (typed Required<...>, so a field added to the Engine types and not
 * here fails to compile), and their sparse counterparts (optional fields left out, lists empty,
 * nulls): a round trip must give each back exactly.
 */
import { bareSpec } from '../../helpers/container-spec.js';
import type { DaemonStatus } from '../../../src/contract/backend.js';
import type {
  BuildRequest,
  ContainerInfo,
  ContainerSpec,
  EndpointSpec,
  ExecSpec,
  HealthcheckSpec,
  ImageInfo,
  MountSpec,
  NetworkInfo,
  NetworkSpec,
  VolumeInfo,
} from '../../../src/contract/engine.js';

export const IMAGE_ID = `sha256:${'b'.repeat(64)}`;

const healthcheck: Required<HealthcheckSpec> = { test: ['CMD-SHELL', 'wget -q -O- http://localhost/ || exit 1'], interval: 30_000_000_000, timeout: 5_000_000_000, startPeriod: 0, startInterval: 2_000_000_000, retries: 3 };

export const fullImage: Required<ImageInfo> = {
  id: IMAGE_ID,
  repoTags: ['busybox:latest', 'registry.local:5000/tools/busybox:1.36'],
  repoDigests: [`busybox@sha256:${'c'.repeat(64)}`],
  created: '2024-05-01T12:00:00.123456789Z',
  size: 4_261_550,
  labels: { 'org.opencontainers.image.title': 'busybox', 'com.example.empty': '' },
  config: {
    env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'EMPTY='],
    cmd: ['sh'],
    entrypoint: [],
    workingDir: '/srv',
    user: 'nobody',
    exposedPorts: [{ port: 80, protocol: 'tcp' }, { port: 53, protocol: 'udp' }],
    volumes: ['/data'],
    stopSignal: 'SIGQUIT',
    healthcheck,
  },
};

/** The image busybox is: null cmd/entrypoint differ from empty lists, no stop signal, no health check. */
export const sparseImage: ImageInfo = {
  id: `sha256:${'d'.repeat(64)}`,
  repoTags: [],
  repoDigests: [],
  created: '',
  size: 0,
  labels: {},
  config: { env: [], cmd: null, entrypoint: null, workingDir: '', user: '', exposedPorts: [], volumes: [] },
};

const fullMount: Required<MountSpec> = { type: 'volume', source: 'data', target: '/data', readOnly: true, createHostPath: true, selinuxRelabel: 'Z', consistency: 'cached', bindPropagation: 'rslave', volumeNoCopy: true, tmpfsSize: 1 << 20 };
const fullEndpoint: Required<EndpointSpec> = { aliases: ['web', 'www'], ipv4Address: '10.1.0.5', ipv6Address: 'fd00::5', linkLocalIps: [], links: [{ container: 'demo_db_1', alias: 'database' }] };

export function fullSpec(name: string): Required<ContainerSpec> {
  return {
    name,
    image: 'busybox:latest',
    labels: { 'com.docker.compose.project': 'demo', 'com.docker.compose.service': 'web', 'com.example.empty': '' },
    entrypoint: [],
    command: ['sleep', '3600'],
    env: ['A=1', 'EMPTY=', 'UNICODE=héllo ✓'],
    workingDir: '/srv',
    user: '1000:1000',
    hostname: 'web',
    domainname: 'example.test',
    macAddress: '02:42:ac:11:00:02',
    tty: true,
    openStdin: true,
    stopSignal: 'SIGINT',
    stopTimeout: 0,
    exposedPorts: [{ port: 443, protocol: 'tcp' }],
    healthcheck,
    networkMode: { kind: 'container', container: 'f'.repeat(64) },
    networks: { demo_front: fullEndpoint, demo_back: { aliases: [] } },
    publishedPorts: [
      { containerPort: 80, protocol: 'tcp', hostIp: '127.0.0.1' },
      { containerPort: 80, protocol: 'tcp', hostIp: '::1', hostPorts: { start: 8000, end: 8010 } },
    ],
    mounts: [fullMount, { type: 'bind', source: '/srv/app', target: '/app', readOnly: true, createHostPath: true }, { type: 'tmpfs', target: '/scratch', readOnly: false }],
    volumesFrom: [{ container: 'other', mode: 'ro' }, { container: 'third' }],
    tmpfs: [{ target: '/run', options: ['size=64m'] }, { target: '/tmp', options: [] }],
    links: [{ container: 'demo_db_1', alias: 'database' }],
    restartPolicy: { name: 'on-failure', maximumRetryCount: 5 },
    privileged: true,
    readOnlyRootfs: true,
    init: false,
    capAdd: ['NET_ADMIN'],
    capDrop: ['ALL'],
    devices: [{ pathOnHost: '/dev/fuse', pathInContainer: '/dev/fuse', permissions: 'rwm' }],
    deviceCgroupRules: ['c 10:229 rwm'],
    dns: ['1.1.1.1'],
    dnsSearch: ['example.test'],
    dnsOptions: ['ndots:2'],
    extraHosts: [{ host: 'host.docker.internal', ip: 'host-gateway' }],
    groupAdd: ['audio'],
    ipcMode: { kind: 'shareable' },
    pidMode: { kind: 'container', container: 'e'.repeat(64) },
    userNsMode: 'host',
    cgroupParent: '/flotilla-test',
    shmSize: 67_108_864,
    sysctls: { 'net.core.somaxconn': '1024' },
    ulimits: [{ name: 'nofile', soft: 1024, hard: 65_536 }],
    securityOpt: ['no-new-privileges:true'],
    logConfig: { type: 'json-file', config: { 'max-size': '10m' } },
    memory: 8_589_934_592,
    memorySwap: -1,
    memoryReservation: 0,
    memorySwappiness: 60,
    nanoCpus: 1_500_000_000,
    cpuShares: 512,
    cpuQuota: 50_000,
    cpuPeriod: 100_000,
    cpusetCpus: '0-1',
    pidsLimit: 100,
    oomKillDisable: false,
    oomScoreAdj: -500,
    runtime: 'runc',
    isolation: 'default',
    storageOpt: {},
    platform: 'linux/amd64',
    files: [{ target: '/run/secrets/token', contentBase64: Buffer.from('s3cret\n').toString('base64'), mode: 0o400, uid: 1, gid: 2 }],
  };
}

/** As the contract's containerSpec(): nothing optional set. */
export function sparseSpec(name: string): ContainerSpec {
  return bareSpec(name);
}

export const fullContainerInfo: Required<ContainerInfo> = {
  id: 'e'.repeat(64),
  name: 'demo_web_1',
  image: 'busybox:latest',
  imageId: IMAGE_ID,
  labels: { 'com.docker.compose.service': 'web', empty: '' },
  created: '2024-05-01T12:00:00.5Z',
  state: {
    status: 'running',
    running: true,
    paused: false,
    restarting: false,
    oomKilled: true,
    pid: 31_337,
    exitCode: -1,
    startedAt: '2024-05-01T12:00:01Z',
    finishedAt: '0001-01-01T00:00:00Z',
    health: { status: 'unhealthy', failingStreak: 3, log: [{ exitCode: 1, output: 'connection refused\n' }, { exitCode: 0, output: '' }] },
  },
  config: { cmd: [], entrypoint: ['/bin/sh', '-c'], env: ['A=1'], tty: false, openStdin: true },
  ports: [{ containerPort: 80, protocol: 'tcp', hostIp: '0.0.0.0', hostPort: 49_153 }, { containerPort: 53, protocol: 'udp' }],
  networks: { demo_default: { ipAddress: '10.1.0.2', aliases: ['web', 'e'.repeat(12)], networkId: 'f'.repeat(64) }, other: { ipAddress: '', aliases: [], networkId: '' } },
  mounts: [
    { type: 'volume', name: 'demo_data', source: '/var/lib/flotilla/volumes/demo_data/_data', destination: '/data', rw: true },
    { type: 'bind', source: '/srv', destination: '/srv', rw: false },
  ],
  restartCount: 2,
};

export const sparseContainerInfo: ContainerInfo = {
  id: '1'.repeat(64),
  name: 'c',
  image: 'busybox',
  imageId: '',
  labels: {},
  created: '',
  state: { status: 'created', running: false, paused: false, restarting: false, oomKilled: false, pid: 0, exitCode: 0, startedAt: '', finishedAt: '' },
  config: { cmd: null, entrypoint: null, env: [], tty: false, openStdin: false },
  ports: [],
  networks: {},
  mounts: [],
  restartCount: 0,
};

export const fullNetworkSpec: Required<NetworkSpec> = {
  name: 'demo_front',
  driver: 'bridge',
  driverOpts: { 'com.docker.network.bridge.name': 'br-demo' },
  ipam: {
    driver: 'default',
    config: [{ subnet: '10.1.0.0/24', ipRange: '10.1.0.128/25', gateway: '10.1.0.1', auxAddresses: { router: '10.1.0.2' } }, { subnet: 'fd00::/64' }],
    options: {},
  },
  internal: true,
  enableIpv6: true,
  attachable: true,
  labels: { 'com.docker.compose.network': 'front' },
};

export const sparseNetworkSpec: NetworkSpec = { name: 'plain', driverOpts: {}, internal: false, enableIpv6: false, attachable: false, labels: {} };

export const fullNetworkInfo: Required<NetworkInfo> = {
  id: '9'.repeat(64),
  name: 'demo_front',
  driver: 'bridge',
  labels: { a: 'b' },
  internal: true,
  containers: { ['e'.repeat(64)]: 'demo_web_1' },
  options: { mtu: '1500' },
  ipam: fullNetworkSpec.ipam,
};

export const fullVolume: Required<VolumeInfo> = {
  name: 'demo_data',
  driver: 'local',
  labels: { 'com.docker.compose.volume': 'data' },
  mountpoint: '/var/lib/flotilla/volumes/demo_data/_data',
  options: { type: 'tmpfs', device: 'tmpfs' },
};

export const fullBuild: Required<BuildRequest> = {
  context: '/srv/app',
  dockerfile: 'docker/Dockerfile',
  dockerfileInline: 'FROM busybox\nRUN true\n',
  tags: ['demo/web:1', 'demo/web:latest'],
  args: { VERSION: '1.2.3', EMPTY: '' },
  labels: { 'org.flotilla.built': 'yes' },
  target: 'final',
  cacheFrom: ['demo/web:cache'],
  network: 'host',
  shmSize: 134_217_728,
  extraHosts: [{ host: 'somehost', ip: '162.242.195.82' }],
  noCache: false,
  pull: true,
  secrets: { token: Buffer.from('s3cret\n').toString('base64') },
  platform: 'linux/amd64',
  additionalContexts: { base: '/srv/base', img: 'docker-image://busybox:latest' },
  ssh: { default: '/run/user/1000/ssh-agent.sock' },
  registryAuth: { 'registry.example:5000': { username: 'u', password: 'p' }, 'docker.io': { identityToken: 't' } },
};

export const sparseBuild: BuildRequest = { context: '/srv/app', dockerfile: 'Dockerfile', tags: [], args: {}, labels: {}, cacheFrom: [], extraHosts: [] };

export const fullExec: Required<ExecSpec> = { command: ['sh', '-c', 'echo "$X"'], env: ['X=1'], user: 'nobody', workingDir: '/tmp', privileged: true, tty: true, attachStdin: true, detach: false };

export const fullStatus: DaemonStatus = {
  pid: 4242,
  version: '0.1.0',
  root: '/var/lib/flotilla',
  socket: '/run/flotilla/engine.sock',
  startedAt: '2024-05-01T12:00:00Z',
  containers: { running: 3, total: 5 },
  images: 7,
  networks: 2,
  volumes: 4,
  rss: 123_456_789,
};
