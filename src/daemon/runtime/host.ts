/**
 * What the runtime needs from the host: the facts the spec depends on (the daemon's capabilities,
 * limits, swap accounting) and the tools it drives, checked before the daemon starts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { access, constants } from 'node:fs/promises';
import { availableParallelism, hostname, release } from 'node:os';
import { delimiter, join } from 'node:path';
import { run } from '../command.js';
import { capabilitiesFromMask } from './capabilities.js';
import { parseLimits } from './resources.js';
import type { HostFacts } from './spec.js';

export const TINI_STATIC = 'tini-static';

/** The full path of a command found in PATH (plus the sbin dirs), or null. */
export async function which(command: string): Promise<string | null> {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const full = join(dir, command);
    try {
      await access(full, constants.X_OK);
      return full;
    } catch {
      // not here
    }
  }
  return null;
}

export function daemonCapabilities(): Set<string> {
  const status = readFileSync('/proc/self/status', 'utf8');
  const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status);
  return new Set(m ? capabilitiesFromMask(m[1] as string) : []);
}

export async function hostFacts(): Promise<HostFacts> {
  return {
    capabilities: daemonCapabilities(),
    arch: process.arch,
    kernel: release(),
    swapAccounting: existsSync('/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes') || existsSync('/sys/fs/cgroup/memory.swap.max'),
    cpus: availableParallelism(),
    hardLimits: parseLimits(readFileSync('/proc/self/limits', 'utf8')),
    initBinary: (await which(TINI_STATIC)) ?? `/usr/bin/${TINI_STATIC}`,
    hostname: hostname(),
  };
}

function versionAtLeast(version: string, min: readonly number[]): boolean {
  const parts = version.split('.').map((n) => Number.parseInt(n, 10) || 0);
  for (let i = 0; i < min.length; i++) {
    const a = parts[i] ?? 0;
    const b = min[i] ?? 0;
    if (a !== b) return a > b;
  }
  return true;
}

/** The host commands the embedded engine runs, with the Debian package that provides each. */
export const HOST_TOOLS: readonly (readonly [tool: string, debianPackage: string])[] = [
  ['runc', 'runc'],
  ['conmon', 'conmon'],
  [TINI_STATIC, 'tini'],
  ['ip', 'iproute2'],
  ['iptables', 'iptables'],
  ['nsenter', 'util-linux'],
  ['unshare', 'util-linux'],
  ['script', 'bsdutils'],
  ['stty', 'coreutils'],
  ['ps', 'procps'],
  ['mount', 'mount'],
  ['umount', 'mount'],
  ['setfattr', 'attr'],
  ['getfattr', 'attr'],
];


/** One line per host command that cannot be found, naming the Debian package that provides it. */
export async function missingTools(find: (command: string) => Promise<string | null> = which): Promise<string[]> {
  const problems: string[] = [];
  for (const [tool, pkg] of HOST_TOOLS) {
    if (!(await find(tool))) problems.push(`${tool} is missing: install the Debian package ${pkg}`);
  }
  return problems;
}

/** Problems that stop the runtime from working here, each naming the Debian package that fixes it. */
export async function checkHost(find: (command: string) => Promise<string | null> = which): Promise<string[]> {
  const problems = await missingTools(find);
  if (await find('runc')) {
    const r = await run(['runc', '--version'], { allowFailure: true, timeout: 10_000 });
    const version = /runc version (\d+\.\d+\.\d+)/.exec(r.stdout)?.[1];
    if (!version) problems.push(`runc --version gave no version (${r.stderr.trim() || r.stdout.trim()}): reinstall the Debian package runc`);
    else if (!versionAtLeast(version, [1, 1, 0])) problems.push(`runc ${version} is too old (1.1.0 or later is needed): install runc from Debian 12 or later`);
    if (version && !/libseccomp: \d/.test(r.stdout)) problems.push('runc was built without seccomp: install the Debian package runc (built with libseccomp)');
  }
  if (await find('conmon')) {
    const r = await run(['conmon', '--version'], { allowFailure: true, timeout: 10_000 });
    const version = /conmon version (\d+\.\d+\.\d+)/.exec(r.stdout)?.[1];
    if (!version || !versionAtLeast(version, [2, 0, 20])) problems.push(`conmon ${version ?? '(unknown version)'} is too old (2.0.20 or later is needed): install conmon from Debian 12 or later`);
  }
  const filesystems = existsSync('/proc/filesystems') ? readFileSync('/proc/filesystems', 'utf8') : '';
  if (!/\toverlay$/m.test(filesystems)) problems.push('the kernel has no overlay filesystem: load it (modprobe overlay; package kmod) or use a kernel with CONFIG_OVERLAY_FS');
  const status = readFileSync('/proc/self/status', 'utf8');
  if (!/^Seccomp:/m.test(status)) problems.push('the kernel has no seccomp support (CONFIG_SECCOMP_FILTER): use a Debian kernel (package linux-image-amd64)');
  if (!existsSync('/sys/fs/cgroup') || !readFileSync('/proc/self/mountinfo', 'utf8').includes(' - cgroup')) {
    problems.push('no cgroup filesystem is mounted at /sys/fs/cgroup: mount it (package cgroupfs-mount on hosts without systemd)');
  }
  return problems;
}
