/**
 * Output of the stack, service and node commands as Docker's CLI prints it: tables aligned like
 * Go's tabwriter as Docker configures it (columns at least 10 wide, 3 spaces apart), ages as
 * "5 seconds ago", errors cut to 30 characters, published ports compacted into ranges, tasks
 * named `<service>.<slot>` (`<service>.<node id>` for global services) and sorted naturally.
 */
import type { Node, PortConfig, Service, Task } from '../contract/swarm.js';
import { humanDuration } from '../util/human-duration.js';

/** Rows of cells; every column but the last padded to its widest cell plus 3, at least `minWidth` (Docker's CLI: 10; Compose v2: 20). */
export function tabwriter(rows: readonly (readonly string[])[], minWidth = 10): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      if (i < row.length - 1) widths[i] = Math.max(widths[i] ?? 0, [...cell].length + 3, minWidth);
    });
  }
  return rows.map((row) => row.map((cell, i) => (i < row.length - 1 ? cell + ' '.repeat((widths[i] as number) - [...cell].length) : cell)).join('')).join('\n');
}

/** An age as Docker shows a task's: lower-cased ("less than a second", "5 seconds"). */
export function age(ms: number): string {
  return humanDuration(ms).toLowerCase();
}

export function capitalised(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

/** Cut to `max` characters with an ellipsis, as Docker cuts long cells. */
export function ellipsis(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

export function shortId(id: string): string {
  return id.slice(0, 12);
}

/** Strings compared with runs of digits as numbers ("web.2" before "web.10"). */
export function naturalCompare(a: string, b: string): number {
  const pa = a.match(/\d+|\D+/g) ?? [];
  const pb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i] as string;
    const y = pb[i] as string;
    if (x === y) continue;
    const nx = /^\d/.test(x);
    const ny = /^\d/.test(y);
    if (nx && ny) {
      const d = Number(x) - Number(y);
      if (d !== 0) return d;
      return x.length - y.length;
    }
    return x < y ? -1 : 1;
  }
  return pa.length - pb.length;
}

/** An image for display: a digest dropped where there is a tag. */
export function displayImage(image: string): string {
  const at = image.indexOf('@');
  if (at < 0) return image;
  const name = image.slice(0, at);
  return name.slice(name.lastIndexOf('/') + 1).includes(':') ? name : image;
}

export function modeName(s: Service): string {
  return { replicated: 'replicated', global: 'global', 'replicated-job': 'replicated job', 'global-job': 'global job' }[s.spec.mode.kind];
}

export function replicas(s: Service): string {
  const running = s.status?.running ?? 0;
  const desired = s.status?.desired ?? 0;
  const completed = s.status?.completed ?? 0;
  const mode = s.spec.mode;
  if (mode.kind === 'replicated-job') return `${running}/${desired} (${completed}/${mode.totalCompletions ?? 1} completed)`;
  if (mode.kind === 'global-job') return `${running}/${desired} (${completed}/${desired + completed} completed)`;
  const max = mode.kind === 'replicated' ? s.spec.task.placement?.maxReplicas : undefined;
  return max ? `${running}/${desired} (max ${max} per node)` : `${running}/${desired}`;
}

/** Ingress ports of a service, consecutive ones grouped: `*:8080-8081->80-81/tcp`. */
export function servicePorts(ports: readonly PortConfig[]): string {
  const sorted = ports
    .filter((p) => p.mode === 'ingress')
    .sort((a, b) => (a.protocol === b.protocol ? (a.published ?? 0) - (b.published ?? 0) : a.protocol < b.protocol ? -1 : 1));
  const out: string[] = [];
  let range: { pStart: number; pEnd: number; tStart: number; tEnd: number; protocol: string } | undefined;
  const show = (r: NonNullable<typeof range>) => {
    const pub = r.pEnd > r.pStart ? `${r.pStart}-${r.pEnd}` : `${r.pStart}`;
    const tgt = r.tEnd > r.tStart ? `${r.tStart}-${r.tEnd}` : `${r.tStart}`;
    return `*:${pub}->${tgt}/${r.protocol}`;
  };
  for (const p of sorted) {
    const published = p.published ?? 0;
    if (range && range.protocol === p.protocol && published - range.pEnd <= 1 && p.target - range.tEnd <= 1 && !(range.tEnd !== range.tStart && p.target <= range.tEnd)) {
      range.pEnd = published;
      range.tEnd = p.target;
      continue;
    }
    if (range && range.pStart > 0) out.push(show(range));
    range = { pStart: published, pEnd: published, tStart: p.target, tEnd: p.target, protocol: p.protocol };
  }
  if (range && range.pStart > 0) out.push(show(range));
  return out.join(', ');
}

export interface TaskRow {
  task: Task;
  /** `web.1`, or ` \_ web.1` for an earlier task of the same slot. */
  name: string;
  node: string;
}

/** Tasks in Docker's `ps` order: by name (naturally), newest first within a slot. */
export function taskRows(tasks: readonly Task[], serviceName: (id: string) => string, nodes: ReadonlyMap<string, Node>, resolve: boolean): TaskRow[] {
  const named = tasks.map((task) => {
    const service = resolve ? serviceName(task.serviceId) : task.serviceId;
    return { task, base: `${service}.${task.slot !== 0 ? task.slot : task.nodeId}` };
  });
  named.sort((a, b) => (a.base !== b.base ? naturalCompare(a.base, b.base) : Date.parse(b.task.createdAt) - Date.parse(a.task.createdAt)));
  let previous = '';
  return named.map(({ task, base }) => {
    const row = { task, name: base === previous ? ` \\_ ${base}` : base, node: resolve ? (nodes.get(task.nodeId)?.hostname ?? task.nodeId) : task.nodeId };
    previous = base;
    return row;
  });
}

export function taskState(t: Task, now: number): string {
  return `${capitalised(t.state)} ${age(now - Date.parse(t.timestamp))} ago`;
}

export function taskError(t: Task, trunc: boolean): string {
  const err = t.error ?? '';
  if (err === '') return '';
  return `"${trunc ? ellipsis(err, 30) : err}"`;
}

export function taskPorts(t: Task): string {
  return t.ports.map((p) => `*:${p.published ?? 0}->${p.target}/${p.protocol}`).join(',');
}
