/** `docker top` and `docker stats` from runc: `runc ps` (host ps, filtered to the container) and `runc events --stats`. */
import { readFile } from 'node:fs/promises';
import { totalmem } from 'node:os';
import { EngineError } from '../../contract/errors.js';

/** ps output as titles and rows; the last column (the command) keeps its spaces. */
export function parsePs(output: string): { titles: string[]; processes: string[][] } {
  const lines = output.split('\n').filter((l) => l.trim() !== '');
  const header = lines.shift();
  if (header === undefined) throw new EngineError('engine', 'ps printed nothing');
  const titles = header.trim().split(/\s+/);
  const processes = lines.map((line) => {
    const fields = line.trim().split(/\s+/);
    if (fields.length <= titles.length) return fields;
    return [...fields.slice(0, titles.length - 1), fields.slice(titles.length - 1).join(' ')];
  });
  return { titles, processes };
}

export function psArguments(psArgs: string | undefined): string[] {
  const args = (psArgs ?? '').trim();
  return args === '' ? ['-ef'] : args.split(/\s+/);
}

interface RuncStats {
  data?: {
    cpu?: { usage?: { total?: number } };
    memory?: { usage?: { usage?: number; limit?: number }; raw?: Record<string, number> };
    pids?: { current?: number };
    blkio?: { ioServiceBytesRecursive?: { op?: string; value?: number }[] };
  };
}

export interface ContainerStats {
  /** CPU time used, nanoseconds. */
  cpuNanos: number;
  /** Memory in use, without the inactive page cache (as docker stats shows it). */
  memoryBytes: number;
  /** The limit, or the host's memory when there is none. */
  memoryLimit: number;
  pids: number;
  blockRead: number;
  blockWrite: number;
}

export function parseStats(output: string): ContainerStats {
  const line = output.trim().split('\n').find((l) => l.startsWith('{'));
  if (!line) throw new EngineError('engine', `runc events --stats printed no statistics: ${output.trim()}`);
  const s = (JSON.parse(line) as RuncStats).data ?? {};
  const usage = s.memory?.usage?.usage ?? 0;
  const inactive = s.memory?.raw?.['total_inactive_file'] ?? s.memory?.raw?.['inactive_file'] ?? 0;
  const limit = s.memory?.usage?.limit ?? 0;
  return {
    cpuNanos: s.cpu?.usage?.total ?? 0,
    memoryBytes: Math.max(0, usage - (inactive < usage ? inactive : 0)),
    memoryLimit: limit > 0 && limit < 2 ** 62 ? Math.min(limit, totalmem()) : totalmem(),
    pids: s.pids?.current ?? 0,
    blockRead: blkio(s, 'read'),
    blockWrite: blkio(s, 'write'),
  };
}

function blkio(s: NonNullable<RuncStats['data']>, op: 'read' | 'write'): number {
  return (s.blkio?.ioServiceBytesRecursive ?? []).filter((e) => e.op?.toLowerCase() === op).reduce((sum, e) => sum + (e.value ?? 0), 0);
}

/** Bytes received and sent on a process's network namespace's interfaces but loopback (/proc/PID/net/dev). */
export async function networkBytes(pid: number): Promise<{ networkRx: number; networkTx: number }> {
  let text = '';
  try {
    text = pid > 0 ? await readFile(`/proc/${pid}/net/dev`, 'utf8') : '';
  } catch {
    // gone meanwhile: nothing to count
  }
  let networkRx = 0;
  let networkTx = 0;
  for (const line of text.split('\n').slice(2)) {
    const m = /^\s*([^:]+):\s*(.*)$/.exec(line);
    if (!m || m[1] === 'lo') continue;
    const fields = (m[2] as string).trim().split(/\s+/).map(Number);
    networkRx += fields[0] ?? 0;
    networkTx += fields[8] ?? 0;
  }
  return { networkRx, networkTx };
}
