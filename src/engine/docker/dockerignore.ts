/**
 * .dockerignore, as the Docker CLI reads and applies it: one pattern per line, `#` comments, `!`
 * exceptions, paths cleaned like Go's filepath.Clean with a leading "/" dropped; `*` and `?` do
 * not cross "/", `**` matches any number of directories (zero included), `\` escapes; a path is
 * excluded when the last pattern matching it or one of its parent directories is not an exception.
 */
import { EngineError } from '../errors.js';

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

interface Pattern {
  text: string;
  exclusion: boolean;
  regex: RegExp;
}

/** Characters with a meaning in a JavaScript RegExp that are plain in a pattern. */
const REGEX_SPECIAL = /[$^.+(){}|\/]/;

function compile(pattern: string): RegExp {
  const chars = [...pattern];
  let re = '^';
  let inClass = false;
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (inClass) {
      // Inside [...] the syntax is the same in Go and JavaScript ("^" negates, "\" escapes).
      if (ch === '\\' && i + 1 < chars.length) re += ch + chars[++i]!;
      else {
        re += ch;
        if (ch === ']') inClass = false;
      }
    } else if (ch === '*') {
      if (chars[i + 1] === '*') {
        i++;
        if (chars[i + 1] === '/') i++;
        re += i + 1 >= chars.length ? '.*' : '(.*/)?';
      } else {
        re += '[^/]*';
      }
    } else if (ch === '?') {
      re += '[^/]';
    } else if (ch === '\\') {
      const next = chars[++i];
      re += next === undefined ? '\\\\' : next.replace(/[\\^$.*+?()[\]{}|/]/, '\\$&');
    } else if (ch === '[') {
      inClass = true;
      re += ch;
    } else if (ch === ']') {
      re += '\\]';
    } else {
      re += REGEX_SPECIAL.test(ch) ? `\\${ch}` : ch;
    }
  }
  try {
    if (inClass) throw new Error('unterminated [');
    return new RegExp(`${re}$`);
  } catch {
    throw new EngineError('invalid', `.dockerignore: syntax error in pattern "${pattern}"`);
  }
}

export class IgnoreMatcher {
  private readonly patterns: Pattern[];

  constructor(patterns: readonly string[]) {
    this.patterns = patterns.map((raw) => {
      const exclusion = raw.startsWith('!');
      const text = cleanPath(exclusion ? raw.slice(1) : raw);
      if (exclusion && raw.slice(1) === '') throw new EngineError('invalid', '.dockerignore: illegal exclusion pattern: "!"');
      return { text, exclusion, regex: compile(text) };
    });
  }

  get empty(): boolean {
    return this.patterns.length === 0;
  }

  get hasExceptions(): boolean {
    return this.patterns.some((p) => p.exclusion);
  }

  /** Whether `path` (relative, "/"-separated) is excluded from the context. */
  excludes(path: string): boolean {
    const slash = path.lastIndexOf('/');
    const parents = slash < 0 ? [] : path.slice(0, slash).split('/');
    let matched = false;
    for (const p of this.patterns) {
      if (p.exclusion !== matched) continue;
      let match = p.regex.test(path);
      for (let i = 0; !match && i < parents.length; i++) match = p.regex.test(parents.slice(0, i + 1).join('/'));
      if (match) matched = !p.exclusion;
    }
    return matched;
  }

  /**
   * Whether an excluded directory must still be walked, because an exception names something
   * inside it (the CLI's test: an exception pattern starting with "dir/").
   */
  mayIncludeUnder(dir: string): boolean {
    return this.patterns.some((p) => p.exclusion && `${p.text}/`.startsWith(`${dir}/`));
  }
}
