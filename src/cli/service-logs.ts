/**
 * `service logs`: the output of every task of the services on one stream, each line prefixed with
 * its task as docker-compose prefixes containers (`web.2   | ...`, coloured on a terminal), tasks
 * that start later included when following. The swarm's own log stream of a service already
 * merges its tasks; a task it names that was not known yet is looked up once.
 */
import type { Service, SwarmCluster, Task } from '../contract/swarm.js';
import { LogPrinter } from './logs/printer.js';
import type { CliContext } from './context.js';

export interface ServiceLogsOptions {
  follow: boolean;
  timestamps: boolean;
  prefix: boolean;
  color: boolean;
  tail?: number;
}

function taskName(service: Service, task: Task | undefined, nodeName: (id: string) => string): string {
  if (!task) return service.spec.name;
  return task.slot !== 0 ? `${service.spec.name}.${task.slot}` : `${service.spec.name}.${nodeName(task.nodeId)}`;
}

export async function followServiceLogs(ctx: CliContext, cluster: SwarmCluster, services: Service[], options: ServiceLogsOptions): Promise<void> {
  const [tasks, nodes] = await Promise.all([cluster.listTasks({ services: services.map((s) => s.id) }), cluster.listNodes()]);
  const known = new Map(tasks.map((t) => [t.id, t]));
  const nodeName = (id: string) => nodes.find((n) => n.id === id)?.hostname ?? id.slice(0, 12);
  const names = services.flatMap((s) => [s.spec.name, ...tasks.filter((t) => t.serviceId === s.id).map((t) => taskName(s, t, nodeName))]);
  const printer = new LogPrinter(ctx.stdout, {
    color: options.color,
    prefix: options.prefix,
    width: Math.max(0, ...names.map((n) => n.length)) + 3,
  });
  const lookup = async (id: string) => {
    let t = known.get(id);
    if (!t && id !== '') {
      for (const fresh of await cluster.listTasks({ services: services.map((s) => s.id) })) known.set(fresh.id, fresh);
      t = known.get(id);
    }
    return t;
  };
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  try {
    await Promise.all(
      services.map(async (s) => {
        const logOptions = { follow: options.follow, timestamps: options.timestamps, signal: controller.signal, ...(options.tail !== undefined ? { tail: options.tail } : {}) };
        for await (const line of cluster.serviceLogs(s.id, logOptions)) {
          const name = taskName(s, await lookup(line.taskId), nodeName);
          const text = line.time !== undefined ? `${line.time} ${line.text}` : line.text;
          ctx.stdout.write(`${printer.prefixFor(name)}${text}\n`);
        }
      }),
    );
  } finally {
    process.removeListener('SIGINT', stop);
  }
}
