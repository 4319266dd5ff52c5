/**
 * `flotilla ls`: the projects that have containers on the engine, found by their labels, as
 * Compose v2 lists them: a project's status counts its containers by state (`exited(1),
 * running(2)`, states sorted), its config files are those its containers' labels name (`N/A` when
 * one has none). Without `--all` only running containers count, so a stopped project is left out.
 */
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import type { ContainerSummary } from '../../contract/engine.js';
import { openEngine } from '../../engine/select.js';
import { LABEL } from '../../plan/labels.js';
import type { CliContext, GlobalOptions } from '../context.js';
import { tabwriter } from '../swarm-format.js';

interface LsFlags {
  all?: boolean;
  quiet?: boolean;
  format: string;
  filter: string[];
}

export interface ProjectListing {
  Name: string;
  Status: string;
  ConfigFiles: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerLs(program: Command, ctx: CliContext, global: () => GlobalOptions): void {
  program
    .command('ls')
    .description('List running projects')
    .option('-a, --all', 'also list stopped projects')
    .option('-q, --quiet', 'only print the project names')
    .option('--format <format>', 'table or json', 'table')
    .option('--filter <name=value>', 'only projects whose name matches (name=REGEXP; repeatable)', collect, [])
    .action(async (flags: LsFlags) => {
      const format = flags.format.toLowerCase();
      if (format !== 'table' && format !== 'json') throw new UsageError(`--format must be table or json, not "${flags.format}"`);
      const names = nameFilters(flags.filter);
      const engine = await openEngine({ engine: global().engine, host: global().host, env: ctx.env });
      let containers: ContainerSummary[];
      try {
        containers = await engine.listContainers({ labels: { [LABEL.project]: true, [LABEL.configHash]: true }, all: flags.all === true });
      } finally {
        engine.close();
      }
      const projects = listProjects(containers).filter((p) => names.length === 0 || names.some((matches) => matches(p.Name)));
      if (flags.quiet) {
        ctx.stdout.write(projects.map((p) => `${p.Name}\n`).join(''));
      } else if (format === 'json') {
        ctx.stdout.write(`${JSON.stringify(projects)}\n`);
      } else {
        ctx.stdout.write(`${tabwriter([['NAME', 'STATUS', 'CONFIG FILES'], ...projects.map((p) => [p.Name, p.Status, p.ConfigFiles])], 20)}\n`);
      }
    });
}

/** `name=X` matches a name equal to X or one the regular expression X finds in it (Compose v2). */
function nameFilters(filters: readonly string[]): ((name: string) => boolean)[] {
  return filters.map((f) => {
    const eq = f.indexOf('=');
    const key = eq < 0 ? f : f.slice(0, eq);
    if (key !== 'name' || eq < 0) throw new UsageError(`invalid filter '${f}': only name=... is accepted`);
    const value = f.slice(eq + 1);
    let pattern: RegExp | undefined;
    try {
      pattern = new RegExp(value);
    } catch {
      pattern = undefined;
    }
    return (name: string) => name === value || (pattern?.test(name) ?? false);
  });
}

export function listProjects(containers: readonly ContainerSummary[]): ProjectListing[] {
  const byProject = new Map<string, ContainerSummary[]>();
  for (const c of containers) {
    const project = c.labels[LABEL.project];
    if (project === undefined) continue;
    byProject.set(project, [...(byProject.get(project) ?? []), c]);
  }
  return [...byProject.keys()].sort().map((name) => {
    const list = byProject.get(name) ?? [];
    const counts = new Map<string, number>();
    for (const c of list) counts.set(c.state, (counts.get(c.state) ?? 0) + 1);
    const status = [...counts.keys()].sort().map((s) => `${s}(${counts.get(s) ?? 0})`).join(', ');
    const files: string[] = [];
    let missing = false;
    for (const c of list) {
      const label = c.labels[LABEL.configFiles];
      if (label === undefined) missing = true;
      else for (const f of label.split(',')) if (!files.includes(f)) files.push(f);
    }
    return { Name: name, Status: status, ConfigFiles: missing ? 'N/A' : files.join(',') };
  });
}
