/**
 * .dockerignore, as Docker reads and applies it: one pattern per line, `#` comments, `!`
 * exceptions, paths cleaned like Go's filepath.Clean with a leading "/" dropped. Matching is
 * @balena/dockerignore, a port of Docker's matcher: a pattern becomes a Go regular expression in
 * which only `.` and `$` are escaped, so `c+d` excludes `ccd` and not `c+d`, exactly as dockerd
 * 20.10's BuildKit does (test/engine/docker-dockerignore.test.ts checks it side by side).
 */
import dockerignoreModule, { type Ignore } from '@balena/dockerignore';
import { BuildContextError } from './build-context-error.js';

/** Go's path.Clean. */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(part);
  }
  const joined = out.join('/');
  return rooted ? `/${joined}` : joined === '' ? '.' : joined;
}

/** The patterns of a .dockerignore file, cleaned; exceptions keep their "!". */
export function readDockerignore(text: string): string[] {
  const patterns: string[] = [];
  text.replace(/^\uFEFF/, '').split(/\r?\n/).forEach((line) => {
    if (line.startsWith('#')) return;
    let pattern = line.trim();
    if (pattern === '') return;
    const invert = pattern.startsWith('!');
    if (invert) pattern = pattern.slice(1).trim();
    if (pattern.length > 0) {
      pattern = cleanPath(pattern);
      if (pattern.length > 1 && pattern.startsWith('/')) pattern = pattern.slice(1);
    }
    patterns.push(invert ? `!${pattern}` : pattern);
  });
  return patterns;
}

// A CommonJS module whose exports are the factory, with a `default` pointing to itself; its
// typings declare an ES default export, which TypeScript then sees as the module object.
const ignore = (dockerignoreModule as unknown as { default: (options?: { ignorecase?: boolean }) => Ignore }).default;

export class IgnoreMatcher {
  private readonly matcher: Ignore;
  /** Exception patterns without their "!", cleaned. */
  private readonly exceptions: string[];
  readonly empty: boolean;

  constructor(patterns: readonly string[]) {
    this.exceptions = [];
    for (const raw of patterns) {
      if (raw.startsWith('!')) {
        if (raw.slice(1).trim() === '') throw new BuildContextError('.dockerignore: illegal exclusion pattern: "!"');
        this.exceptions.push(cleanPath(raw.slice(1)));
      }
      checkSyntax(raw.replace(/^(!?)#/, '$1\\#'));
    }
    // The library takes a pattern starting with "#" for a comment line; here comments are gone
    // already, and " #x" in the file is the pattern "#x" (as Docker reads it): escape the "#".
    this.matcher = ignore({ ignorecase: false }).add(patterns.map((p) => p.replace(/^(!?)#/, '$1\\#')));
    this.empty = patterns.length === 0;
  }

  get hasExceptions(): boolean {
    return this.exceptions.length > 0;
  }

  /** Whether `path` (relative, "/"-separated) is excluded from the context. */
  excludes(path: string): boolean {
    return this.matcher.ignores(path);
  }

  /**
   * Whether an excluded directory must still be walked, because an exception names something
   * inside it (the walker's test: an exception pattern starting with "dir/").
   */
  mayIncludeUnder(dir: string): boolean {
    return this.exceptions.some((p) => `${p}/`.startsWith(`${dir}/`));
  }
}

/** Docker refuses a pattern whose regular expression does not compile (an unclosed `[`); the library compiles on first use. */
function checkSyntax(pattern: string): void {
  try {
    ignore({ ignorecase: false }).add(pattern).ignores('probe');
  } catch {
    throw new BuildContextError(`.dockerignore: syntax error in pattern "${pattern}"`);
  }
}
