/**
 * `flotilla node ls|inspect|update` on a Docker Swarm manager, with Docker's columns, `--format
 * json` and flags (`node update --label-add/--label-rm/--availability/--role`).
 */
import { Command, Option } from 'commander';
import type { Node, SwarmCluster } from '../../contract/swarm.js';
import { FlotillaError, UsageError } from '../../errors.js';
import type { CliContext, GlobalOptions } from '../context.js';
import { withSwarm } from '../swarm.js';
import { capitalised, naturalCompare, tabwriter } from '../swarm-format.js';
import { parseFilters } from './service.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

function managerStatus(n: Node): string {
  if (!n.manager) return '';
  if (n.manager.leader) return 'Leader';
  return capitalised(n.manager.reachability);
}

/** A node by id, id prefix, hostname or "self". */
async function findNode(cluster: SwarmCluster, ref: string): Promise<Node> {
  const id = ref === 'self' ? (await cluster.info()).nodeId : ref;
  const found = await cluster.inspectNode(id);
  if (found) return found;
  const byName = (await cluster.listNodes()).filter((n) => n.hostname === ref);
  if (byName.length === 1 && byName[0]) return byName[0];
  if (byName.length > 1) throw new FlotillaError(`node ${ref} is ambiguous (${byName.length} nodes have that name): use its id`);
  throw new FlotillaError(`no such node: ${ref}`);
}

export function registerNode(program: Command, ctx: CliContext, global: () => GlobalOptions): void {
  const node = program.command('node').description('Manage swarm nodes');

  node
    .command('ls')
    .alias('list')
    .description('List the nodes of the swarm')
    .option('-f, --filter <filter>', 'filter (id=, name=, role=, label=)', collect)
    .option('-q, --quiet', 'print ids only')
    .addOption(new Option('--format <format>', 'table or json').choices(['table', 'json']))
    .action(async (opts: { filter?: string[]; quiet?: boolean; format?: string }) => {
      const filters = parseFilters(opts.filter ?? []);
      for (const key of filters.keys()) if (!['id', 'name', 'role', 'label'].includes(key)) throw new UsageError(`invalid filter '${key}' (use id, name, role or label)`);
      await withSwarm(ctx, global(), async (cluster) => {
        const self = (await cluster.info()).nodeId;
        const nodes = (await cluster.listNodes())
          .filter(
            (n) =>
              (filters.get('id') ?? [n.id]).some((v) => n.id.startsWith(v)) &&
              (filters.get('name') ?? [n.hostname]).some((v) => n.hostname.startsWith(v)) &&
              (filters.get('role') ?? [n.spec.role]).includes(n.spec.role) &&
              (filters.get('label') ?? []).every((v) => {
                const eq = v.indexOf('=');
                return eq < 0 ? Object.hasOwn(n.spec.labels, v) : n.spec.labels[v.slice(0, eq)] === v.slice(eq + 1);
              }),
          )
          .sort((a, b) => naturalCompare(a.hostname, b.hostname));
        if (opts.quiet) {
          if (nodes.length > 0) ctx.stdout.write(`${nodes.map((n) => n.id).join('\n')}\n`);
          return;
        }
        const rows = nodes.map((n) => ({
          Availability: capitalised(n.spec.availability),
          EngineVersion: n.engineVersion,
          Hostname: n.hostname,
          ID: n.id,
          ManagerStatus: managerStatus(n),
          Self: n.id === self,
          Status: capitalised(n.state),
          TLSStatus: n.tlsStatus ?? 'Ready',
        }));
        if (opts.format === 'json') {
          for (const r of rows) ctx.stdout.write(`${JSON.stringify(r)}\n`);
          return;
        }
        const header = ['ID', 'HOSTNAME', 'STATUS', 'AVAILABILITY', 'MANAGER STATUS', 'ENGINE VERSION'];
        ctx.stdout.write(`${tabwriter([header, ...rows.map((r) => [r.Self ? `${r.ID} *` : r.ID, r.Hostname, r.Status, r.Availability, r.ManagerStatus, r.EngineVersion])])}\n`);
      });
    });

  node
    .command('inspect')
    .description('Show nodes as the swarm describes them (JSON)')
    .argument('<node...>', 'nodes (id, hostname or self)')
    .action(async (refs: string[]) => {
      await withSwarm(ctx, global(), async (cluster) => {
        const out: unknown[] = [];
        for (const r of refs) out.push(await cluster.inspectRaw('node', (await findNode(cluster, r)).id));
        ctx.stdout.write(`${JSON.stringify(out, null, 4)}\n`);
      });
    });

  node
    .command('update')
    .description("Update a node's labels, availability or role")
    .argument('<node>', 'node (id, hostname or self)')
    .option('--label-add <key=value>', 'add or set a node label', collect)
    .option('--label-rm <key>', 'remove a node label', collect)
    .addOption(new Option('--availability <availability>', 'active, pause or drain').choices(['active', 'pause', 'drain']))
    .addOption(new Option('--role <role>', 'worker or manager').choices(['worker', 'manager']))
    .action(async (ref: string, opts: { labelAdd?: string[]; labelRm?: string[]; availability?: 'active' | 'pause' | 'drain'; role?: 'worker' | 'manager' }) => {
      await withSwarm(ctx, global(), async (cluster) => {
        const n = await findNode(cluster, ref);
        const spec = structuredClone(n.spec);
        for (const key of opts.labelRm ?? []) {
          if (!Object.hasOwn(spec.labels, key)) throw new FlotillaError(`key ${key} doesn't exist in node's labels`);
          delete spec.labels[key];
        }
        for (const entry of opts.labelAdd ?? []) {
          const eq = entry.indexOf('=');
          spec.labels[eq < 0 ? entry : entry.slice(0, eq)] = eq < 0 ? '' : entry.slice(eq + 1);
        }
        if (opts.availability) spec.availability = opts.availability;
        if (opts.role) spec.role = opts.role;
        await cluster.updateNode(n.id, n.version, spec);
        ctx.stdout.write(`${ref}\n`);
      });
    });
}
