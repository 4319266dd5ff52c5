/**
 * `flotilla stack deploy|config|ls|ps|services|rm` and `flotilla deploy`, on a Docker Swarm
 * manager, with Docker's flags, output and names: what one tool deploys, the other sees.
 */
import { Command, Option } from 'commander';
import type { Service, SwarmCluster } from '../../contract/swarm.js';
import { Diagnostics } from '../../diagnostics.js';
import { FlotillaError, UsageError } from '../../errors.js';
import { projectToCompose } from '../../compose/serialize.js';
import { loadProject } from '../../compose/load.js';
import { readBundle } from '../../bundle/read.js';
import { NAMESPACE_LABEL, namespaceFilter } from '../../stack/names.js';
import { removeStack } from '../../stack/remove.js';
import { toYaml } from '../../util/yaml-emit.js';
import { printWarnings, type CliContext, type GlobalOptions } from '../context.js';
import { ExitCode } from '../exit.js';
import { checkStackName } from '../stack-input.js';
import { runStackDeploy, type DeployFlags } from '../stack-deploy.js';
import { parseBool, withSwarm } from '../swarm.js';
import { listServicesTable, listTasksTable, parseFilters, type Filters } from './service.js';
import { naturalCompare, tabwriter } from '../swarm-format.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

interface RawDeployFlags {
  composeFile?: string[];
  bundleFile?: string;
  prune?: boolean;
  resolveImage: string;
  withRegistryAuth?: boolean;
  detach?: boolean;
  wait?: boolean;
  waitTimeout?: string;
  dryRun?: boolean;
  keepScale?: boolean;
  ordered?: boolean;
  envFile?: string[];
  quiet?: boolean;
}

function addDeployOptions(cmd: Command, bundleOnly: boolean): Command {
  if (!bundleOnly) cmd.option('-c, --compose-file <file>', 'Compose file (repeatable, merged in order; "-" reads standard input)', collect);
  return cmd
    .option('--bundle-file <file>', bundleOnly ? 'the bundle to deploy (default: STACK.dab)' : 'a .dab bundle to deploy instead of Compose files')
    .option('--prune', 'remove services of the stack that are no longer in it')
    .addOption(new Option('--resolve-image <when>', 'pin images by digest through their registry').choices(['always', 'changed', 'never']).default('always'))
    .option('--with-registry-auth', 'send registry credentials to the swarm nodes')
    .addOption(new Option('-d, --detach [bool]', 'return once the services are created or updated (--detach=false waits)').argParser(parseBool).default(true))
    .option('--wait', 'wait until every service has converged, or failed')
    .option('--wait-timeout <seconds>', 'stop waiting after this long')
    .option('--dry-run', 'print what would be done, and why, without doing it')
    .option('--keep-scale', 'keep the replicas services have now (e.g. after a `service scale`)')
    .option('--ordered', 'deploy in depends_on order, waiting for each service before its dependants')
    .option('--env-file <path>', 'variables to interpolate with, besides the environment (repeatable, a later file wins; stack deploy reads no .env by default)', collect)
    .option('-q, --quiet', 'print no progress');
}

function deployFlags(stack: string, raw: RawDeployFlags, bundleDefault: boolean): DeployFlags {
  const flags: DeployFlags = {
    stack,
    composeFiles: raw.composeFile ?? [],
    bundleFile: raw.bundleFile ?? (bundleDefault ? `${stack}.dab` : undefined),
    envFiles: raw.envFile,
    ordered: raw.ordered === true,
    prune: raw.prune === true,
    resolveImage: raw.resolveImage,
    withRegistryAuth: raw.withRegistryAuth === true,
    detach: raw.detach !== false,
    wait: raw.wait === true,
    waitTimeout: raw.waitTimeout,
    dryRun: raw.dryRun === true,
    keepScale: raw.keepScale === true,
    quiet: raw.quiet === true,
  };
  if (flags.waitTimeout !== undefined && flags.detach && !flags.wait && !flags.ordered) throw new UsageError('--wait-timeout goes with --wait or --detach=false');
  return flags;
}

async function stackServices(cluster: SwarmCluster, stack: string): Promise<Service[]> {
  return cluster.listServices({ labels: [namespaceFilter(stack)] });
}

function nothingFound(stack: string): FlotillaError {
  return new FlotillaError(`nothing found in stack: ${stack}`);
}

function writeJsonLines(ctx: CliContext, items: object[]): void {
  for (const item of items) ctx.stdout.write(`${JSON.stringify(item)}\n`);
}

function formatOption(cmd: Command): Command {
  return cmd.addOption(new Option('--format <format>', 'table (default) or json (one object per line)').choices(['table', 'json']));
}

export function registerStack(program: Command, ctx: CliContext, global: () => GlobalOptions): void {
  const stack = program.command('stack').description('Manage stacks on a Docker Swarm');

  addDeployOptions(stack.command('deploy').alias('up').description('Deploy a new stack or update an existing one').argument('<stack>', 'stack name'), false).action(
    async (name: string, raw: RawDeployFlags) => runStackDeploy(deployFlags(name, raw, false), ctx, global()),
  );

  addDeployOptions(program.command('deploy').description('Deploy a .dab bundle as a stack, as Docker 1.12 did (reads STACK.dab by default)').argument('<stack>', 'stack name'), true).action(
    async (name: string, raw: RawDeployFlags) => runStackDeploy(deployFlags(name, raw, true), ctx, global()),
  );

  stack
    .command('config')
    .description('Print the stack file as deployed: Compose files merged and interpolated, or the bundle')
    .option('-c, --compose-file <file>', 'Compose file (repeatable)', collect)
    .option('--bundle-file <file>', 'a .dab bundle')
    .option('--skip-interpolation', 'print ${VAR} as written')
    .option('--env-file <path>', 'variables to interpolate with, besides the environment (repeatable, a later file wins)', collect)
    .action((opts: { composeFile?: string[]; bundleFile?: string; skipInterpolation?: boolean; envFile?: string[] }) => {
      const diagnostics = new Diagnostics();
      try {
        if (opts.bundleFile !== undefined) {
          if (opts.composeFile?.length) throw new UsageError('give either a bundle (--bundle-file) or Compose files (-c), not both');
          ctx.stdout.write(`${JSON.stringify(readBundle(opts.bundleFile.startsWith('/') ? opts.bundleFile : `${ctx.cwd}/${opts.bundleFile}`, diagnostics), null, 4)}\n`);
          return;
        }
        if (!opts.composeFile?.length) throw new UsageError('give a Compose file (-c FILE) or a bundle (--bundle-file FILE)');
        const load: Parameters<typeof loadProject>[0] = {
          cwd: ctx.cwd,
          shell: ctx.env,
          files: opts.composeFile,
          dotenv: false,
          dialect: 'stack',
          checkBuildContext: false,
          interpolate: opts.skipInterpolation !== true,
          readStdin: ctx.readStdin,
        };
        if (opts.envFile !== undefined) load.envFile = opts.envFile;
        const { project } = loadProject(load, diagnostics);
        ctx.stdout.write(toYaml(projectToCompose(project, { escapeDollar: opts.skipInterpolation !== true })));
      } finally {
        printWarnings(diagnostics, ctx);
      }
    });

  formatOption(stack.command('ls').alias('list').description('List stacks')).action(async (opts: { format?: string }) => {
    await withSwarm(ctx, global(), async (cluster) => {
      const counts = new Map<string, number>();
      for (const s of await cluster.listServices({ labels: [NAMESPACE_LABEL] })) {
        const ns = s.spec.labels[NAMESPACE_LABEL];
        if (ns !== undefined) counts.set(ns, (counts.get(ns) ?? 0) + 1);
      }
      const names = [...counts.keys()].sort(naturalCompare);
      if (opts.format === 'json') return writeJsonLines(ctx, names.map((n) => ({ Name: n, Services: String(counts.get(n)) })));
      ctx.stdout.write(`${tabwriter([['NAME', 'SERVICES'], ...names.map((n) => [n, String(counts.get(n))])])}\n`);
    });
  });

  formatOption(
    stack
      .command('ps')
      .description('List the tasks of a stack')
      .argument('<stack>', 'stack name')
      .option('-f, --filter <filter>', 'filter (desired-state=running, node=..., name=..., id=...)', collect)
      .option('--no-trunc', 'do not cut ids and errors')
      .option('--no-resolve', 'show ids instead of names')
      .option('-q, --quiet', 'print task ids only'),
  ).action(async (name: string, opts: { filter?: string[]; trunc: boolean; resolve: boolean; quiet?: boolean; format?: string }) => {
    checkStackName(name);
    const filters = parseFilters(opts.filter ?? []);
    await withSwarm(ctx, global(), async (cluster) => {
      const services = await stackServices(cluster, name);
      if (services.length === 0) throw nothingFound(name);
      await listTasksTable(ctx, cluster, services, filters, opts);
    });
  });

  formatOption(
    stack
      .command('services')
      .description('List the services of a stack')
      .argument('<stack>', 'stack name')
      .option('-f, --filter <filter>', 'filter (name=..., mode=..., label=...)', collect)
      .option('-q, --quiet', 'print service ids only'),
  ).action(async (name: string, opts: { filter?: string[]; quiet?: boolean; format?: string }) => {
    checkStackName(name);
    const filters: Filters = parseFilters(opts.filter ?? []);
    await withSwarm(ctx, global(), async (cluster) => {
      const services = await stackServices(cluster, name);
      if (services.length === 0) throw nothingFound(name);
      listServicesTable(ctx, services, filters, opts);
    });
  });

  stack
    .command('rm')
    .alias('remove')
    .alias('down')
    .description('Remove stacks: their services, secrets, configs and networks')
    .argument('<stack...>', 'stack names')
    .addOption(new Option('-d, --detach [bool]', 'return at once (--detach=false waits until their tasks are gone)').argParser(parseBool).default(true))
    .action(async (names: string[], opts: { detach: boolean }) => {
      for (const n of names) checkStackName(n);
      await withSwarm(ctx, global(), async (cluster) => {
        let failed = false;
        for (const n of names) {
          const result = await removeStack(cluster, n, {
            wait: opts.detach === false,
            report: (line) => ctx.stdout.write(`${line}\n`),
            problem: (line) => ctx.stderr.write(`${line}\n`),
          });
          if (result === 'empty') ctx.stderr.write(`Nothing found in stack: ${n}\n`);
          if (result === 'failed') failed = true;
        }
        if (failed) throw new ExitCode(1, 'failed to remove some resources');
      });
    });
}
