/**
 * How errors and warnings reach the user: one line each,
 *   ERROR: compose.yml:12:7: services.web.ports[0]: "80:80:80" is not a valid port
 * with paths shown relative to the current directory when they are inside it.
 */
import { relative, isAbsolute } from 'node:path';
import { ErrorList, FlotillaError, type SourceLocation } from '../errors.js';
import type { Warning } from '../diagnostics.js';

export interface Streams {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  cwd: string;
}

export function displayPath(file: string, cwd: string): string {
  if (file === '-') return '<stdin>';
  if (!isAbsolute(file)) return file;
  const rel = relative(cwd, file);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}

/** Control characters (a newline in a service name or a file name) written as escapes, as JSON does. */
function escapeControls(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\x00-\x1f\x7f]/g, (c) => JSON.stringify(c).slice(1, -1));
}

export function formatLocation(loc: SourceLocation | undefined, cwd: string): string {
  if (!loc) return '';
  let out = '';
  if (loc.file) {
    out += escapeControls(displayPath(loc.file, cwd));
    if (loc.line !== undefined) out += `:${loc.line}`;
    if (loc.line !== undefined && loc.column !== undefined) out += `:${loc.column}`;
    out += ': ';
  }
  if (loc.path) out += `${escapeControls(loc.path)}: `;
  return out;
}

/** Message lines are kept on one line each: embedded newlines would break "one error, one line". */
function oneLine(message: string): string {
  return escapeControls(message.replace(/\s*\n\s*/g, ' '));
}

export function errorLines(err: FlotillaError, cwd: string): string[] {
  const list = err instanceof ErrorList ? err.errors : [err];
  return list.map((e) => `ERROR: ${formatLocation(e.location, cwd)}${oneLine(e.message)}`);
}

export function warningLine(w: Warning, cwd: string): string {
  return `WARNING: ${formatLocation(w.location, cwd)}${oneLine(w.message)}`;
}
