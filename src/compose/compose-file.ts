/**
 * One Compose file, read and checked on its own: parsed (YAML 1.1 as PyYAML), its format decided,
 * its sections checked, interpolated, then validated against the schema of its format. Every
 * schema error of the file is reported at once, in file order.
 */
import { setOwn } from '../util/own.js';
import { ConfigError, ErrorList, formatKeyPath } from '../errors.js';
import type { Diagnostics } from '../diagnostics.js';
import type { Environment } from './environment.js';
import { readTextFile } from '../util/input-files.js';
import { checkSection, detectFormat, SECTIONS, type FileFormat } from './format.js';
import { interpolateFile } from './interpolate/index.js';
import { validateAgainst, type SchemaName } from './validate/schema.js';
import { isPlainObject, readYaml, type KeyPath, type YamlFile } from './yaml/read.js';
import { checkExpose, PortSyntaxError } from './syntax/ports.js';
import { checkForbiddenKeys, warnIgnoredKeys, type Dialect } from './stack-dialect.js';

export interface ComposeFile {
  /** Absolute path, or "-" for standard input. */
  readonly path: string;
  readonly yaml: YamlFile;
  readonly format: FileFormat;
  /** The interpolated document. */
  readonly doc: Record<string, unknown>;
  /** For a file brought in by `include` (./include.ts): the directory its relative paths start from. */
  readonly included?: { readonly dir: string };
}

export interface FileContext {
  environment: Environment;
  diagnostics: Diagnostics;
  interpolate: boolean;
  /** Reads standard input (for `-f -`). */
  readStdin: () => string;
  /** Whose reading of Compose files: docker-compose's (default), or `docker stack deploy`'s. */
  dialect?: Dialect;
}

export function isLegacy(file: ComposeFile): boolean {
  return file.format.family === 'v1';
}

/** The service definitions of a file (the top level for v1 files). */
export function serviceDicts(file: ComposeFile): Record<string, Record<string, unknown>> {
  const raw = isLegacy(file) ? file.doc : file.doc['services'];
  const out: Record<string, Record<string, unknown>> = {};
  if (!isPlainObject(raw)) return out;
  for (const [name, body] of Object.entries(raw)) setOwn(out, name, isPlainObject(body) ? body : {});
  return out;
}

/** One service definition of a file, without building the whole table (extends looks up one at a time). */
export function serviceDict(file: ComposeFile, name: string): Record<string, unknown> | undefined {
  const raw = isLegacy(file) ? file.doc : file.doc['services'];
  if (!isPlainObject(raw) || !Object.hasOwn(raw, name)) return undefined;
  const body = raw[name];
  return isPlainObject(body) ? body : {};
}

/** Key path of something inside a service of this file, for error locations. */
export function servicePath(file: ComposeFile, service: string, ...rest: (string | number)[]): (string | number)[] {
  return isLegacy(file) ? [service, ...rest] : ['services', service, ...rest];
}

export function locationIn(file: ComposeFile, path: KeyPath): { file: string; line?: number; column?: number; path: string } {
  return { file: file.path, ...file.yaml.locate(path), path: formatKeyPath(path) };
}

export function readComposeFile(path: string, ctx: FileContext): ComposeFile {
  const text = path === '-' ? ctx.readStdin() : readTextFile(path, 'Compose file');
  const yaml = readYaml(text, path, { tags: true });
  if (!isPlainObject(yaml.value)) {
    const what = yaml.value === null ? 'empty' : `not a mapping of keys to values`;
    throw new ConfigError(`the file is ${what}; a Compose file defines services (e.g. "services:")`, {
      file: path,
      line: 1,
      column: 1,
    });
  }
  const raw = yaml.value;
  const dialect = ctx.dialect ?? 'compose';
  const format = detectFormat(raw, yaml, ctx.diagnostics, dialect);
  const legacy = format.family === 'v1';
  // `!reset`/`!override` are the Compose Specification's: other files keep 1.29.2's "unknown tag".
  if (format.family !== 'spec' && yaml.resetPaths.length > 0) readYaml(text, path);
  if (!legacy && dialect === 'compose') {
    for (const [section] of SECTIONS) if (Object.hasOwn(raw, section)) checkSection(raw[section], section, yaml, [section]);
  }
  if (dialect === 'stack') checkForbiddenKeys(raw, yaml);
  const doc = interpolateFile(raw, yaml, legacy, {
    environment: ctx.environment,
    diagnostics: ctx.diagnostics,
    enabled: ctx.interpolate,
    extensions: format.family === 'spec',
  });
  const file: ComposeFile = { path, yaml, format, doc };
  checkSchema(file, ctx.diagnostics, dialect);
  if (dialect === 'stack') warnIgnoredKeys(raw, yaml, ctx.diagnostics);
  return file;
}

/** JSON Schema draft 4, which docker-compose uses, does not count `1.0` as an integer: nor do we. */
function withIntegralFloatsMarked(doc: Record<string, unknown>, yaml: YamlFile): unknown {
  if (yaml.integralFloats.size === 0) return doc;
  const mark = (v: unknown, path: (string | number)[]): unknown => {
    if (typeof v === 'number' && yaml.integralFloats.has(formatKeyPath(path))) return v + 0.5;
    if (Array.isArray(v)) return v.map((x, i) => mark(x, [...path, i]));
    if (isPlainObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mark(x, [...path, k])]));
    return v;
  };
  return mark(doc, []);
}

function checkSchema(file: ComposeFile, diagnostics: Diagnostics, dialect: Dialect): void {
  const schema: SchemaName =
    dialect === 'stack' ? 'stack-v3' : isLegacy(file) ? 'compose-v1' : file.format.family === 'spec' ? 'compose-spec-current' : 'compose-spec';
  const data = withIntegralFloatsMarked(file.doc, file.yaml);
  const problems = validateAgainst(schema, data);
  for (const path of file.yaml.integralFloats) {
    // docker-compose checks str(port): "8080.0" is not a port.
    const m = /^(?:services\.)?([^.[]+)\.ports\[(\d+)\]$/.exec(path);
    if (m && !problems.some((p) => p.path.join('.') === path)) {
      const keyPath = isLegacy(file) ? [m[1] as string, 'ports', Number(m[2])] : ['services', m[1] as string, 'ports', Number(m[2])];
      problems.push({ path: keyPath, message: 'a port written as a decimal number is not valid (write 8080, not 8080.0)' });
    }
  }
  problems.push(...exposeProblems(file));
  if (problems.length > 0) {
    const errors = problems.map((p) => new ConfigError(p.message, locationIn(file, p.path)));
    errors.sort(byPosition);
    throw errors.length === 1 ? errors[0] : new ErrorList(errors);
  }
  // What the declared format does not have (keys, value types, conditions): docker-compose
  // accepts all of it, because it validates every versioned file against one merged schema, and
  // so does Flotilla, but says so.
  if (dialect === 'stack') return;
  const lint: SchemaName | undefined =
    file.format.family === 'v2' ? 'compose-v2' : file.format.family === 'v3' ? 'compose-v3' : undefined;
  if (!lint) return;
  const format = `Compose file format ${file.format.declared}`;
  for (const p of validateAgainst(lint, data)) {
    const message = p.message.startsWith('unsupported')
      ? `${p.message.replace(/^unsupported (top-level )?key/, 'key')} is not part of ${format}`
      : `not valid in ${format} (${p.message})`;
    diagnostics.warn(`${message}; accepted anyway, as docker-compose does`, locationIn(file, p.path));
  }
}

/** docker-compose checks `expose` strings in each file, before merging (a merged `80.5` is fine). */
function exposeProblems(file: ComposeFile): { path: (string | number)[]; message: string }[] {
  const services = isLegacy(file) ? file.doc : file.doc['services'];
  if (!isPlainObject(services)) return [];
  const problems: { path: (string | number)[]; message: string }[] = [];
  for (const [name, service] of Object.entries(services)) {
    const expose = isPlainObject(service) ? service['expose'] : undefined;
    if (!Array.isArray(expose)) continue;
    expose.forEach((entry, i) => {
      try {
        checkExpose(entry as string | number);
      } catch (err) {
        if (!(err instanceof PortSyntaxError)) throw err;
        const path = isLegacy(file) ? [name, 'expose', i] : ['services', name, 'expose', i];
        problems.push({ path, message: err.message });
      }
    });
  }
  return problems;
}

export function byPosition(a: ConfigError, b: ConfigError): number {
  const la = a.location ?? {};
  const lb = b.location ?? {};
  return (
    (la.line ?? 0) - (lb.line ?? 0) || (la.column ?? 0) - (lb.column ?? 0) || a.message.localeCompare(b.message)
  );
}
