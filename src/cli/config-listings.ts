/**
 * `config --variables` and `config --environment`: what the project's templates use, and the
 * variables interpolation saw with where each value came from.
 *
 * --variables is Compose v2's listing (docker/compose cmd/compose/config.go runVariables): a table
 * NAME, REQUIRED, DEFAULT VALUE, ALTERNATE VALUE (Go's tabwriter, columns at least 20 wide), or the
 * same as JSON/YAML with --format. --environment prints v2's `NAME=value` lines, sorted, and adds
 * what v2 does not tell (docker/compose#10561): after each, where the value came from (the shell,
 * an --env-file or .env line, or the default a template gives an unset variable), and the
 * variables the files use that nothing sets.
 */
import { relative } from 'node:path';
import type { ComposeFile } from '../compose/compose-file.js';
import type { Environment } from '../compose/environment.js';
import { variablesOf, type TemplateVariable } from '../compose/interpolate/variables.js';
import { toYaml } from '../util/yaml-emit.js';
import { tabwriter } from './swarm-format.js';

interface Located extends TemplateVariable {
  file: ComposeFile;
}

/** Every variable the files' values use; a later file's occurrence replaces an earlier one's. */
function fileVariables(files: readonly ComposeFile[]): Map<string, Located> {
  const out = new Map<string, Located>();
  for (const file of files) {
    for (const [name, v] of variablesOf(file.yaml.value)) {
      out.delete(name);
      out.set(name, { ...v, file });
    }
  }
  return out;
}

export function variablesListing(files: readonly ComposeFile[], format: 'yaml' | 'json' | undefined): string {
  const vars = [...fileVariables(files).values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (format === 'json') {
    const obj = Object.fromEntries(
      vars.map((v) => [v.name, { Name: v.name, DefaultValue: v.defaultValue, PresenceValue: v.alternateValue, Required: v.required }]),
    );
    return `${JSON.stringify(obj, null, 2)}\n`;
  }
  if (format === 'yaml') {
    if (vars.length === 0) return '{}\n';
    const obj = Object.fromEntries(
      vars.map((v) => [v.name, { name: v.name, defaultvalue: v.defaultValue, presencevalue: v.alternateValue, required: v.required }]),
    );
    return toYaml(obj);
  }
  const rows = [['NAME', 'REQUIRED', 'DEFAULT VALUE', 'ALTERNATE VALUE'], ...vars.map((v) => [v.name, String(v.required), v.defaultValue, v.alternateValue])];
  return `${tabwriter(rows, 20)}\n`;
}

export interface EnvironmentEntry {
  name: string;
  /** null: used by a file, set by nothing, without a default. */
  value: string | null;
  source: 'shell' | 'env-file' | '.env' | 'default' | 'unset';
  file?: string;
  line?: number;
}

export interface EnvironmentContext {
  environment: Environment;
  files: readonly ComposeFile[];
  /** Whether --env-file was given (its files are named `--env-file`, else `.env`). */
  envFileGiven: boolean;
  cwd: string;
}

export function environmentEntries(ctx: EnvironmentContext): EnvironmentEntry[] {
  const entries: EnvironmentEntry[] = [];
  for (const [name, value] of ctx.environment.entries()) {
    const origin = ctx.environment.origin(name);
    if (origin?.kind === 'file') {
      entries.push({ name, value, source: ctx.envFileGiven ? 'env-file' : '.env', file: origin.path, line: origin.line });
    } else {
      entries.push({ name, value, source: 'shell' });
    }
  }
  for (const v of fileVariables(ctx.files).values()) {
    if (ctx.environment.has(v.name)) continue;
    const at = v.file.yaml.locate(v.keyPath);
    const where = { file: v.file.path, ...(at?.line !== undefined ? { line: at.line } : {}) };
    if (v.defaultValue !== '') entries.push({ name: v.name, value: v.defaultValue, source: 'default', ...where });
    else entries.push({ name: v.name, value: null, source: 'unset', ...where });
  }
  return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function environmentListing(ctx: EnvironmentContext, format: 'yaml' | 'json' | undefined): string {
  const entries = environmentEntries(ctx).map((e) => (e.file !== undefined ? { ...e, file: shownPath(e.file, ctx.cwd) } : e));
  if (format === 'json') return `${JSON.stringify(entries, null, 2)}\n`;
  if (format === 'yaml') return entries.length === 0 ? '[]\n' : toYaml(entries);
  return entries.map((e) => `${e.name}=${e.value ?? ''}  # ${describe(e)}\n`).join('');
}

function describe(e: EnvironmentEntry): string {
  const at = e.file !== undefined ? `${e.file}${e.line !== undefined ? `:${e.line}` : ''}` : '';
  switch (e.source) {
    case 'shell':
      return 'shell';
    case 'env-file':
      return `--env-file ${at}`;
    case '.env':
      return `.env ${at}`;
    case 'default':
      return `default in ${at}`;
    case 'unset':
      return `not set (used in ${at})`;
  }
}

function shownPath(path: string, cwd: string): string {
  if (path === '-') return 'stdin';
  const rel = relative(cwd, path);
  return rel.startsWith('..') ? path : rel;
}
