/**
 * Which files make up the project, which directory relative paths start from, which `.env` is
 * read and what the project is called:
 *
 * - files: `-f` (repeatable; "-" is standard input), else COMPOSE_FILE (shell or .env) split on
 *   COMPOSE_PATH_SEPARATOR (default ":"), else the first of compose.yaml, compose.yml,
 *   docker-compose.yml, docker-compose.yaml found in the working directory or the nearest parent,
 *   plus the first override file next to it (compose.override.yml, ...): Compose v2's names and
 *   order (compose-go cli/options.go), where docker-compose 1.29.2 preferred docker-compose.yml and
 *   refused two override files;
 * - project directory: --project-directory, else the directory of the first file;
 * - `.env`: the --env-file files (repeatable, relative to the current directory, read in order),
 *   else `.env` in --project-directory or the first `-f`/shell COMPOSE_FILE file's directory, else
 *   in the current directory;
 * - project name: -p, else COMPOSE_PROJECT_NAME, else (./project-name.ts) a top-level `name` in a
 *   version-less file, else the project directory's name; lowercased, with characters other than
 *   [a-z0-9_-] removed.
 */
import { dirname, join, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import type { Diagnostics } from '../diagnostics.js';
import { Environment, type EnvSource } from './environment.js';
import { exists } from '../util/input-files.js';

export const COMPOSE_FILE_NAMES = ['compose.yaml', 'compose.yml', 'docker-compose.yml', 'docker-compose.yaml'];
export const OVERRIDE_FILE_NAMES = [
  'compose.override.yml',
  'compose.override.yaml',
  'docker-compose.override.yml',
  'docker-compose.override.yaml',
];

export interface ProjectInputs {
  /** -f values as given (relative to cwd), possibly ["-"]. */
  files?: string[];
  projectDirectory?: string;
  projectName?: string;
  /** --env-file values (relative to cwd), in order; replace the default `.env`. */
  envFile?: string | readonly string[];
  /** false: no `.env` is read unless envFile names one (docker stack deploy reads none). */
  dotenv?: boolean;
  cwd: string;
  shell: EnvSource;
}

export interface ResolvedInputs {
  /** Absolute paths, or ["-"] for standard input. */
  files: string[];
  workingDir: string;
  environment: Environment;
  /** The --env-file values as given, joined with "," (the project's environment_file label). */
  envFile?: string;
  projectName: string;
  /** Whether the name came from -p or COMPOSE_PROJECT_NAME, which a file's `name` does not override. */
  projectNameGiven: boolean;
}

export function resolveInputs(inputs: ProjectInputs, diagnostics: Diagnostics): ResolvedInputs {
  const { cwd, shell } = inputs;
  // The .env location depends only on flags and the *shell's* COMPOSE_FILE, as in docker-compose.
  const early = inputs.files?.length ? inputs.files : splitComposeFile(shell['COMPOSE_FILE'], shell['COMPOSE_PATH_SEPARATOR']);
  let overrideDir: string | undefined = inputs.projectDirectory;
  if (!overrideDir && early && early.length > 0) overrideDir = early[0] === '-' ? '.' : dirname(early[0] as string);
  const envGiven = inputs.envFile === undefined ? [] : typeof inputs.envFile === 'string' ? [inputs.envFile] : [...inputs.envFile];
  const envFiles = envGiven.length > 0 ? envGiven.map((f) => resolve(cwd, f)) : [join(resolve(cwd, overrideDir ?? '.'), '.env')];
  const environment =
    inputs.dotenv === false && envGiven.length === 0
      ? Environment.fromShell(shell)
      : Environment.load(shell, envFiles, diagnostics, envGiven.length > 0);

  const given = inputs.files?.length
    ? inputs.files
    : splitComposeFile(environment.get('COMPOSE_FILE'), environment.get('COMPOSE_PATH_SEPARATOR'));
  let files: string[];
  let workingDir: string;
  if (given && given.length === 1 && given[0] === '-') {
    files = ['-'];
    workingDir = resolve(cwd, overrideDir ?? '.');
  } else if (given && given.length > 0) {
    files = given.map((f) => (f === '-' ? '-' : resolve(cwd, f)));
    workingDir = overrideDir ? resolve(cwd, overrideDir) : dirname(files[0] as string);
  } else {
    const found =
      findDefaultFiles(cwd, diagnostics) ?? (overrideDir ? findDefaultFiles(resolve(cwd, overrideDir), diagnostics) : undefined);
    if (!found) {
      throw new ConfigError(
        `no Compose file found in ${cwd} or any parent directory (looked for ${COMPOSE_FILE_NAMES.join(', ')}); ` +
          'pass one with -f',
      );
    }
    files = found;
    workingDir = overrideDir ? resolve(cwd, overrideDir) : dirname(found[0] as string);
  }
  const givenName = inputs.projectName ?? environment.get('COMPOSE_PROJECT_NAME') ?? '';
  const projectName = normaliseProjectName(givenName, workingDir);
  const result: ResolvedInputs = { files, workingDir, environment, projectName, projectNameGiven: givenName !== '' };
  if (envGiven.length > 0) result.envFile = envGiven.join(',');
  return result;
}

function splitComposeFile(value: string | undefined, separator: string | undefined): string[] | undefined {
  if (!value) return undefined;
  return value.split(separator || ':');
}

function findDefaultFiles(start: string, diagnostics: Diagnostics): string[] | undefined {
  for (let dir = start; ; dir = dirname(dir)) {
    const candidates = COMPOSE_FILE_NAMES.filter((n) => exists(join(dir, n)));
    if (candidates.length > 0) {
      if (candidates.length > 1) {
        diagnostics.warn(`found several Compose files in ${dir} (${candidates.join(', ')}); using ${candidates[0]}`);
      }
      const overrides = OVERRIDE_FILE_NAMES.filter((n) => exists(join(dir, n)));
      if (overrides.length > 1) {
        diagnostics.warn(`found several override files in ${dir} (${overrides.join(', ')}); using ${overrides[0]}`);
      }
      return [join(dir, candidates[0] as string), ...overrides.slice(0, 1).map((n) => join(dir, n))];
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * docker-compose's rule: lowercase, then drop everything but [a-z0-9_-]; an empty result falls
 * back to the directory name, then to "default".
 */
export function normaliseProjectName(name: string, workingDir: string): string {
  const clean = (s: string) => s.toLowerCase().replace(/[^-_a-z0-9]/g, '');
  if (name) {
    const out = clean(name);
    if (!/[a-z0-9]/.test(out)) {
      throw new ConfigError(
        `project name "${name}" is not valid: it needs at least one letter or digit (names keep only a-z, 0-9, "_" and "-")`,
      );
    }
    return out;
  }
  const base = workingDir.split('/').filter(Boolean).pop() ?? '';
  const out = clean(base);
  return /[a-z0-9]/.test(out) ? out : 'default';
}
