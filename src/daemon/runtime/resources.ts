/**
 * Resource limits as Docker applies them: cgroup settings (memory, CPU, pids), rlimits (ulimits)
 * and namespaced sysctls. Pure functions; the host's limits come in as arguments.
 */
import type { ContainerSpec } from '../../contract/engine.js';
import { EngineError } from '../../contract/errors.js';

export interface OciMemory {
  limit?: number;
  reservation?: number;
  swap?: number;
  swappiness?: number;
  disableOOMKiller?: boolean;
}

export interface OciResources {
  devices: { allow: boolean; type?: string; major?: number; minor?: number; access?: string }[];
  memory?: OciMemory;
  cpu?: { shares?: number; quota?: number; period?: number; cpus?: string };
  pids?: { limit: number };
}

const DEFAULT_CPU_PERIOD = 100_000;

/** The smallest memory limit or reservation Docker accepts (and a container can start with). */
export const MIN_MEMORY = 6 * 1024 * 1024;

/**
 * memory, memorySwap (-1: unlimited; unset: twice memory), reservation, swappiness; CPUs; pids.
 * The refusals are Docker's (verifyPlatformContainerResources), in its words where it has them.
 */
export function cgroupResources(spec: ContainerSpec, host: { swapAccounting: boolean; cpus: number }): Omit<OciResources, 'devices'> {
  const out: Omit<OciResources, 'devices'> = {};
  const memory: OciMemory = {};
  if (spec.memory !== undefined && spec.memory > 0) {
    if (spec.memory < MIN_MEMORY) throw new EngineError('invalid', 'Minimum memory limit allowed is 6MB');
    memory.limit = spec.memory;
    if (host.swapAccounting) {
      const swap = spec.memorySwap;
      if (swap === undefined || swap === 0) memory.swap = spec.memory * 2;
      else if (swap === -1) memory.swap = -1;
      else if (swap < spec.memory) throw new EngineError('invalid', 'memory_swap (memory plus swap) must be at least the memory limit; -1 for unlimited swap');
      else memory.swap = swap;
    }
  } else if (spec.memorySwap !== undefined && spec.memorySwap > 0) {
    throw new EngineError('invalid', 'memory_swap needs a memory limit too');
  }
  if (spec.memoryReservation !== undefined && spec.memoryReservation > 0) {
    if (spec.memoryReservation < MIN_MEMORY) throw new EngineError('invalid', 'Minimum memory reservation allowed is 6MB');
    if (memory.limit !== undefined && spec.memoryReservation > memory.limit) throw new EngineError('invalid', 'Minimum memory limit can not be less than memory reservation limit, see usage');
    memory.reservation = spec.memoryReservation;
  }
  if (spec.memorySwappiness !== undefined && spec.memorySwappiness !== -1) {
    if (spec.memorySwappiness < 0 || spec.memorySwappiness > 100) throw new EngineError('invalid', `invalid memory swappiness ${spec.memorySwappiness}: it must be between 0 and 100`);
    memory.swappiness = spec.memorySwappiness;
  }
  if (spec.oomKillDisable) memory.disableOOMKiller = true;
  if (Object.keys(memory).length > 0) out.memory = memory;

  const cpu: NonNullable<OciResources['cpu']> = {};
  if (spec.nanoCpus !== undefined && spec.nanoCpus !== 0) {
    if (spec.nanoCpus < 0 || spec.nanoCpus > host.cpus * 1e9) throw new EngineError('invalid', `range of CPUs is from 0.01 to ${host.cpus}.00, as there are only ${host.cpus} CPUs available`);
    if ((spec.cpuQuota ?? 0) > 0 || (spec.cpuPeriod ?? 0) > 0) throw new EngineError('invalid', 'cpus cannot be combined with cpu_quota or cpu_period');
    cpu.period = DEFAULT_CPU_PERIOD;
    cpu.quota = Math.round((spec.nanoCpus * DEFAULT_CPU_PERIOD) / 1e9);
    if (cpu.quota < 1000) throw new EngineError('invalid', `cpus ${spec.nanoCpus / 1e9} is below the minimum (0.01)`);
  } else {
    if (spec.cpuQuota !== undefined && spec.cpuQuota > 0) {
      if (spec.cpuQuota < 1000) throw new EngineError('invalid', 'cpu_quota must be at least 1000 (1ms)');
      cpu.quota = spec.cpuQuota;
    }
    if (spec.cpuPeriod !== undefined && spec.cpuPeriod > 0) {
      if (spec.cpuPeriod < 1000 || spec.cpuPeriod > 1_000_000) throw new EngineError('invalid', 'cpu_period must be between 1000 (1ms) and 1000000 (1s)');
      cpu.period = spec.cpuPeriod;
    }
  }
  if (spec.cpuShares !== undefined && spec.cpuShares > 0) cpu.shares = Math.max(2, spec.cpuShares);
  if (spec.cpusetCpus) {
    if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(spec.cpusetCpus)) throw new EngineError('invalid', `invalid cpuset ${JSON.stringify(spec.cpusetCpus)}: expected a list like 0-2,4`);
    cpu.cpus = spec.cpusetCpus;
  }
  if (Object.keys(cpu).length > 0) out.cpu = cpu;

  if (spec.pidsLimit !== undefined && spec.pidsLimit > 0) out.pids = { limit: spec.pidsLimit };
  return out;
}

// ---- rlimits ------------------------------------------------------------------------------------

const RLIMITS = ['as', 'core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack'];

/** The lines of /proc/<pid>/limits by rlimit name, e.g. `Max open files` → nofile. */
const LIMITS_FILE_NAMES: Record<string, string> = {
  'Max cpu time': 'cpu', 'Max file size': 'fsize', 'Max data size': 'data', 'Max stack size': 'stack',
  'Max core file size': 'core', 'Max resident set': 'rss', 'Max processes': 'nproc', 'Max open files': 'nofile',
  'Max locked memory': 'memlock', 'Max address space': 'as', 'Max file locks': 'locks',
  'Max pending signals': 'sigpending', 'Max msgqueue size': 'msgqueue', 'Max nice priority': 'nice',
  'Max realtime priority': 'rtprio', 'Max realtime timeout': 'rttime',
};

/** Hard limits from /proc/self/limits (Infinity for "unlimited"). */
export function parseLimits(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n').slice(1)) {
    const m = /^(Max [a-z ]+?)\s{2,}(\S+)\s+(\S+)/.exec(line);
    const name = m && LIMITS_FILE_NAMES[m[1] as string];
    if (!m || !name) continue;
    out.set(name, m[3] === 'unlimited' ? Infinity : Number(m[3]));
  }
  return out;
}

export function rlimits(ulimits: ContainerSpec['ulimits'], host: { hardLimits: ReadonlyMap<string, number>; canRaise: boolean }): { type: string; hard: number; soft: number }[] {
  return ulimits.map((u) => {
    const name = u.name.toLowerCase();
    if (!RLIMITS.includes(name)) throw new EngineError('invalid', `unknown ulimit ${JSON.stringify(u.name)} (known: ${RLIMITS.join(', ')})`);
    const hard = u.hard < 0 ? Number.MAX_SAFE_INTEGER : u.hard;
    const soft = u.soft < 0 ? Number.MAX_SAFE_INTEGER : u.soft;
    if (soft > hard) throw new EngineError('invalid', `ulimit ${name}: the soft limit ${u.soft} is above the hard limit ${u.hard}`);
    const current = host.hardLimits.get(name);
    if (!host.canRaise && current !== undefined && hard > current) {
      throw new EngineError('invalid', `ulimit ${name}: cannot raise the hard limit to ${u.hard} above the daemon's own (${current}) without CAP_SYS_RESOURCE, which the daemon lacks`);
    }
    return { type: `RLIMIT_${name.toUpperCase()}`, hard, soft };
  });
}

// ---- sysctls ------------------------------------------------------------------------------------

const IPC_SYSCTLS = ['kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced'];

/**
 * Only sysctls that the container's own namespaces scope can be set: the IPC ones (kernel.shm*,
 * kernel.msg*, kernel.sem, fs.mqueue.*) with its own IPC namespace, net.* with its own network
 * namespace. Anything else would change the host.
 */
export function checkSysctls(sysctls: Record<string, string>, ns: { hostNetwork: boolean; hostIpc: boolean }): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [rawKey, value] of Object.entries(sysctls)) {
    const key = rawKey.replace(/\//g, '.');
    const ipc = IPC_SYSCTLS.includes(key) || key.startsWith('fs.mqueue.');
    const net = key.startsWith('net.');
    if (ipc && ns.hostIpc) throw new EngineError('invalid', `sysctl ${key} cannot be set with ipc: host (it would change the host's IPC settings)`);
    if (net && ns.hostNetwork) throw new EngineError('invalid', `sysctl ${key} cannot be set with network_mode: host (it would change the host's network settings)`);
    if (!ipc && !net) {
      throw new EngineError('invalid', `sysctl ${key} is not namespaced: a container cannot set it (allowed: net.* with its own network, kernel.shm*, kernel.msg*, kernel.sem and fs.mqueue.* with its own IPC namespace)`);
    }
    out[key] = value;
  }
  return out;
}
