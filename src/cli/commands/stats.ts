/**
 * `flotilla stats [SERVICE...]`: the project's running containers' resource use, as Compose v2
 * (that is, `docker stats`) shows it: CPU % (the CPU time used between two readings a second
 * apart, over that second), memory use / limit and %, network and block I/O, pids. The readings
 * come from the engine: dockerd's stats API, or the embedded engine's cgroup figures. Redrawn
 * every second until interrupted; `--no-stream` prints one table; `--format json` a JSON object
 * per container and line; `-a` also lists stopped containers (with zeros).
 */
import type { Command } from 'commander';
import { FlotillaError, UsageError } from '../../errors.js';
import type { ContainerStatsSample } from '../../contract/engine.js';
import { containersOf } from '../../execute/lifecycle.js';
import type { ObservedContainer } from '../../plan/observed.js';
import type { ProjectRuntime } from '../../execute/runtime.js';
import { withRuntime } from '../project.js';
import type { CliContext, GlobalOptions } from '../context.js';
import { tabwriter } from '../swarm-format.js';

interface StatsFlags {
  all?: boolean;
  stream: boolean;
  trunc: boolean;
  format: string;
}

interface StatsRow {
  BlockIO: string;
  CPUPerc: string;
  Container: string;
  ID: string;
  MemPerc: string;
  MemUsage: string;
  Name: string;
  NetIO: string;
  PIDs: string;
}

/** Go's %.<p>g for the sizes Docker prints (no exponent at these magnitudes). */
const g = (value: number, precision: number) => String(Number(value.toPrecision(precision)));

function scaled(bytes: number, base: number, units: readonly string[], precision: number): string {
  let value = bytes;
  let i = 0;
  while (value >= base && i < units.length - 1) {
    value /= base;
    i++;
  }
  return `${g(value, precision)}${units[i]}`;
}

/** docker/go-units BytesSize (memory) and HumanSizeWithPrecision(3) (network and block I/O). */
const binary = (bytes: number) => scaled(bytes, 1024, ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'], 4);
const decimal = (bytes: number) => scaled(bytes, 1000, ['B', 'kB', 'MB', 'GB', 'TB', 'PB'], 3);

function row(c: ObservedContainer, before: ContainerStatsSample | null, now: ContainerStatsSample | null, trunc: boolean): StatsRow {
  const wall = before && now ? (now.readAt - before.readAt) * 1e6 : 0;
  const cpu = before && now && wall > 0 ? (Math.max(0, now.cpuNanos - before.cpuNanos) / wall) * 100 : 0;
  const s = now ?? { memoryBytes: 0, memoryLimit: 0, networkRx: 0, networkTx: 0, blockRead: 0, blockWrite: 0, pids: 0 };
  const id = trunc ? c.id.slice(0, 12) : c.id;
  return {
    BlockIO: `${decimal(s.blockRead)} / ${decimal(s.blockWrite)}`,
    CPUPerc: `${cpu.toFixed(2)}%`,
    Container: id,
    ID: id,
    MemPerc: `${(s.memoryLimit > 0 ? (s.memoryBytes / s.memoryLimit) * 100 : 0).toFixed(2)}%`,
    MemUsage: `${binary(s.memoryBytes)} / ${binary(s.memoryLimit)}`,
    Name: c.name,
    NetIO: `${decimal(s.networkRx)} / ${decimal(s.networkTx)}`,
    PIDs: String(s.pids),
  };
}

async function sample(rt: ProjectRuntime, list: readonly ObservedContainer[]): Promise<(ContainerStatsSample | null)[]> {
  const read = rt.engine.containerStats?.bind(rt.engine);
  if (!read) throw new FlotillaError('this engine cannot report container statistics');
  // A container that stopped meanwhile reads as zeros.
  return Promise.all(list.map((c) => (c.running ? read(c.id).catch(() => null) : Promise.resolve(null))));
}

function render(rows: readonly StatsRow[], format: string): string {
  if (format === 'json') return rows.map((r) => `${JSON.stringify(r)}\n`).join('');
  const header = ['CONTAINER ID', 'NAME', 'CPU %', 'MEM USAGE / LIMIT', 'MEM %', 'NET I/O', 'BLOCK I/O', 'PIDS'];
  return `${tabwriter([header, ...rows.map((r) => [r.ID, r.Name, r.CPUPerc, r.MemUsage, r.MemPerc, r.NetIO, r.BlockIO, r.PIDs])])}\n`;
}

export function registerStats(program: Command, ctx: CliContext, global: () => GlobalOptions): void {
  program
    .command('stats')
    .description("Display the containers' resource usage")
    .argument('[services...]')
    .option('-a, --all', 'also show stopped containers')
    .option('--no-stream', 'print one reading and exit')
    .option('--no-trunc', "don't truncate the ids")
    .option('--format <format>', 'table (default) or json', 'table')
    .action((services: string[], flags: StatsFlags) =>
      withRuntime(ctx, global(), {}, async (rt) => {
        const format = flags.format.toLowerCase();
        if (format !== 'table' && format !== 'json') throw new UsageError(`--format must be table or json, not "${flags.format}"`);
        const list = await containersOf(rt, services, flags.all ? { oneOff: 'include' } : { oneOff: 'include', running: true });
        const stop = new AbortController();
        const onSignal = () => stop.abort();
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        const tty = (ctx.stdout as NodeJS.WriteStream).isTTY === true;
        try {
          let before = await sample(rt, list);
          for (;;) {
            await new Promise((resolve) => setTimeout(resolve, 1000));
            if (stop.signal.aborted) return;
            const now = await sample(rt, list);
            const text = render(list.map((c, i) => row(c, before[i] ?? null, now[i] ?? null, flags.trunc)), format);
            // Streamed on a terminal: each reading replaces the last, as docker stats draws it.
            ctx.stdout.write(flags.stream && tty && format === 'table' ? `\x1b[2J\x1b[H${text}` : text);
            if (!flags.stream || stop.signal.aborted) return;
            before = now;
          }
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        }
      }),
    );
}
