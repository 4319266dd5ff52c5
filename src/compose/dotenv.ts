/**
 * `.env` and `env_file` parsing with the rules docker-compose 1.29.2 applies (it uses python-dotenv
 * 0.21), because users' files are written against it:
 *
 *   KEY=value            value runs to the end of the line; ` #...` (whitespace, then #) is a comment
 *   KEY=abc#123          no whitespace before '#': the value is `abc#123`
 *   export KEY=value     `export ` is ignored
 *   KEY = value          spaces around '=' are ignored
 *   KEY="a \"b\" \n"     double quotes: escapes \\ \' \" \a \b \f \n \r \t \v; may span lines
 *   KEY='a \' b'         single quotes: escapes \\ and \' only; may span lines
 *   KEY                  no '=': the key is listed without a value (null)
 *   ${VAR} ${VAR:-dflt}  expanded in every value, from keys above it in the file and then the
 *                        process environment
 *
 * The npm `dotenv` package disagrees on several of these (it cuts `abc#123` to `abc`, keeps `\"`,
 * strips backticks, does not expand), so Flotilla does not use it.
 */
import { ConfigError } from '../errors.js';
import { EXPANDED_LIMIT_TEXT, MAX_EXPANDED_BYTES } from './limits.js';

export interface DotenvEntry {
  key: string;
  /** null when the line has no '=' (the key is passed through from the environment). */
  value: string | null;
  line: number;
}

export interface DotenvParse {
  entries: DotenvEntry[];
  /** Lines that could not be parsed; python-dotenv skips them with a warning, so do we. */
  badLines: number[];
}

const MULTILINE_WS = /\s*/y;
const INLINE_WS = /[^\S\r\n]*/y;
const EXPORT = /(?:export[^\S\r\n]+)?/y;
const SINGLE_QUOTED_KEY = /'([^']+)'/y;
const UNQUOTED_KEY = /([^=#\s]+)/y;
const EQUAL_SIGN = /=[^\S\r\n]*/y;
const SINGLE_QUOTED_VALUE = /'((?:\\'|[^'])*)'/y;
const DOUBLE_QUOTED_VALUE = /"((?:\\"|[^"])*)"/y;
const UNQUOTED_VALUE = /([^\r\n]*)/y;
const COMMENT = /(?:[^\S\r\n]*#[^\r\n]*)?/y;
const END_OF_LINE = /[^\S\r\n]*(?:\r\n|\n|\r|$)/y;
const REST_OF_LINE = /[^\r\n]*(?:\r\n|\r|\n)?/y;

const DOUBLE_QUOTE_ESCAPES: Record<string, string> = {
  '\\': '\\',
  "'": "'",
  '"': '"',
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
};

class ParseFailure extends Error {}

class Reader {
  pos = 0;
  constructor(readonly text: string) {}

  match(re: RegExp): RegExpExecArray {
    re.lastIndex = this.pos;
    const m = re.exec(this.text);
    if (!m) throw new ParseFailure();
    this.pos = re.lastIndex;
    return m;
  }

  peek(): string {
    return this.text.charAt(this.pos);
  }

  lineAt(offset: number): number {
    let line = 1;
    for (let i = 0; i < offset; i++) {
      const c = this.text.charCodeAt(i);
      if (c === 10 || (c === 13 && this.text.charCodeAt(i + 1) !== 10)) line++;
    }
    return line;
  }
}

function parseValue(r: Reader): string {
  const c = r.peek();
  if (c === "'") {
    const body = r.match(SINGLE_QUOTED_VALUE)[1] ?? '';
    return body.replace(/\\[\\']/g, (m) => m.charAt(1));
  }
  if (c === '"') {
    const body = r.match(DOUBLE_QUOTED_VALUE)[1] ?? '';
    return body.replace(/\\[\\'"abfnrtv]/g, (m) => DOUBLE_QUOTE_ESCAPES[m.charAt(1)] ?? m);
  }
  if (c === '' || c === '\n' || c === '\r') return '';
  const raw = r.match(UNQUOTED_VALUE)[1] ?? '';
  return raw.replace(/\s+#.*/, '').trimEnd();
}

export function parseDotenv(source: string): DotenvParse {
  // Read as Python's text mode reads files: CR and CRLF become LF, inside quoted values too.
  const text = (source.charCodeAt(0) === 0xfeff ? source.slice(1) : source).replace(/\r\n?/g, '\n');
  const r = new Reader(text);
  const entries: DotenvEntry[] = [];
  const badLines: number[] = [];
  while (r.pos < text.length) {
    const start = r.pos;
    try {
      r.match(MULTILINE_WS);
      if (r.pos >= text.length) break;
      const keyOffset = r.pos;
      r.match(EXPORT);
      if (r.peek() === '#') {
        r.match(COMMENT);
        r.match(END_OF_LINE);
        continue;
      }
      const key = (r.peek() === "'" ? r.match(SINGLE_QUOTED_KEY) : r.match(UNQUOTED_KEY))[1] ?? '';
      r.match(INLINE_WS);
      let value: string | null = null;
      if (r.peek() === '=') {
        r.match(EQUAL_SIGN);
        value = parseValue(r);
      }
      r.match(COMMENT);
      r.match(END_OF_LINE);
      entries.push({ key, value, line: r.lineAt(keyOffset) });
    } catch (e) {
      if (!(e instanceof ParseFailure)) throw e;
      r.pos = start;
      r.match(MULTILINE_WS);
      badLines.push(r.lineAt(r.pos));
      r.match(REST_OF_LINE);
      if (r.pos === start) r.pos++;
    }
  }
  return { entries, badLines };
}

const POSIX_VARIABLE = /\$\{([^}:]*)(?::-([^}]*))?\}/g;

/**
 * Expands `${VAR}` and `${VAR:-default}` (python-dotenv's only forms) in each value, looking first
 * at keys defined earlier in the same file, then at `outside` (the process environment).
 */
export function expandDotenv(
  entries: readonly DotenvEntry[],
  outside: Readonly<Record<string, string | undefined>>,
  file?: string,
): Map<string, string | null> {
  const values = new Map<string, string | null>();
  const lookup = (name: string): string | null | undefined => (values.has(name) ? values.get(name) : outside[name]);
  // Each line can double the one above (`B=${A}${A}`): the text made is counted as it is made.
  let budget = MAX_EXPANDED_BYTES;
  for (const { key, value, line } of entries) {
    if (value === null) {
      values.set(key, null);
      continue;
    }
    const spend = (text: string): string => {
      budget -= text.length;
      if (budget < 0) throw new ConfigError(`the values expand to ${EXPANDED_LIMIT_TEXT} of text through variables; refusing the file`, { file, line });
      return text;
    };
    spend(value);
    values.set(
      key,
      value.replace(POSIX_VARIABLE, (_m, name: string, dflt: string | undefined) => {
        const v = lookup(name);
        return spend(v === undefined ? (dflt ?? '') : (v ?? ''));
      }),
    );
  }
  return values;
}

/**
 * The Spec's `env_file` with `format: raw`: `KEY=VALUE` lines taken as written (no quotes, escapes
 * or variables), a line without `=` a bare key (null); blank and `#` lines skipped.
 */
export function parseRawDotenv(text: string): Map<string, string | null> {
  const values = new Map<string, string | null>();
  for (const line of text.split('\n')) {
    const l = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (l.trim() === '' || l.trimStart().startsWith('#')) continue;
    const eq = l.indexOf('=');
    if (eq === -1) values.set(l.trim(), null);
    else values.set(l.slice(0, eq).trim(), l.slice(eq + 1));
  }
  return values;
}
