/**
 * Word processing of Dockerfile arguments as dockerd 20.10's BuildKit does it (its `shell` lexer):
 * quotes removed, the escape character honoured, `$name`, `${name}`, `${name:-word}`,
 * `${name:+word}` and `${name:?message}` expanded. `${name-word}` and the pattern forms
 * (`${name#p}`) are refused there with "missing ':' in substitution", so they are here.
 * test/daemon/build/lex-buildkit.test.ts runs every case through dockerd side by side.
 */

export type Lookup = (name: string) => string | undefined;

export class ExpansionError extends Error {}

const EOF = '';

/** Collects the words of an argument: unquoted whitespace separates them, quoted text never does. */
class Words {
  readonly list: string[] = [];
  private current = '';
  private started = false;

  char(ch: string): void {
    if (/\s/.test(ch)) this.end();
    else this.raw(ch);
  }

  raw(text: string): void {
    this.current += text;
    this.started = true;
  }

  /** Expanded text of an unquoted variable: split on whitespace. */
  split(text: string): void {
    for (const ch of text) this.char(ch);
  }

  end(): void {
    if (this.started) this.list.push(this.current);
    this.current = '';
    this.started = false;
  }
}

class Lexer {
  private pos = 0;
  private readonly chars: string[];

  constructor(
    text: string,
    private readonly escape: string,
    private readonly lookup: Lookup,
  ) {
    this.chars = [...text];
  }

  private peek(): string {
    return this.chars[this.pos] ?? EOF;
  }

  private next(): string {
    const ch = this.chars[this.pos] ?? EOF;
    if (ch !== EOF) this.pos++;
    return ch;
  }

  /** Reads up to `stop` (consumed) or the end; returns the text and its words. */
  run(stop: string): { text: string; words: string[] } {
    let text = '';
    const words = new Words();
    while (this.peek() !== EOF) {
      const ch = this.peek();
      if (stop !== EOF && ch === stop) {
        this.next();
        words.end();
        return { text, words: words.list };
      }
      if (ch === "'" || ch === '"' || ch === '$') {
        const part = ch === "'" ? this.singleQuoted() : ch === '"' ? this.doubleQuoted() : this.dollar();
        text += part;
        if (ch === '$') words.split(part);
        else words.raw(part);
        continue;
      }
      let c = this.next();
      if (c === this.escape) {
        c = this.next();
        if (c === EOF) break; // an escape at the very end is dropped
        words.raw(c);
      } else {
        words.char(c);
      }
      text += c;
    }
    if (stop !== EOF) throw new ExpansionError("syntax error: missing '}'");
    words.end();
    return { text, words: words.list };
  }

  private singleQuoted(): string {
    this.next();
    let out = '';
    for (;;) {
      const ch = this.next();
      if (ch === EOF) throw new ExpansionError('unexpected end of statement while looking for matching single-quote');
      if (ch === "'") return out;
      out += ch;
    }
  }

  private doubleQuoted(): string {
    this.next();
    let out = '';
    for (;;) {
      const ch = this.peek();
      if (ch === EOF) throw new ExpansionError('unexpected end of statement while looking for matching double-quote');
      if (ch === '"') {
        this.next();
        return out;
      }
      if (ch === '$') {
        out += this.dollar();
        continue;
      }
      let c = this.next();
      if (c === this.escape) {
        const after = this.peek();
        if (after === EOF) continue;
        // Only these can be escaped inside double quotes; any other escape stays as written.
        if (after === '"' || after === '$' || after === this.escape) c = this.next();
      }
      out += c;
    }
  }

  private name(): string {
    let out = '';
    const first = this.peek();
    if (/\d/.test(first)) {
      while (/\d/.test(this.peek()) && this.peek() !== EOF) out += this.next();
      return out;
    }
    if (/[*#$@!?-]/.test(first) && first !== EOF) return this.next(); // shell's special parameters
    while (this.peek() !== EOF && /[\p{L}\p{Nd}_]/u.test(this.peek())) out += this.next();
    return out;
  }

  private dollar(): string {
    this.next();
    if (this.peek() !== '{') {
      const name = this.name();
      if (name === '') return '$';
      return this.lookup(name) ?? '';
    }
    this.next();
    const at = this.peek();
    if (at === EOF) throw new ExpansionError("syntax error: missing '}'");
    if (at === '{' || at === '}' || at === ':') throw new ExpansionError('syntax error: bad substitution');
    const name = this.name();
    const ch = this.next();
    if (ch === '}') return this.lookup(name) ?? '';
    if (ch !== ':') throw new ExpansionError("missing ':' in substitution");
    const modifier = this.next();
    let word: string;
    try {
      word = this.run('}').text;
    } catch (e) {
      if (this.peek() === EOF) throw new ExpansionError("syntax error: missing '}'");
      throw e;
    }
    const value = this.lookup(name);
    switch (modifier) {
      case '+':
        return value !== undefined && value !== '' ? word : (value ?? '');
      case '-':
        return value === undefined || value === '' ? word : value;
      case '?':
        if (value === undefined) throw new ExpansionError(`${name}: ${word === '' ? 'is not allowed to be unset' : word}`);
        if (value === '') throw new ExpansionError(`${name}: ${word === '' ? 'is not allowed to be empty' : word}`);
        return value;
      default:
        throw new ExpansionError(`unsupported modifier (${modifier}) in substitution`);
    }
  }
}

/** The word with quotes removed and variables expanded (whitespace kept). */
export function processWord(word: string, lookup: Lookup, escape = '\\'): string {
  return new Lexer(word, escape, lookup).run(EOF).text;
}

/** The argument split into words the way BuildKit splits it (quoted text and escapes keep spaces). */
export function processWords(word: string, lookup: Lookup, escape = '\\'): string[] {
  return new Lexer(word, escape, lookup).run(EOF).words;
}
