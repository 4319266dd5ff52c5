/**
 * The variables a project is interpolated with: the `.env` file (or `--env-file`), overridden by
 * the shell's environment, as docker-compose does.
 */
import { ConfigError } from '../errors.js';
import type { Diagnostics } from '../diagnostics.js';
import { expandDotenv, parseDotenv } from './dotenv.js';
import { isFile, readTextFile } from '../util/input-files.js';

export type EnvSource = Readonly<Record<string, string | undefined>>;

export class Environment {
  private readonly vars: ReadonlyMap<string, string>;

  constructor(vars: ReadonlyMap<string, string>) {
    this.vars = vars;
  }

  static fromShell(shell: EnvSource): Environment {
    const vars = new Map<string, string>();
    for (const [k, v] of Object.entries(shell)) if (v !== undefined) vars.set(k, v);
    return new Environment(vars);
  }

  /**
   * `.env` values under the shell's: a missing default `.env` is fine, a missing `--env-file` is
   * an error. A key listed without a value (`KEY` alone) is left unset.
   */
  static load(shell: EnvSource, envFile: string, diagnostics: Diagnostics, required: boolean): Environment {
    const vars = new Map<string, string>();
    if (required || isFile(envFile)) {
      for (const [k, v] of readEnvFile(envFile, shell, diagnostics)) if (v !== null) vars.set(k, v);
    }
    for (const [k, v] of Object.entries(shell)) if (v !== undefined) vars.set(k, v);
    return new Environment(vars);
  }

  get(name: string): string | undefined {
    return this.vars.get(name);
  }

  has(name: string): boolean {
    return this.vars.has(name);
  }

  entries(): IterableIterator<[string, string]> {
    return this.vars.entries();
  }
}

/** Reads a dotenv-format file (`.env`, `env_file:`): key → value, or null for a bare `KEY`. */
export function readEnvFile(path: string, shell: EnvSource, diagnostics: Diagnostics): Map<string, string | null> {
  const text = readTextFile(path, 'env file');
  const parsed = parseDotenv(text);
  for (const line of parsed.badLines) {
    diagnostics.warn(`could not parse line ${line}; it is ignored`, { file: path, line });
  }
  for (const entry of parsed.entries) {
    if (/\s/.test(entry.key)) {
      throw new ConfigError(`environment variable name '${entry.key}' may not contain whitespace`, {
        file: path,
        line: entry.line,
      });
    }
  }
  return expandDotenv(parsed.entries, shell, path);
}
