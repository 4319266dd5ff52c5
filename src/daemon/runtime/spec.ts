/**
 * The OCI runtime spec (config.json) of a container, generated from a BundleRequest: Docker's
 * defaults (capabilities, seccomp, masked and read-only paths, system mounts) plus everything the
 * service sets. Pure: what it needs from the host (the daemon's capabilities, the architecture,
 * limits, the user looked up in the image, device numbers, a seccomp profile file's content) comes
 * in as arguments, so it is tested as a unit.
 */
import { EngineError } from '../../contract/errors.js';
import { containerCapabilities } from './capabilities.js';
import { parseDeviceRule, type OciDevice, type OciDeviceRule } from './devices.js';
import { DEFAULT_SHM_SIZE, INIT_PATH, MASKED_PATHS, READONLY_PATHS, sharedShm, systemMounts, userMounts, type OciMount } from './mounts.js';
import { commandLine, containerEnv, workingDir, type ResolvedUser } from './process-config.js';
import { cgroupResources, checkSysctls, rlimits, type OciResources } from './resources.js';
import { compileProfile, defaultSeccompProfile, type OciSeccomp } from './seccomp.js';
import { parseSecurityOpt } from './security-opt.js';
import type { BundleRequest } from './types.js';

export interface HostFacts {
  /** The daemon's bounding set (names without CAP_). */
  capabilities: ReadonlySet<string>;
  /** process.arch. */
  arch: string;
  /** os.release(). */
  kernel: string;
  /** Whether memory+swap limits can be set (memory.memsw.* exists). */
  swapAccounting: boolean;
  /** CPUs the daemon may run on (the most a container's `cpus` can ask for). */
  cpus: number;
  /** The daemon's hard rlimits. */
  hardLimits: ReadonlyMap<string, number>;
  /** Host path of tini-static. */
  initBinary: string;
  /** The host's name (HOSTNAME with the host's network). */
  hostname: string;
}

export interface SpecInput {
  req: BundleRequest;
  host: HostFacts;
  /** The user resolved against the image's /etc/passwd and /etc/group (resolveUser). */
  user: ResolvedUser;
  /** Devices resolved on the host (mappedDevices; allHostDevices for privileged). */
  devices?: { devices: OciDevice[]; rules: OciDeviceRule[] };
  /** The content of a `seccomp=<file>` profile, when the service names one. */
  seccompProfile?: unknown;
}

export interface OciProcess {
  terminal: boolean;
  user: { uid: number; gid: number; additionalGids?: number[] };
  args: string[];
  env: string[];
  cwd: string;
  capabilities: { bounding: string[]; effective: string[]; permitted: string[] };
  rlimits?: { type: string; hard: number; soft: number }[];
  noNewPrivileges: boolean;
  oomScoreAdj?: number;
}

export interface OciSpec {
  ociVersion: string;
  process: OciProcess;
  root: { path: string; readonly: boolean };
  hostname?: string;
  domainname?: string;
  mounts: OciMount[];
  linux: {
    namespaces: { type: string; path?: string }[];
    cgroupsPath: string;
    resources: OciResources;
    devices?: OciDevice[];
    sysctl?: Record<string, string>;
    seccomp?: OciSeccomp;
    maskedPaths?: string[];
    readonlyPaths?: string[];
  };
}

export interface BuiltSpec {
  config: OciSpec;
  /** Things the user asked for that were ignored, one line each (for the daemon's log). */
  notes: string[];
}

function namespaceEntry(type: string, mode: 'private' | 'shareable' | 'host' | { path: string }): { type: string; path?: string } | null {
  if (mode === 'host') return null;
  if (typeof mode === 'object') return { type, path: mode.path };
  return { type };
}

export function buildSpec(input: SpecInput): BuiltSpec {
  const { req, host } = input;
  const spec = req.spec;
  const notes: string[] = [];
  if (!/^[0-9a-f]{64}$/.test(req.id)) throw new EngineError('invalid', `invalid container id ${JSON.stringify(req.id)}: expected 64 hex digits`);
  if (!req.cgroupsPath.startsWith('/')) throw new EngineError('invalid', `cgroupsPath must be absolute, got ${JSON.stringify(req.cgroupsPath)}`);
  const security = parseSecurityOpt(spec.securityOpt);
  for (const o of security.ignored) notes.push(`security_opt ${o} ignored: this host has no AppArmor or SELinux policy to apply`);

  const hostNetwork = req.network === 'host';
  const ipc = req.ipc ?? 'private';
  const pid = req.pid ?? 'private';
  const hostIpc = ipc === 'host';

  const caps = containerCapabilities(spec, host.capabilities);
  const capSet = new Set(caps);
  const capNames = caps.map((c) => `CAP_${c}`);

  const hostname = hostNetwork ? host.hostname : spec.hostname || req.id.slice(0, 12);
  let args = commandLine(spec, req.image.config);
  if (spec.init) args = [INIT_PATH, '--', ...args];

  if (spec.oomScoreAdj !== undefined && (spec.oomScoreAdj < -1000 || spec.oomScoreAdj > 1000)) {
    throw new EngineError('invalid', `oom_score_adj ${spec.oomScoreAdj} is out of range (-1000 to 1000)`);
  }
  if (spec.oomScoreAdj !== undefined && spec.oomScoreAdj < 0 && !host.capabilities.has('SYS_RESOURCE')) {
    throw new EngineError('invalid', `oom_score_adj ${spec.oomScoreAdj}: lowering it needs CAP_SYS_RESOURCE, which the daemon lacks`);
  }

  const process: OciProcess = {
    terminal: spec.tty,
    user: { uid: input.user.uid, gid: input.user.gid },
    args,
    env: containerEnv({ imageEnv: req.image.config.Env ?? [], env: spec.env, hostname, tty: spec.tty }),
    cwd: workingDir(spec, req.image.config),
    capabilities: { bounding: capNames, effective: capNames, permitted: capNames },
    noNewPrivileges: security.noNewPrivileges,
  };
  if (input.user.additionalGids.length > 0) process.user.additionalGids = input.user.additionalGids;
  const limits = rlimits(spec.ulimits, { hardLimits: host.hardLimits, canRaise: host.capabilities.has('SYS_RESOURCE') });
  if (limits.length > 0) process.rlimits = limits;
  if (spec.oomScoreAdj !== undefined && spec.oomScoreAdj !== 0) process.oomScoreAdj = spec.oomScoreAdj;

  const user = userMounts(req.mounts);
  const userDestinations = new Set(user.map((m) => m.destination));
  let shm: 'private' | 'host' | { path: string } = 'private';
  if (ipc === 'host') shm = 'host';
  else if (typeof ipc === 'object') shm = sharedShm(ipc.path) ?? 'private';
  const shmSize = spec.shmSize && spec.shmSize > 0 ? spec.shmSize : DEFAULT_SHM_SIZE;
  const mounts = [
    ...systemMounts({ privileged: spec.privileged, readOnlyRootfs: spec.readOnlyRootfs, shmSize, shm, files: req.files, init: spec.init ? host.initBinary : null }, userDestinations),
    ...user,
  ];

  const namespaces = [
    { type: 'mount' },
    namespaceEntry('pid', pid),
    namespaceEntry('ipc', ipc),
    hostNetwork ? null : { type: 'uts' },
    namespaceEntry('network', hostNetwork ? 'host' : req.network),
  ].filter((n): n is { type: string; path?: string } => n !== null);

  const deviceRules: OciDeviceRule[] = spec.privileged ? [{ allow: true, access: 'rwm' }] : [{ allow: false, access: 'rwm' }, ...(input.devices?.rules ?? [])];
  if (!spec.privileged) {
    for (const rule of spec.deviceCgroupRules) deviceRules.push(parseDeviceRule(rule));
  }
  const resources: OciResources = { devices: deviceRules, ...cgroupResources(spec, host) };

  const linux: OciSpec['linux'] = { namespaces, cgroupsPath: req.cgroupsPath, resources };
  if (input.devices && input.devices.devices.length > 0) linux.devices = input.devices.devices;
  const sysctl = checkSysctls(spec.sysctls, { hostNetwork, hostIpc });
  if (Object.keys(sysctl).length > 0) linux.sysctl = sysctl;
  if (!spec.privileged && security.seccomp !== 'unconfined') {
    linux.seccomp =
      security.seccomp === 'default'
        ? defaultSeccompProfile(capSet, host.arch, host.kernel)
        : compileProfile(input.seccompProfile, capSet, host.arch, host.kernel, `seccomp profile ${security.seccomp.path}`);
  }
  if (!spec.privileged && !security.unmaskedPaths) {
    linux.maskedPaths = [...MASKED_PATHS];
    linux.readonlyPaths = [...READONLY_PATHS];
  }

  const config: OciSpec = {
    ociVersion: '1.0.2-dev',
    process,
    root: { path: 'rootfs', readonly: spec.readOnlyRootfs },
    mounts,
    linux,
  };
  if (!hostNetwork) {
    config.hostname = hostname;
    if (spec.domainname) config.domainname = spec.domainname;
  }
  return { config, notes };
}
