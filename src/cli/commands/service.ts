/**
 * `flotilla service ls|ps|inspect|logs|scale|update|rollback|rm` on a Docker Swarm manager, with
 * Docker's columns and `--format json` (one object per line, Docker's field names). Commands that
 * change a service wait for it to converge unless -d/--detach is given, as Docker's do.
 */
import { Command, Option } from 'commander';
import type { Node, Service, ServiceSpec, SwarmCluster } from '../../contract/swarm.js';
import { FlotillaError, UsageError } from '../../errors.js';
import { waitForServices } from '../../stack/converge.js';
import type { CliContext, GlobalOptions } from '../context.js';
import { ExitCode } from '../exit.js';
import { EXIT_SERVICE_FAILED, EXIT_WAIT_TIMEOUT } from '../stack-deploy.js';
import { parseBool, withSwarm } from '../swarm.js';
import { displayImage, modeName, naturalCompare, replicas, servicePorts, shortId, tabwriter, taskError, taskPorts, taskRows, taskState } from '../swarm-format.js';
import { followServiceLogs } from '../service-logs.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

export type Filters = Map<string, string[]>;

/** `-f key=value` flags, grouped by key. */
export function parseFilters(values: readonly string[]): Filters {
  const out: Filters = new Map();
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new UsageError(`bad filter "${v}": use key=value`);
    const key = v.slice(0, eq).toLowerCase();
    out.set(key, [...(out.get(key) ?? []), v.slice(eq + 1)]);
  }
  return out;
}

function matchesAny(values: string[] | undefined, test: (v: string) => boolean): boolean {
  return values === undefined || values.some(test);
}

function labelMatches(labels: Record<string, string>, filter: string): boolean {
  const eq = filter.indexOf('=');
  if (eq < 0) return Object.hasOwn(labels, filter);
  return labels[filter.slice(0, eq)] === filter.slice(eq + 1);
}

function writeJsonLines(ctx: CliContext, items: object[]): void {
  for (const item of items) ctx.stdout.write(`${JSON.stringify(item)}\n`);
}

export function listServicesTable(ctx: CliContext, all: Service[], filters: Filters, opts: { quiet?: boolean; format?: string }): void {
  for (const key of filters.keys()) if (!['id', 'name', 'mode', 'label'].includes(key)) throw new UsageError(`invalid filter '${key}' (use id, name, mode or label)`);
  const services = all
    .filter(
      (s) =>
        matchesAny(filters.get('id'), (v) => s.id.startsWith(v)) &&
        matchesAny(filters.get('name'), (v) => s.spec.name.startsWith(v)) &&
        matchesAny(filters.get('mode'), (v) => modeName(s) === v) &&
        (filters.get('label') ?? []).every((v) => labelMatches(s.spec.labels, v)),
    )
    .sort((a, b) => naturalCompare(a.spec.name, b.spec.name));
  if (opts.quiet) {
    if (services.length > 0) ctx.stdout.write(`${services.map((s) => s.id).join('\n')}\n`);
    return;
  }
  const rows = services.map((s) => ({
    ID: shortId(s.id),
    Name: s.spec.name,
    Mode: modeName(s),
    Replicas: replicas(s),
    Image: displayImage(s.spec.task.container.image),
    Ports: servicePorts(s.endpointPorts),
  }));
  if (opts.format === 'json') return writeJsonLines(ctx, rows);
  ctx.stdout.write(`${tabwriter([['ID', 'NAME', 'MODE', 'REPLICAS', 'IMAGE', 'PORTS'], ...rows.map((r) => [r.ID, r.Name, r.Mode, r.Replicas, r.Image, r.Ports])])}\n`);
}

export async function listTasksTable(
  ctx: CliContext,
  cluster: SwarmCluster,
  services: Service[],
  filters: Filters,
  opts: { trunc: boolean; resolve: boolean; quiet?: boolean; format?: string },
): Promise<void> {
  for (const key of filters.keys()) if (!['id', 'name', 'node', 'desired-state'].includes(key)) throw new UsageError(`invalid filter '${key}' (use id, name, node or desired-state)`);
  const [tasks, nodes] = await Promise.all([cluster.listTasks({ services: services.map((s) => s.id) }), cluster.listNodes()]);
  const byNode = new Map<string, Node>(nodes.map((n) => [n.id, n]));
  const serviceName = (id: string) => services.find((s) => s.id === id)?.spec.name ?? id;
  const rows = taskRows(
    tasks.filter(
      (t) =>
        matchesAny(filters.get('id'), (v) => t.id.startsWith(v)) &&
        matchesAny(filters.get('desired-state'), (v) => t.desiredState === v.toLowerCase()) &&
        matchesAny(filters.get('node'), (v) => t.nodeId === v || byNode.get(t.nodeId)?.hostname === v) &&
        matchesAny(filters.get('name'), (v) => `${serviceName(t.serviceId)}.${t.slot || t.nodeId}`.startsWith(v)),
    ),
    serviceName,
    byNode,
    opts.resolve,
  );
  if (opts.quiet) {
    if (rows.length > 0) ctx.stdout.write(`${rows.map((r) => r.task.id).join('\n')}\n`);
    return;
  }
  const now = Date.now();
  const cells = rows.map((r) => ({
    ID: opts.trunc ? shortId(r.task.id) : r.task.id,
    Name: r.name,
    Image: opts.trunc ? displayImage(r.task.image) : r.task.image,
    Node: r.node,
    DesiredState: r.task.desiredState.charAt(0).toUpperCase() + r.task.desiredState.slice(1),
    CurrentState: taskState(r.task, now),
    Error: taskError(r.task, opts.trunc),
    Ports: taskPorts(r.task),
  }));
  if (opts.format === 'json') return writeJsonLines(ctx, cells);
  const header = ['ID', 'NAME', 'IMAGE', 'NODE', 'DESIRED STATE', 'CURRENT STATE', 'ERROR', 'PORTS'];
  ctx.stdout.write(`${tabwriter([header, ...cells.map((c) => [c.ID, c.Name, c.Image, c.Node, c.DesiredState, c.CurrentState, c.Error, c.Ports])])}\n`);
}

/** Services by id or name (an unambiguous id prefix too, as Docker resolves them). */
async function findService(cluster: SwarmCluster, ref: string): Promise<Service> {
  const found = await cluster.inspectService(ref);
  if (!found) throw new FlotillaError(`no such service: ${ref}`);
  return found;
}

async function waitFor(ctx: CliContext, cluster: SwarmCluster, services: Service[], detach: boolean, quiet: boolean, rollback = false): Promise<void> {
  if (detach) return;
  const outcome = await waitForServices(cluster, new Map(services.map((s) => [s.spec.name, s.id])), {
    rollback,
    report: (line) => {
      if (!quiet) ctx.stderr.write(`${line}\n`);
    },
  });
  if (outcome.kind === 'failed') {
    for (const f of outcome.failures) ctx.stderr.write(`ERROR: ${f}\n`);
    throw new ExitCode(EXIT_SERVICE_FAILED);
  }
  if (outcome.kind === 'timeout') throw new ExitCode(EXIT_WAIT_TIMEOUT);
}

interface UpdateFlags {
  image?: string;
  envAdd?: string[];
  envRm?: string[];
  labelAdd?: string[];
  labelRm?: string[];
  constraintAdd?: string[];
  constraintRm?: string[];
  replicas?: string;
  force?: boolean;
  detach: boolean;
  quiet?: boolean;
}

function keyOf(entry: string): string {
  const eq = entry.indexOf('=');
  return eq < 0 ? entry : entry.slice(0, eq);
}

/** The spec with `service update`'s flags applied, as Docker's CLI applies them. */
export function updatedSpec(current: ServiceSpec, flags: UpdateFlags): ServiceSpec {
  const spec = structuredClone(current);
  const c = spec.task.container;
  if (flags.image !== undefined) c.image = flags.image;
  if (flags.envAdd?.length || flags.envRm?.length) {
    const removed = new Set([...(flags.envRm ?? []), ...(flags.envAdd ?? []).map(keyOf)]);
    c.env = [...(c.env ?? []).filter((e) => !removed.has(keyOf(e))), ...(flags.envAdd ?? [])].sort();
  }
  if (flags.labelAdd?.length || flags.labelRm?.length) {
    for (const k of flags.labelRm ?? []) delete spec.labels[k];
    for (const entry of flags.labelAdd ?? []) spec.labels[keyOf(entry)] = entry.includes('=') ? entry.slice(entry.indexOf('=') + 1) : '';
  }
  if (flags.constraintAdd?.length || flags.constraintRm?.length) {
    const removed = new Set(flags.constraintRm ?? []);
    const constraints = [...(spec.task.placement?.constraints ?? []).filter((x) => !removed.has(x)), ...(flags.constraintAdd ?? [])];
    spec.task.placement = { ...spec.task.placement, constraints };
  }
  if (flags.replicas !== undefined) {
    if (!/^\d+$/.test(flags.replicas)) throw new UsageError(`invalid --replicas "${flags.replicas}": use a number`);
    if (spec.mode.kind !== 'replicated') throw new UsageError('--replicas can only be used with replicated mode');
    spec.mode = { kind: 'replicated', replicas: Number(flags.replicas) };
  }
  if (flags.force) spec.task.forceUpdate = (spec.task.forceUpdate ?? 0) + 1;
  return spec;
}

function detachOption(cmd: Command): Command {
  return cmd.addOption(new Option('-d, --detach [bool]', 'return at once instead of waiting for the service to converge').argParser(parseBool).default(false));
}

export function registerService(program: Command, ctx: CliContext, global: () => GlobalOptions): void {
  const service = program.command('service').description('Manage swarm services');

  service
    .command('ls')
    .alias('list')
    .description('List services')
    .option('-f, --filter <filter>', 'filter (id=, name=, mode=, label=)', collect)
    .option('-q, --quiet', 'print ids only')
    .addOption(new Option('--format <format>', 'table or json').choices(['table', 'json']))
    .action(async (opts: { filter?: string[]; quiet?: boolean; format?: string }) => {
      const filters = parseFilters(opts.filter ?? []);
      await withSwarm(ctx, global(), async (cluster) => listServicesTable(ctx, await cluster.listServices(), filters, opts));
    });

  service
    .command('ps')
    .description('List the tasks of services')
    .argument('<service...>', 'services (name or id)')
    .option('-f, --filter <filter>', 'filter (desired-state=, node=, name=, id=)', collect)
    .option('--no-trunc', 'do not cut ids and errors')
    .option('--no-resolve', 'show ids instead of names')
    .option('-q, --quiet', 'print task ids only')
    .addOption(new Option('--format <format>', 'table or json').choices(['table', 'json']))
    .action(async (refs: string[], opts: { filter?: string[]; trunc: boolean; resolve: boolean; quiet?: boolean; format?: string }) => {
      const filters = parseFilters(opts.filter ?? []);
      await withSwarm(ctx, global(), async (cluster) => {
        const services = await Promise.all(refs.map((r) => findService(cluster, r)));
        await listTasksTable(ctx, cluster, services, filters, opts);
      });
    });

  service
    .command('inspect')
    .description('Show services as the swarm describes them (JSON)')
    .argument('<service...>', 'services (name or id)')
    .action(async (refs: string[]) => {
      await withSwarm(ctx, global(), async (cluster) => {
        const out: unknown[] = [];
        for (const r of refs) {
          const raw = await cluster.inspectRaw('service', r);
          if (raw === null) throw new FlotillaError(`no such service: ${r}`);
          out.push(raw);
        }
        ctx.stdout.write(`${JSON.stringify(out, null, 4)}\n`);
      });
    });

  service
    .command('logs')
    .description("Show the output of services' tasks, each line prefixed with its task")
    .argument('<service...>', 'services (name or id)')
    .option('-f, --follow', 'keep following, new tasks included')
    .option('--tail <lines>', 'lines from the end of each task\'s log')
    .option('-t, --timestamps', 'show timestamps')
    .option('--no-log-prefix', 'no prefix')
    .action(async (refs: string[], opts: { follow?: boolean; tail?: string; timestamps?: boolean; logPrefix: boolean }) => {
      if (opts.tail !== undefined && opts.tail !== 'all' && !/^\d+$/.test(opts.tail)) throw new UsageError(`invalid --tail "${opts.tail}": use a number or all`);
      await withSwarm(ctx, global(), async (cluster) => {
        const services = await Promise.all(refs.map((r) => findService(cluster, r)));
        await followServiceLogs(ctx, cluster, services, {
          follow: opts.follow === true,
          timestamps: opts.timestamps === true,
          prefix: opts.logPrefix,
          color: (ctx.stdout as NodeJS.WriteStream).isTTY === true && global().color !== false && !ctx.env['NO_COLOR'],
          ...(opts.tail !== undefined && opts.tail !== 'all' ? { tail: Number(opts.tail) } : {}),
        });
      });
    });

  detachOption(service.command('scale').description('Set the replicas of replicated services').argument('<service=replicas...>', 'e.g. web=3'))
    .option('-q, --quiet', 'print no progress')
    .action(async (pairs: string[], opts: { detach: boolean; quiet?: boolean }) => {
      const wanted = pairs.map((p) => {
        const m = /^(.+)=(\d+)$/.exec(p);
        if (!m) throw new UsageError(`invalid scale specifier '${p}': use SERVICE=REPLICAS`);
        return [m[1] as string, Number(m[2])] as const;
      });
      await withSwarm(ctx, global(), async (cluster) => {
        const scaled: Service[] = [];
        for (const [ref, count] of wanted) {
          const s = await findService(cluster, ref);
          const mode = s.spec.mode;
          if (mode.kind !== 'replicated' && mode.kind !== 'replicated-job') throw new FlotillaError(`${ref}: scale can only be used with replicated or replicated-job mode`);
          const spec = structuredClone(s.spec);
          spec.mode = mode.kind === 'replicated' ? { kind: 'replicated', replicas: count } : { ...mode, totalCompletions: count };
          const { warnings } = await cluster.updateService(s.id, s.version, spec);
          warnings.forEach((w) => ctx.stderr.write(`${w}\n`));
          ctx.stdout.write(`${ref} scaled to ${count}\n`);
          scaled.push(s);
        }
        await waitFor(ctx, cluster, scaled, opts.detach, opts.quiet === true);
      });
    });

  detachOption(service.command('update').description('Update a service').argument('<service>', 'service (name or id)'))
    .option('--image <image>', 'image')
    .option('--env-add <VAR=value>', 'add or set a variable', collect)
    .option('--env-rm <VAR>', 'remove a variable', collect)
    .option('--label-add <key=value>', 'add or set a service label', collect)
    .option('--label-rm <key>', 'remove a service label', collect)
    .option('--constraint-add <constraint>', 'add a placement constraint', collect)
    .option('--constraint-rm <constraint>', 'remove a placement constraint', collect)
    .option('--replicas <n>', 'number of tasks')
    .option('--force', 'replace the tasks even if nothing changed')
    .option('-q, --quiet', 'print no progress')
    .action(async (ref: string, opts: UpdateFlags) => {
      await withSwarm(ctx, global(), async (cluster) => {
        const s = await findService(cluster, ref);
        const { warnings } = await cluster.updateService(s.id, s.version, updatedSpec(s.spec, opts));
        warnings.forEach((w) => ctx.stderr.write(`${w}\n`));
        ctx.stdout.write(`${ref}\n`);
        await waitFor(ctx, cluster, [s], opts.detach, opts.quiet === true);
      });
    });

  detachOption(service.command('rollback').description("Go back to a service's previous spec").argument('<service>', 'service (name or id)'))
    .option('-q, --quiet', 'print no progress')
    .action(async (ref: string, opts: { detach: boolean; quiet?: boolean }) => {
      await withSwarm(ctx, global(), async (cluster) => {
        const s = await findService(cluster, ref);
        if (!s.previousSpec) throw new FlotillaError(`service ${ref} has no previous spec to roll back to`);
        const { warnings } = await cluster.rollbackService(s.id, s.version);
        warnings.forEach((w) => ctx.stderr.write(`${w}\n`));
        ctx.stdout.write(`${ref}\n`);
        await waitFor(ctx, cluster, [s], opts.detach, opts.quiet === true, true);
      });
    });

  service
    .command('rm')
    .alias('remove')
    .description('Remove services')
    .argument('<service...>', 'services (name or id)')
    .action(async (refs: string[]) => {
      await withSwarm(ctx, global(), async (cluster) => {
        const missing: string[] = [];
        for (const r of refs) {
          const s = await cluster.inspectService(r);
          if (!s) {
            missing.push(r);
            continue;
          }
          await cluster.removeService(s.id);
          ctx.stdout.write(`${r}\n`);
        }
        if (missing.length > 0) throw new FlotillaError(`no such service: ${missing.join(', ')}`);
      });
    });
}
