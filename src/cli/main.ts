/**
 * The `flotilla` command line: global options as docker-compose 1.29.2 has them, one module per
 * command under ./commands. Errors become one line each and exit 1; anything unexpected is a bug,
 * reported in one line with exit status 70 (FLOTILLA_DEBUG=1 prints the stack).
 */
import { readTextFile } from '../util/input-files.js';
import { Command, CommanderError, Option } from 'commander';
import { FlotillaError, UsageError } from '../errors.js';
import { errorLines } from './output.js';
import { PROGRESS_MODES } from './progress.js';
import { ExitCode } from './exit.js';
import type { CliContext, GlobalOptions } from './context.js';
import { registerConfig } from './commands/config.js';
import { registerBundle } from './commands/bundle.js';
import { registerUp } from './commands/up.js';
import { registerDown } from './commands/down.js';
import { registerContainerCommands } from './commands/containers.js';
import { registerLogs } from './commands/logs.js';
import { registerExec } from './commands/exec.js';
import { registerRun } from './commands/run.js';
import { registerImageCommands } from './commands/images.js';
import { registerDaemon } from './commands/daemon.js';
import { registerImageBuild } from './commands/image-build.js';
import { registerBuilder } from './commands/builder.js';
import { registerImageStore } from './commands/image-store.js';
import { registerLogin } from './commands/login.js';
import { registerStack } from './commands/stack.js';
import { registerService } from './commands/service.js';
import { registerNode } from './commands/node.js';
import { registerVersion } from './commands/version.js';
import { registerLs } from './commands/ls.js';
import { registerWait } from './commands/wait.js';
import { registerWatch } from './commands/watch.js';
import { registerAttach } from './commands/attach.js';
import { registerStats } from './commands/stats.js';
import { registerCp } from './commands/cp.js';
import { VERSION } from '../version.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Commands that change something outside the plans --dry-run prints (images, registries, swarms, files). */
const NO_DRY_RUN = new Set(['attach', 'bundle', 'image', 'builder', 'login', 'logout', 'daemon', 'stack', 'deploy', 'service', 'node']);

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('flotilla');
  program
    .description('Define and run multi-container applications from Compose files and .dab bundles')
    .version(`flotilla version ${VERSION}`, '-v, --version', 'print the version and exit')
    .option('-f, --file <file>', 'Compose file (repeatable; "-" reads standard input)', collect)
    .option('-p, --project-name <name>', 'project name (default: the directory name)')
    .option('--project-directory <path>', 'directory relative paths start from (default: the first file\'s)')
    .option('--env-file <path>', 'variables file to read instead of .env (repeatable; a later file wins)', collect)
    .option('--profile <name>', 'enable a profile (repeatable)', collect)
    .addOption(new Option('--engine <engine>', 'container engine').choices(['embedded', 'docker']))
    .option('-H, --host <host>', 'Docker daemon socket to connect to (implies --engine docker)')
    .option('--no-color', 'no colours in the output')
    .option('--dry-run', 'print what a state-changing command would do, and change nothing')
    .addOption(new Option('--progress <mode>', 'how progress is shown').choices(PROGRESS_MODES))
    .enablePositionalOptions()
    .showHelpAfterError('(run flotilla --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.stdout.write(s),
      writeErr: (s) => ctx.stderr.write(s),
      outputError: (s, write) => write(`ERROR: ${s.replace(/^error: /, '')}`),
    });
  const global = () => program.opts<GlobalOptions>();
  program.hook('preAction', (_program, action) => {
    let command: Command = action;
    while (command.parent && command.parent !== program) command = command.parent;
    if (global().dryRun && NO_DRY_RUN.has(command.name())) throw new UsageError(`--dry-run is not supported by ${command.name()}: it would change the engine`);
  });
  registerConfig(program, ctx, global);
  registerBundle(program, ctx, global);
  registerUp(program, ctx, global);
  registerDown(program, ctx, global);
  registerContainerCommands(program, ctx, global);
  registerLogs(program, ctx, global);
  registerExec(program, ctx, global);
  registerRun(program, ctx, global);
  registerImageCommands(program, ctx, global);
  registerImageStore(program, ctx, global);
  registerImageBuild(program, ctx, global);
  registerBuilder(program, ctx, global);
  registerLogin(program, ctx);
  registerDaemon(program, ctx, global);
  registerStack(program, ctx, global);
  registerService(program, ctx, global);
  registerNode(program, ctx, global);
  registerVersion(program, ctx);
  registerLs(program, ctx, global);
  registerWait(program, ctx, global);
  registerWatch(program, ctx, global);
  registerAttach(program, ctx, global);
  registerStats(program, ctx, global);
  registerCp(program, ctx, global);
  return program;
}

/** Runs one command line; resolves to the exit status. */
export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    return handleError(e, ctx);
  }
}

function handleError(e: unknown, ctx: CliContext): number {
  if (e instanceof CommanderError) {
    return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help' ? 0 : 1;
  }
  if (e instanceof FlotillaError) {
    for (const line of errorLines(e, ctx.cwd)) ctx.stderr.write(`${line}\n`);
    return e.exitCode;
  }
  if (e instanceof ExitCode) {
    if (e.note !== undefined) ctx.stderr.write(`ERROR: ${e.note}\n`);
    return e.code;
  }
  const message = e instanceof Error ? e.message : String(e);
  ctx.stderr.write(`ERROR: internal error: ${message} (this is a bug in flotilla; FLOTILLA_DEBUG=1 shows details)\n`);
  if (ctx.env['FLOTILLA_DEBUG'] && e instanceof Error && e.stack) ctx.stderr.write(`${e.stack}\n`);
  return 70;
}

export function main(argv: string[]): void {
  // A reader that goes away (`flotilla logs | head`) is not an error: stop quietly.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      // Anything else on our own output is unrecoverable, and printing it could fail the same way.
      process.exit(e.code === 'EPIPE' ? (process.exitCode ?? 0) : 70);
    });
  }
  const ctx: CliContext = {
    stdout: process.stdout,
    stderr: process.stderr,
    cwd: process.cwd(),
    env: process.env,
    readStdin: () => readTextFile('-', 'Compose file'),
  };
  run(argv, ctx).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`ERROR: internal error: ${String(e)}\n`);
      process.exitCode = 70;
    },
  );
}
