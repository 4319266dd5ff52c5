/**
 * What every command gets: the streams, the environment and the current directory (injected, so
 * tests can run commands in-process), plus the global options parsed from the command line.
 */
import type { Diagnostics } from '../diagnostics.js';
import type { LoadOptions } from '../compose/load.js';
import { warningLine, type Streams } from './output.js';
import type { ProgressMode } from './progress.js';

export interface GlobalOptions {
  file?: string[];
  projectName?: string;
  projectDirectory?: string;
  envFile?: string[];
  profile?: string[];
  engine?: string;
  host?: string;
  color?: boolean;
  /** --dry-run: print what state-changing commands would do; change nothing. */
  dryRun?: boolean;
  /** --progress: how steps are shown. */
  progress?: ProgressMode;
}

export interface CliContext extends Streams {
  env: Readonly<Record<string, string | undefined>>;
  readStdin: () => string;
}

export function loadOptionsFrom(global: GlobalOptions, ctx: CliContext): LoadOptions {
  const out: LoadOptions = { cwd: ctx.cwd, shell: ctx.env, readStdin: ctx.readStdin };
  if (global.file && global.file.length > 0) out.files = global.file;
  if (global.projectName !== undefined) out.projectName = global.projectName;
  if (global.projectDirectory !== undefined) out.projectDirectory = global.projectDirectory;
  if (global.envFile !== undefined) out.envFile = global.envFile;
  if (global.profile && global.profile.length > 0) out.profiles = global.profile;
  return out;
}

export function printWarnings(diagnostics: Diagnostics, ctx: CliContext): void {
  for (const w of diagnostics.warnings) ctx.stderr.write(`${warningLine(w, ctx.cwd)}\n`);
}
