/**
 * The variables a project is interpolated with: the `.env` file (or the `--env-file` files, read in
 * order, a later one overriding an earlier one, as Compose v2 reads them), overridden by the shell's
 * environment, as docker-compose does. Each variable remembers where its value came from, for
 * `config --environment`.
 */
import { ConfigError } from '../errors.js';
import type { Diagnostics } from '../diagnostics.js';
import { expandDotenv, parseDotenv } from './dotenv.js';
import { isFile, readTextFile } from '../util/input-files.js';

export type EnvSource = Readonly<Record<string, string | undefined>>;

/** Where a variable's value came from: the shell, or the env file (absolute path) that set it. */
export type EnvOrigin = { kind: 'shell' } | { kind: 'file'; path: string; line: number };

export class Environment {
  private readonly vars: ReadonlyMap<string, string>;
  private readonly origins: ReadonlyMap<string, EnvOrigin>;

  constructor(vars: ReadonlyMap<string, string>, origins: ReadonlyMap<string, EnvOrigin> = new Map()) {
    this.vars = vars;
    this.origins = origins;
  }

  static fromShell(shell: EnvSource): Environment {
    return Environment.load(shell, [], undefined, false);
  }

  /**
   * Env file values under the shell's: a missing default `.env` is fine (`required` false), a
   * missing `--env-file` is an error. A key listed without a value (`KEY` alone) is left unset.
   * With several files, a file's `${VAR}` sees the shell and the files before it, and a later
   * file's value wins (Compose v2's order for repeated `--env-file`).
   */
  static load(shell: EnvSource, envFiles: readonly string[], diagnostics: Diagnostics | undefined, required: boolean): Environment {
    const read = readEnvFiles(required ? envFiles : envFiles.filter(isFile), shell, diagnostics);
    for (const [k, v] of Object.entries(shell)) {
      if (v === undefined) continue;
      read.vars.set(k, v);
      read.origins.set(k, { kind: 'shell' });
    }
    return new Environment(read.vars, read.origins);
  }

  /**
   * This environment with env files read beneath it, as compose-go reads an `include`'s env files
   * (loader/include.go): each file sees this environment and the files before it, a later file
   * wins over an earlier one, and a variable this environment already has keeps its value.
   */
  beneath(envFiles: readonly string[], diagnostics: Diagnostics | undefined): Environment {
    if (envFiles.length === 0) return this;
    const read = readEnvFiles(envFiles, Object.fromEntries(this.vars), diagnostics);
    const vars = new Map(this.vars);
    const origins = new Map(this.origins);
    for (const [k, v] of read.vars) {
      if (this.vars.has(k)) continue;
      vars.set(k, v);
      origins.set(k, read.origins.get(k) as EnvOrigin);
    }
    return new Environment(vars, origins);
  }

  /** Where `name`'s value came from (undefined when it is not set). */
  origin(name: string): EnvOrigin | undefined {
    return this.vars.has(name) ? (this.origins.get(name) ?? { kind: 'shell' }) : undefined;
  }

  /** This environment with `name` set as if by the shell (Compose v2 sets COMPOSE_PROJECT_NAME so). */
  with(name: string, value: string): Environment {
    const vars = new Map(this.vars);
    const origins = new Map(this.origins);
    vars.set(name, value);
    origins.set(name, { kind: 'shell' });
    return new Environment(vars, origins);
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

/**
 * Env files read in order into one set of variables, a later file's value winning: each file's
 * `${VAR}` sees `over` first, then the files before it. A bare `KEY` sets nothing.
 */
function readEnvFiles(envFiles: readonly string[], over: EnvSource, diagnostics: Diagnostics | undefined): { vars: Map<string, string>; origins: Map<string, EnvOrigin> } {
  const vars = new Map<string, string>();
  const origins = new Map<string, EnvOrigin>();
  for (const envFile of envFiles) {
    const read = readEnvFileWithLines(envFile, { ...Object.fromEntries(vars), ...over }, diagnostics);
    for (const [k, v] of read.values) {
      if (v === null) continue;
      vars.set(k, v);
      origins.set(k, { kind: 'file', path: envFile, line: read.lines.get(k) ?? 1 });
    }
  }
  return { vars, origins };
}

/** Reads a dotenv-format file (`.env`, `env_file:`): key → value, or null for a bare `KEY`. */
export function readEnvFile(path: string, shell: EnvSource, diagnostics: Diagnostics): Map<string, string | null> {
  return readEnvFileWithLines(path, shell, diagnostics).values;
}

function readEnvFileWithLines(
  path: string,
  shell: EnvSource,
  diagnostics: Diagnostics | undefined,
): { values: Map<string, string | null>; lines: Map<string, number> } {
  const text = readTextFile(path, 'env file');
  const parsed = parseDotenv(text);
  for (const line of parsed.badLines) {
    diagnostics?.warn(`could not parse line ${line}; it is ignored`, { file: path, line });
  }
  for (const entry of parsed.entries) {
    if (/\s/.test(entry.key)) {
      throw new ConfigError(`environment variable name '${entry.key}' may not contain whitespace`, {
        file: path,
        line: entry.line,
      });
    }
  }
  const lines = new Map(parsed.entries.map((e) => [e.key, e.line]));
  return { values: expandDotenv(parsed.entries, shell, path), lines };
}
