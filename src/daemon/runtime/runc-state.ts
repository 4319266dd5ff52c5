/**
 * A container's status as `runc state` reports it, read from the files runc keeps instead of
 * running runc: its state.json under the runc root, the init process in /proc, the exec fifo
 * (there until `runc start`) and the freezer. Starting runc for this costs a fork of the daemon
 * and a Go runtime's start; the daemon asks several times per container start and stop.
 *
 * runc 1.1's rules: paused when the freezer says FROZEN; otherwise stopped when the init process
 * is gone, is a zombie, or is another process (its start time differs); created while the exec
 * fifo exists; running otherwise. A stopped container's pid is 0.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { EngineError } from '../../contract/errors.js';
import type { RuncEntry } from './types.js';

interface RuncStateFile {
  id: string;
  init_process_pid: number;
  init_process_start: number;
  cgroup_paths?: Record<string, string>;
  config?: { namespaces?: { type: string; path?: string }[] | null; hooks?: Record<string, unknown[] | null> | null };
}

/** readRuncState's answer plus what the daemon needs to signal or delete the container without runc. */
export interface RuncStateDetails extends RuncEntry {
  /** The container has a PID namespace of its own: killing its init ends every process in it. */
  ownPidNamespace: boolean;
  /** Hooks runc would run (it runs poststop hooks at delete). */
  hooks: boolean;
  /** The container's cgroup directories, one per hierarchy runc made it in. */
  cgroupPaths: string[];
}

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}

/** Field 3 (state) and field 22 (start time, clock ticks) of /proc/PID/stat. */
async function processStat(pid: number): Promise<{ state: string; startTime: number } | null> {
  const text = pid > 0 ? await readText(`/proc/${pid}/stat`) : null;
  if (text === null) return null;
  // The command name (field 2) is in parentheses and may hold spaces or parentheses itself.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '', startTime: Number(fields[19]) };
}

async function frozen(cgroupPaths: Record<string, string>): Promise<boolean> {
  const v1 = cgroupPaths['freezer'];
  if (v1) return (await readText(join(v1, 'freezer.state')))?.trim() === 'FROZEN';
  const unified = cgroupPaths[''];
  return unified ? (await readText(join(unified, 'cgroup.freeze')))?.trim() === '1' : false;
}

/** runc's view of one container; null when runc does not know it. */
export async function readRuncState(runcRoot: string, id: string): Promise<RuncEntry | null> {
  const details = await readRuncStateDetails(runcRoot, id);
  return details && { id: details.id, status: details.status, pid: details.pid };
}

export async function readRuncStateDetails(runcRoot: string, id: string): Promise<RuncStateDetails | null> {
  const dir = join(runcRoot, id);
  const text = await readText(join(dir, 'state.json'));
  if (text === null) return null;
  let state: RuncStateFile;
  try {
    state = JSON.parse(text) as RuncStateFile;
  } catch (e) {
    throw new EngineError('engine', `runc state ${id}: ${join(dir, 'state.json')}: ${(e as Error).message}`);
  }
  const pid = state.init_process_pid;
  const pidNamespace = state.config?.namespaces?.find((n) => n.type === 'NEWPID');
  const facts = {
    ownPidNamespace: pidNamespace !== undefined && !pidNamespace.path,
    hooks: Object.values(state.config?.hooks ?? {}).some((list) => (list?.length ?? 0) > 0),
    cgroupPaths: [...new Set(Object.values(state.cgroup_paths ?? {}))],
  };
  if (await frozen(state.cgroup_paths ?? {})) return { id, status: 'paused', pid, ...facts };
  const proc = await processStat(pid);
  if (!proc || proc.startTime !== state.init_process_start || proc.state === 'Z' || proc.state === 'X') return { id, status: 'stopped', pid: 0, ...facts };
  const fifo = await stat(join(dir, 'exec.fifo')).then(
    () => true,
    () => false,
  );
  return { id, status: fifo ? 'created' : 'running', pid, ...facts };
}
