/**
 * What PyYAML's scanner refuses and js-yaml accepts, checked before parsing so Flotilla gives
 * docker-compose's verdict:
 * - a tab anywhere but inside a quoted scalar, a comment or a block scalar's content (PyYAML:
 *   "found character '\t' that cannot start any token"): after a value, before a comment, inside
 *   a plain scalar, after `-` or `:`, in a flow collection;
 * - an anchor or alias name with characters other than ASCII letters, digits, `-` and `_`;
 * - an anchor defined twice.
 * A lexical approximation: it only looks for these three things, and where it cannot tell it
 * stays silent (a missed refusal, never a false one).
 */

export interface LexicalProblem {
  message: string;
  line: number;
  column: number;
}

const NAME = /^[0-9A-Za-z_-]+/;

function indentation(line: string): number {
  let i = 0;
  while (line.charCodeAt(i) === 32) i++;
  return i;
}

export function pyyamlLexicalProblem(text: string): LexicalProblem | undefined {
  if (!text.includes('\t') && !text.includes('&') && !text.includes('*')) return undefined;
  const lines = text.split(/\r\n|\r|\n/);
  const anchors = new Set<string>();
  let quote: '"' | "'" | undefined;
  let flow = 0; // depth of [ and { outside quotes
  let block: number | undefined; // parent indentation of a block scalar being read
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n] as string;
    const indent = indentation(line);
    if (block !== undefined) {
      if (line.trim() === '' || indent > block) continue;
      block = undefined;
    }
    // Inside a plain scalar, quotes, `&`, `*`, `|` and `>` are ordinary characters.
    let plain = false;
    for (let i = quote ? 0 : indent; i < line.length; i++) {
      const c = line.charAt(i);
      if (quote === '"') {
        if (c === '\\') i++;
        else if (c === '"') quote = undefined;
        continue;
      }
      if (quote === "'") {
        if (c === "'" && line.charAt(i + 1) === "'") i++;
        else if (c === "'") quote = undefined;
        continue;
      }
      const next = line.charAt(i + 1);
      if (c === '\t') return { message: "found character '\\t' that cannot start any token (YAML separates tokens with spaces, not tabs)", line: n + 1, column: i + 1 };
      if (c === ' ') continue;
      if (c === '#' && (i === indent || line.charAt(i - 1) === ' ')) break;
      if (c === ':' && (next === '' || next === ' ' || (flow > 0 && /[,\]}]/.test(next)))) {
        plain = false;
        continue;
      }
      if (flow > 0 && (c === ',' || c === ']' || c === '}')) {
        if (c !== ',') flow--;
        plain = false;
        continue;
      }
      if (plain) continue;
      if (c === '[' || c === '{') {
        flow++;
        continue;
      }
      if ((c === '-' || c === '?') && (next === '' || next === ' ')) continue;
      if (c === '"' || c === "'") {
        quote = c;
        continue;
      }
      if (c === '&' || c === '*') {
        const name = NAME.exec(line.slice(i + 1))?.[0] ?? '';
        const after = line.charAt(i + 1 + name.length);
        if (name === '' || (after !== '' && !/[ ,\]}]/.test(after))) {
          return {
            message: `expected alphabetic or numeric character, but found '${after}' in the name of ${c === '&' ? 'an anchor' : 'an alias'} (names use letters, digits, "-" and "_")`,
            line: n + 1,
            column: i + 2 + name.length,
          };
        }
        if (c === '&') {
          if (anchors.has(name)) return { message: `found duplicate anchor "${name}"`, line: n + 1, column: i + 1 };
          anchors.add(name);
        }
        i += name.length;
        continue;
      }
      if (c === '!') {
        // A tag: skip it to the next space.
        while (i + 1 < line.length && line.charAt(i + 1) !== ' ' && line.charAt(i + 1) !== '\t') i++;
        continue;
      }
      if ((c === '|' || c === '>') && flow === 0 && /^[|>][-+0-9]*\s*(#.*)?$/.test(line.slice(i))) {
        block = indent;
        break;
      }
      plain = true;
    }
  }
  return undefined;
}
