/**
 * Typed errors. Every error a user can cause carries where it comes from; the CLI turns them into
 * one line each (`ERROR: compose.yml:12:7: services.web.ports[0]: ...`) and an exit status.
 */

export interface SourceLocation {
  /** Absolute path of the file, or "-" for standard input. */
  file?: string;
  /** 1-based line and column of the offending node, when known. */
  line?: number;
  column?: number;
  /** Key path inside the document, e.g. `services.web.ports[0]`. */
  path?: string;
}

export class FlotillaError extends Error {
  readonly location: SourceLocation | undefined;
  readonly exitCode: number;

  constructor(message: string, location?: SourceLocation, exitCode = 1) {
    super(message);
    this.name = new.target.name;
    this.location = location;
    this.exitCode = exitCode;
  }
}

/** A problem in a Compose file, a .env file or a bundle. */
export class ConfigError extends FlotillaError {}

/** Wrong command-line usage (unknown flag, conflicting options). */
export class UsageError extends FlotillaError {}

/** Several independent errors found in one pass (e.g. all schema errors of a file). */
export class ErrorList extends FlotillaError {
  readonly errors: readonly FlotillaError[];

  constructor(errors: readonly FlotillaError[]) {
    super(errors.map((e) => e.message).join('\n'), errors[0]?.location, errors[0]?.exitCode ?? 1);
    this.errors = errors;
  }
}

/** Key path segments rendered the way messages show them: `services.web.ports[0]`. */
export function formatKeyPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? seg : `.${seg}`;
  }
  return out;
}
