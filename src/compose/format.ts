/**
 * Which Compose format a file is written in, decided as docker-compose 1.29.2 decides it:
 * - no `version` (or an empty one): version-less Compose Spec if it has a non-empty top-level
 *   `services`, `networks` or `volumes` (or, as Compose v2 adds, a `name` string or an `include`
 *   list); otherwise a v1 file, whose top level is the services;
 * - `version` "2.x" / "3.x" (pattern ^[1-3]+(\.\d+)?$, not starting with "1"): that format;
 * - `version` a mapping: a v1 file with a service called "version" (with a warning);
 * - anything else is an error.
 * Also the structural checks docker-compose makes before interpolation: each section a mapping,
 * section entries named by strings and defined by mappings (or left empty).
 *
 * The stack dialect (./stack-dialect.ts) knows format 3 only: no `version` means 3.13.
 */
import { ConfigError } from '../errors.js';
import type { Diagnostics } from '../diagnostics.js';
import type { FormatFamily } from './document.js';
import { isPlainObject, type YamlFile } from './yaml/read.js';
import { isStackVersion, type Dialect } from './stack-dialect.js';

export interface FileFormat {
  family: FormatFamily;
  /** The `version` string as written, when there is one. */
  declared?: string;
}

/** Sections docker-compose checks, with the singular it names them by in messages. */
export const SECTIONS = [
  ['services', 'service'],
  ['volumes', 'volume'],
  ['networks', 'network'],
  ['secrets', 'secret'],
  ['configs', 'config'],
] as const;

const VERSION_HINT =
  'either set `version` to a supported version (e.g. "2.4" or "3.8") and put the services under `services`, ' +
  'or leave `version` out';

function isTruthy(v: unknown): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isPlainObject(v)) return Object.keys(v).length > 0;
  return true;
}

/**
 * A top-level `name` string or `include` list exists only in the Compose Specification (in a v1
 * file they would be services, so mappings): such a file is version-less even with no services,
 * as an override file that only names the project or includes others is in Compose v2.
 */
function declaresSpecOnlyKey(doc: Record<string, unknown>): boolean {
  return typeof doc['name'] === 'string' || Array.isArray(doc['include']);
}

export function detectFormat(doc: Record<string, unknown>, source: YamlFile, diagnostics: Diagnostics, dialect: Dialect = 'compose'): FileFormat {
  const version = doc['version'];
  const at = (path: string[]) => ({ file: source.file, ...source.locate(path), path: path.join('.') });
  if (dialect === 'stack') return stackFormat(doc, source);
  if (!isTruthy(version)) {
    if (isTruthy(doc['services']) || isTruthy(doc['networks']) || isTruthy(doc['volumes']) || declaresSpecOnlyKey(doc)) {
      for (const section of ['services', 'networks', 'volumes'] as const) {
        checkSection(doc[section] ?? {}, section, source, [section]);
      }
      return { family: 'spec' };
    }
    checkSection(doc, 'services', source, []);
    return { family: 'v1' };
  }
  if (isPlainObject(version)) {
    diagnostics.warn('"version" is a mapping: reading the file as format v1, with a service named "version"', at(['version']));
    return { family: 'v1' };
  }
  if (typeof version !== 'string') {
    throw new ConfigError(`version must be a string, e.g. "3.8" (quote it), not ${describeType(version)}`, at(['version']));
  }
  if (!/^[1-3]+(\.\d+)?$/.test(version)) {
    throw new ConfigError(`version "${version}" is not a supported Compose file version; ${VERSION_HINT}`, at(['version']));
  }
  if (version.startsWith('1')) {
    throw new ConfigError(`version "${version}" is not valid: ${VERSION_HINT} (the v1 format has no version key)`, at(['version']));
  }
  return { family: version.startsWith('2') ? 'v2' : 'v3', declared: version };
}

/** Format 3.0 to 3.13, or no version (3.13), with the services under `services`. */
function stackFormat(doc: Record<string, unknown>, source: YamlFile): FileFormat {
  const version = doc['version'];
  const at = (path: string[]) => ({ file: source.file, ...source.locate(path), path: path.join('.') || undefined });
  if (version !== undefined && version !== null && version !== '') {
    const text = typeof version === 'string' || typeof version === 'number' ? String(version) : undefined;
    if (text === undefined || !isStackVersion(text)) {
      const shown = text === undefined ? describeType(version) : `"${text}"`;
      throw new ConfigError(`version ${shown} is not supported by stack deploy: a stack file declares version 3.0 to 3.13, or none`, at(['version']));
    }
  }
  if (!isPlainObject(doc['services'])) {
    throw new ConfigError('a stack file defines its services under a top-level "services"', at(Object.hasOwn(doc, 'services') ? ['services'] : []));
  }
  for (const [section] of SECTIONS) if (Object.hasOwn(doc, section)) checkSection(doc[section], section, source, [section]);
  const out: FileFormat = { family: 'v3' };
  if (version !== undefined && version !== null && version !== '') out.declared = String(version);
  return out;
}

/** A section (or the whole v1 file) must be a mapping of string names to mappings or nothing. */
export function checkSection(value: unknown, section: string, source: YamlFile, path: string[]): void {
  const singular = SECTIONS.find(([plural]) => plural === section)?.[1] ?? section;
  const where = (p: string[]) => ({ file: source.file, ...source.locate(p), path: p.join('.') || undefined });
  if (!isPlainObject(value)) {
    const hint = value === null ? ' (write `{}` for an empty section)' : '';
    throw new ConfigError(`${section} must be a mapping, not ${describeType(value)}${hint}`, where(path));
  }
  for (const [name, body] of Object.entries(value)) {
    if (source.isNonStringKey([...path, name])) {
      throw new ConfigError(`the ${singular} name ${name} must be a quoted string, i.e. '${name}'`, where([...path, name]));
    }
    if (body !== null && !isPlainObject(body)) {
      throw new ConfigError(`${singular} '${name}' must be a mapping, not ${describeType(body)}`, where([...path, name]));
    }
  }
}

export function describeType(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'number') return 'a number';
  if (typeof v === 'boolean') return 'a boolean';
  if (isPlainObject(v)) return 'a mapping';
  return 'a date';
}
