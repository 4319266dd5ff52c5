/**
 * Commands that act on the project's existing containers, with docker-compose 1.29.2's flags,
 * output and messages: start, stop, restart, kill, rm, pause, unpause, ps, port, top, images,
 * scale and events. Containers are found by label; services named on the command line narrow the
 * set; stop and restart go in reverse dependency order.
 */
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import type { ContainerInfo, ContainerState } from '../../contract/engine.js';
import { containersOf, kill, pause, remove, restart, start, stop } from '../../execute/lifecycle.js';
import { observeContainers } from '../../execute/observe.js';
import type { ProjectRuntime } from '../../execute/runtime.js';
import { up } from '../../execute/up.js';
import { LABEL } from '../../plan/labels.js';
import type { ObservedContainer } from '../../plan/observed.js';
import { printPlan, withRuntime } from '../project.js';
import { ExitCode } from '../exit.js';
import type { CliContext, GlobalOptions } from '../context.js';
import { formatTable, humanSize } from '../table.js';
import { parseScale, parseTimeout } from './up.js';

const serviceOf = (rt: ProjectRuntime, name: string) => rt.deployment.services.find((s) => s.name === name);

export function registerContainerCommands(program: Command, ctx: CliContext, global: () => GlobalOptions): void {
  const run = <T>(fn: (rt: ProjectRuntime) => Promise<T>) => withRuntime(ctx, global(), {}, fn);

  program
    .command('start')
    .description('Start existing containers')
    .argument('[services...]')
    .action((services: string[]) => run((rt) => start(rt, services)));

  program
    .command('stop')
    .description('Stop running containers without removing them')
    .argument('[services...]')
    .option('-t, --timeout <seconds>', 'seconds to wait before killing (default: stop_grace_period, else 10)')
    .action((services: string[], flags: { timeout?: string }) => run((rt) => stop(rt, services, { timeout: parseTimeout(flags.timeout) })));

  program
    .command('restart')
    .description('Restart containers')
    .argument('[services...]')
    .option('-t, --timeout <seconds>', 'seconds to wait before killing (default: stop_grace_period, else 10)')
    .action((services: string[], flags: { timeout?: string }) => run((rt) => restart(rt, services, parseTimeout(flags.timeout))));

  program
    .command('kill')
    .description('Kill containers')
    .argument('[services...]')
    .option('-s, --signal <signal>', 'signal to send', 'SIGKILL')
    .action((services: string[], flags: { signal: string }) => run((rt) => kill(rt, services, flags.signal)));

  for (const name of ['pause', 'unpause'] as const) {
    program
      .command(name)
      .description(name === 'pause' ? 'Pause services' : 'Unpause services')
      .argument('[services...]')
      .action((services: string[]) => run((rt) => pause(rt, services, name === 'pause')));
  }

  program
    .command('rm')
    .description('Remove stopped service containers')
    .argument('[services...]')
    .option('-f, --force', "don't ask to confirm removal")
    .option('-s, --stop', 'stop the containers first, if needed')
    .option('-v', 'also remove anonymous volumes attached to the containers')
    .action((services: string[], flags: { force?: boolean; stop?: boolean; v?: boolean }) =>
      run((rt) =>
        remove(rt, services, {
          stop: flags.stop === true,
          volumes: flags.v === true,
          confirm: async (names) => {
            if (names.length === 0) {
              ctx.stdout.write('No stopped containers\n');
              return false;
            }
            ctx.stdout.write(`Going to remove ${names.join(', ')}\n`);
            return flags.force === true || confirm(ctx, 'Are you sure? [yN] ');
          },
        }),
      ),
    );

  program
    .command('ps')
    .description('List containers')
    .argument('[services...]')
    .option('-q, --quiet', 'only display IDs')
    .option('--services', 'display services')
    .option('--filter <key=val>', 'filter services by a property (status=running|stopped|paused|restarting, source=image|build)')
    .option('-a, --all', 'show all stopped containers, including those created by the run command')
    .option('--format <format>', 'table (default) or json')
    .option('--status <status>', `only containers in this state (${CONTAINER_STATES.join(', ')}; repeatable)`, collectStatus, [])
    .option('--no-trunc', "don't truncate the command")
    .option('--orphans', 'also list containers of services the file no longer has (Compose v2 does by default)')
    .option('--no-orphans', 'only containers of the services in the file (the default, as docker-compose 1.29.2)')
    .action((services: string[], flags: PsFlags) =>
      run(async (rt) => {
        if (flags.quiet && flags.services) throw new UsageError('--quiet and --services cannot be combined');
        if (flags.format !== undefined && flags.format !== 'table' && flags.format !== 'json') throw new UsageError('--format must be table or json');
        if (flags.services && flags.status.length === 0) {
          const names = await filterServices(rt, flags.filter);
          if (names.length > 0) ctx.stdout.write(`${names.join('\n')}\n`);
          return;
        }
        for (const s of services) if (!rt.deployment.services.some((x) => x.name === s)) throw new UsageError(`no such service: ${s}`);
        const declared = (c: ObservedContainer) => (services.length > 0 ? services.includes(c.service) : flags.orphans === true || rt.deployment.services.some((s) => s.name === c.service));
        // --status looks at stopped one-offs too, as -a does (Compose v2).
        const all = flags.all === true || flags.status.length > 0;
        const list = (await observeContainers(rt.engine, rt.deployment.name))
          .filter((c) => declared(c) && (!c.oneOff || all || c.running))
          .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        const inspected = (await Promise.all(list.map((c) => rt.engine.inspectContainer(c.id)))).filter((i): i is ContainerInfo => i !== null);
        const infos = flags.status.length === 0 ? inspected : inspected.filter((i) => flags.status.includes(i.state.status));
        if (flags.services) {
          const names = [...new Set(infos.map((i) => i.labels[LABEL.service] ?? ''))];
          if (names.length > 0) ctx.stdout.write(`${names.join('\n')}\n`);
          return;
        }
        if (flags.quiet) {
          if (infos.length > 0) ctx.stdout.write(`${infos.map((i) => i.id).join('\n')}\n`);
          return;
        }
        if (flags.format === 'json') {
          ctx.stdout.write(`${JSON.stringify(infos.map((i) => ({
            Name: i.name,
            ID: i.id,
            Service: i.labels[LABEL.service],
            Command: command(i),
            State: state(i),
            Health: i.state.health?.status ?? '',
            ExitCode: i.state.exitCode,
            Ports: ports(i),
          })), null, 2)}\n`);
          return;
        }
        const rows = infos.map((i) => {
          const cmd = command(i);
          return [i.name, cmd.length > 30 && flags.trunc ? `${cmd.slice(0, 26)} ...` : cmd, state(i), ports(i)];
        });
        ctx.stdout.write(`${formatTable(['Name', 'Command', 'State', 'Ports'], rows)}\n`);
      }),
    );

  program
    .command('port')
    .description('Print the public address of a port binding')
    .argument('<service>')
    .argument('<private_port>')
    .option('--protocol <proto>', 'tcp or udp', 'tcp')
    .option('--index <index>', 'index of the container if there are several', '1')
    .action((service: string, privatePort: string, flags: { protocol: string; index: string }) =>
      run(async (rt) => {
        const list = await containersOf(rt, [service], { oneOff: 'exclude' });
        const c = list.find((x) => x.number === Number(flags.index));
        if (!c) throw new ExitCode(1, `No container found for ${service}_${flags.index}`);
        const info = await rt.engine.inspectContainer(c.id);
        const binding = info?.ports.find((p) => String(p.containerPort) === privatePort && p.protocol === flags.protocol && p.hostIp !== undefined);
        ctx.stdout.write(binding ? `${binding.hostIp}:${binding.hostPort ?? ''}\n` : '\n');
      }),
    );

  program
    .command('top')
    .description('Display the running processes')
    .argument('[services...]')
    .action((services: string[]) =>
      run(async (rt) => {
        const list = await containersOf(rt, services, { oneOff: 'include', running: true });
        // One block per container, separated by an empty line (none after the last, as docker-compose).
        const blocks: string[] = [];
        for (const c of list) {
          const top = await rt.engine.top(c.id);
          blocks.push(`${c.name}\n${formatTable(top.titles, top.processes)}\n`);
        }
        if (blocks.length > 0) ctx.stdout.write(blocks.join('\n'));
      }),
    );

  program
    .command('images')
    .description('List the images used by the created containers')
    .argument('[services...]')
    .option('-q, --quiet', 'only display IDs')
    .action((services: string[], flags: { quiet?: boolean }) =>
      run(async (rt) => {
        const list = await containersOf(rt, services, { oneOff: 'exclude' });
        const infos = (await Promise.all(list.map((c) => rt.engine.inspectContainer(c.id)))).filter((i): i is ContainerInfo => i !== null);
        const images = await Promise.all(infos.map((i) => rt.engine.inspectImage(i.imageId)));
        if (flags.quiet) {
          const ids = [...new Set(images.filter((i) => i !== null).map((i) => i.id.replace(/^sha256:/, '')))];
          if (ids.length > 0) ctx.stdout.write(`${ids.join('\n')}\n`);
          return;
        }
        const rows = infos.map((i, k) => {
          const img = images[k];
          // The service's own tag when the image has several (docker-compose's choice), else the first.
          const service = serviceOf(rt, i.labels[LABEL.service] ?? '');
          const own = service ? withDefaultTag(service.image) : undefined;
          const tags = img?.repoTags ?? [];
          const ref = own !== undefined && tags.includes(own) ? own : tags[0];
          const [repo, tag] = img === null || img === undefined ? splitTag(i.image) : ref === undefined ? ['<none>', '<none>'] : splitTag(ref);
          return [i.name, repo, tag, (img?.id ?? i.imageId).replace(/^sha256:/, '').slice(0, 12), humanSize(img?.size ?? 0)];
        });
        ctx.stdout.write(`${formatTable(['Container', 'Repository', 'Tag', 'Image Id', 'Size'], rows)}\n`);
      }),
    );

  program
    .command('scale')
    .description('Set the number of containers of services (deprecated in docker-compose: use up --scale)')
    .argument('<service=num...>')
    .option('-t, --timeout <seconds>', 'shutdown timeout in seconds')
    .action((pairs: string[], flags: { timeout?: string }) =>
      run(async (rt) => {
        rt.progress.line('WARNING: The scale command is deprecated. Use the up command with the --scale flag instead.');
        const scale = parseScale(pairs);
        const timeout = parseTimeout(flags.timeout);
        const base = { noDeps: true, strategy: 'never' as const, alwaysRecreateDeps: false, removeOrphans: false, build: 'when-missing' as const, renewAnonymousVolumes: false, start: true, dryRun: global().dryRun === true, wait: false };
        const result = await up(rt, { ...base, services: Object.keys(scale), scale, ...(timeout === undefined ? {} : { timeout }) });
        if (base.dryRun) printPlan(ctx, result.plan);
      }),
    );

  program
    .command('events')
    .description("Receive real-time events from the project's containers")
    .argument('[services...]')
    .option('--json', 'output events as a stream of JSON objects')
    .action((services: string[], flags: { json?: boolean }) =>
      run(async (rt) => {
        const abort = new AbortController();
        const stop = () => abort.abort();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        try {
          for await (const e of rt.engine.events({ labels: [`${LABEL.project}=${rt.deployment.name}`], types: ['container'], signal: abort.signal })) {
            const service = e.attributes[LABEL.service] ?? '';
            if (services.length > 0 && !services.includes(service)) continue;
            const time = new Date(Number(e.timeNano / 1_000_000n)).toISOString().replace('Z', `${String(e.timeNano % 1_000_000n).padStart(6, '0')}Z`);
            const attributes = Object.fromEntries(Object.entries(e.attributes).filter(([k]) => !k.startsWith('com.docker.compose.')));
            if (flags.json) {
              ctx.stdout.write(`${JSON.stringify({ time, type: e.type, action: e.action, id: e.id, service, attributes })}\n`);
            } else {
              const attrs = Object.entries(attributes).map(([k, v]) => `${k}=${v}`).join(', ');
              ctx.stdout.write(`${time} ${e.type} ${e.action} ${e.id} (${attrs})\n`);
            }
          }
        } finally {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
        }
      }),
    );
}

interface PsFlags {
  quiet?: boolean;
  services?: boolean;
  filter?: string;
  all?: boolean;
  format?: string;
  status: string[];
  trunc: boolean;
  orphans?: boolean;
}

const CONTAINER_STATES: readonly ContainerState[] = ['paused', 'restarting', 'removing', 'running', 'dead', 'created', 'exited'];

function collectStatus(value: string, previous: string[]): string[] {
  if (!(CONTAINER_STATES as readonly string[]).includes(value)) throw new UsageError(`invalid --status "${value}": use ${CONTAINER_STATES.join(', ')}`);
  return [...previous, value];
}

async function filterServices(rt: ProjectRuntime, filter: string | undefined): Promise<string[]> {
  const services = rt.deployment.services;
  if (!filter) return services.map((s) => s.name);
  const [key, value] = filter.split('=');
  if (key === 'source') {
    if (value !== 'image' && value !== 'build') throw new UsageError(`invalid value for source filter "${value ?? ''}": use image or build`);
    return services.filter((s) => (value === 'build' ? s.build !== undefined : s.build === undefined)).map((s) => s.name);
  }
  if (key === 'status') {
    const containers = await observeContainers(rt.engine, rt.deployment.name);
    const match = (c: ObservedContainer) =>
      value === 'running' ? c.state === 'running' : value === 'stopped' ? !c.running : value === 'paused' ? c.state === 'paused' : value === 'restarting' ? c.state === 'restarting' : false;
    if (!['running', 'stopped', 'paused', 'restarting'].includes(value ?? '')) throw new UsageError(`invalid value for status filter "${value ?? ''}"`);
    return services.filter((s) => containers.some((c) => c.service === s.name && !c.oneOff && match(c))).map((s) => s.name);
  }
  throw new UsageError(`invalid filter "${filter}": use status=... or source=...`);
}

function command(i: ContainerInfo): string {
  return [...(i.config.entrypoint ?? []), ...(i.config.cmd ?? [])].join(' ');
}

function state(i: ContainerInfo): string {
  if (i.state.paused) return 'Paused';
  if (i.state.restarting) return 'Restarting';
  if (i.state.running) {
    const h = i.state.health?.status;
    return h === undefined ? 'Up' : h === 'starting' ? 'Up (health: starting)' : `Up (${h})`;
  }
  return `Exit ${i.state.exitCode}`;
}

/**
 * As docker-compose shows them: "127.0.0.1:8080->80/tcp", or "80/tcp" when only exposed; a
 * published port the embedded daemon could not hold again after a restart is marked "(unheld: ...)".
 */
function ports(i: ContainerInfo): string {
  const byPort = new Map<string, string[]>();
  for (const p of i.ports) {
    const key = `${p.containerPort}/${p.protocol}`;
    const list = byPort.get(key) ?? [];
    // A port another program took while the daemon was down: the container has it only on paper.
    if (p.hostIp !== undefined) list.push(`${p.hostIp}:${p.hostPort ?? ''}->${key}${p.unheld !== undefined ? ' (unheld: taken by another program)' : ''}`);
    byPort.set(key, list);
  }
  return [...byPort.keys()]
    .sort()
    .map((key) => {
      const bindings = byPort.get(key) ?? [];
      return bindings.length === 0 ? key : bindings.join(',');
    })
    .join(', ');
}

function withDefaultTag(image: string): string {
  return (image.split('/').pop() ?? '').includes(':') ? image : `${image}:latest`;
}

function splitTag(ref: string): [string, string] {
  const at = ref.lastIndexOf(':');
  return at > ref.lastIndexOf('/') && at !== -1 ? [ref.slice(0, at), ref.slice(at + 1)] : [ref, 'latest'];
}

async function confirm(ctx: CliContext, question: string): Promise<boolean> {
  if (!process.stdin.isTTY) {
    ctx.stdout.write(`${question}\n`);
    return false;
  }
  // Loaded only to ask: every command pays for what is imported up front.
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

