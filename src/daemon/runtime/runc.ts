/**
 * runc with the daemon's own state directory (never /run/runc or Docker's), and its failures as
 * EngineErrors in runc's own words. `--log /dev/null` makes runc print its error as a plain line
 * on stderr instead of a logrus record.
 */
import { CommandError, run, type RunOptions, type RunResult } from '../command.js';
import { EngineError, type EngineErrorKind } from '../../contract/errors.js';
import type { RuncEntry } from './types.js';

export const RUNC = 'runc';

export function runcArgv(runcRoot: string, args: readonly string[], log = '/dev/null'): string[] {
  return [RUNC, '--root', runcRoot, '--log', log, ...args];
}

/** The kind of a runc failure, from its message. */
export function runcErrorKind(message: string): EngineErrorKind {
  if (/does not exist|no such container/i.test(message)) return 'not-found';
  if (/not running|not paused|is paused|already exists|is not stopped|cannot (?:start|pause|resume|kill)|container is .* state|not created/i.test(message)) return 'conflict';
  return 'engine';
}

/** The message of a logrus record (time="..." level=error msg="..."), or the text itself. */
export function logrusMessage(text: string): string {
  const m = /msg="((?:[^"\\]|\\.)*)"/.exec(text);
  if (!m) return text.trim();
  try {
    return JSON.parse(`"${m[1]}"`) as string;
  } catch {
    return (m[1] as string).replace(/\\"/g, '"');
  }
}

/** runc's last line, minus any logrus decoration. */
export function runcMessage(stderr: string): string {
  const lines = stderr.trim().split('\n').filter(Boolean);
  return logrusMessage(lines[lines.length - 1] ?? '');
}

export function toEngineError(e: unknown, what: string): EngineError {
  if (e instanceof EngineError) return e;
  if (e instanceof CommandError) {
    const message = runcMessage(e.stderr) || e.message;
    return new EngineError(runcErrorKind(message), `${what}: ${message}`);
  }
  return new EngineError('engine', `${what}: ${(e as Error).message}`);
}

export async function runc(runcRoot: string, args: readonly string[], what: string, options: RunOptions = {}): Promise<RunResult> {
  try {
    return await run(runcArgv(runcRoot, args), { timeout: 60_000, ...options });
  } catch (e) {
    throw toEngineError(e, what);
  }
}

interface RuncListEntry {
  id: string;
  pid: number;
  status: string;
}

export async function runcList(runcRoot: string): Promise<RuncEntry[]> {
  const r = await runc(runcRoot, ['list', '--format', 'json'], 'runc list');
  const parsed = JSON.parse(r.stdout.trim() || 'null') as RuncListEntry[] | null;
  return (parsed ?? []).map((e) => ({ id: e.id, status: e.status as RuncEntry['status'], pid: e.pid }));
}

