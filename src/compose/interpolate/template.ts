/**
 * The `${VAR}` template language of Compose files.
 *
 * Both dialects: `$$` is a literal `$`; `$VAR` and `${VAR}` substitute (unset: empty string and a
 * warning); names are `[_a-zA-Z][_a-zA-Z0-9]*`; anything else after `$` is an error.
 *
 * "compose" dialect (v2, v3 and version-less files), as docker-compose 1.29.2:
 *   ${VAR:-default}  default when VAR is unset or empty     ${VAR-default}  default when unset
 *   ${VAR:?message}  error when VAR is unset or empty       ${VAR?message}  error when unset
 * and, as documented extensions from compose-go that 1.29.2 rejects or mis-reads:
 *   ${VAR:+alt}      alt when VAR is set and non-empty      ${VAR+alt}      alt when VAR is set
 *   nesting: the default/alt/message is itself a template, and its braces balance
 *            (`${A:-${B:-c}}`; 1.29.2 ends the default at the first `}`)
 *
 * "legacy" dialect (v1 files without `version`): only `$VAR`, `${VAR}` and `$$`, as 1.29.2.
 */

export type Dialect = 'compose' | 'legacy';

export type VariableLookup = (name: string) => string | undefined;

export class TemplateError extends Error {
  constructor(
    readonly kind: 'invalid' | 'required' | 'too-long',
    message: string,
  ) {
    super(message);
  }
}

/** Templates nested deeper than this (`${A:-${B:-...}}`) are refused: each level costs stack. */
export const MAX_NESTING = 64;

const NAME_START = /[_a-zA-Z]/;
const NAME_CHAR = /[_a-zA-Z0-9]/;
const OPERATORS = [':-', ':?', ':+', '-', '?', '+'] as const;
type Operator = (typeof OPERATORS)[number];

export interface TemplateContext {
  lookup: VariableLookup;
  dialect: Dialect;
  /** Called for `$VAR`/`${VAR}` when VAR is unset (docker-compose warns once per variable). */
  onUnset: (name: string) => void;
}

/** Where a substitution is: its context, how deep in nested templates, and the longest result allowed. */
interface Walk {
  ctx: TemplateContext;
  depth: number;
  maxLength: number;
}

/**
 * Substitutes every variable in `template`; throws TemplateError on bad syntax, a required
 * variable, nesting past MAX_NESTING, or a result longer than `maxLength`.
 */
export function substitute(template: string, ctx: TemplateContext, maxLength = Infinity): string {
  return substituteIn(template, { ctx, depth: 0, maxLength });
}

function substituteIn(template: string, walk: Walk): string {
  if (!template.includes('$')) return template;
  if (walk.depth >= MAX_NESTING) {
    throw new TemplateError('invalid', `variables nest more than ${MAX_NESTING} levels deep in ${shown(template)}`);
  }
  const { ctx } = walk;
  let out = '';
  let i = 0;
  while (i < template.length) {
    const dollar = template.indexOf('$', i);
    if (dollar === -1) {
      out += template.slice(i);
      break;
    }
    out += template.slice(i, dollar);
    const next = template.charAt(dollar + 1);
    if (next === '$') {
      out += '$';
      i = dollar + 2;
    } else if (next === '{') {
      const { value, end } = braced(template, dollar, walk);
      out += value;
      i = end;
    } else if (NAME_START.test(next)) {
      let end = dollar + 2;
      while (end < template.length && NAME_CHAR.test(template.charAt(end))) end++;
      out += plainVariable(template.slice(dollar + 1, end), ctx);
      i = end;
    } else {
      throw invalid(template);
    }
    if (out.length > walk.maxLength) throw new TemplateError('too-long', `variables make ${shown(template)} longer than ${walk.maxLength} characters`);
  }
  return out;
}

/** A template as messages quote it: whole when short, else its start (one line, one error). */
function shown(template: string): string {
  return JSON.stringify(template.length > 200 ? `${template.slice(0, 200)}...` : template);
}

function invalid(template: string): TemplateError {
  return new TemplateError('invalid', `invalid interpolation format in ${shown(template)} (write a literal $ as $$)`);
}

function plainVariable(name: string, ctx: TemplateContext): string {
  const value = ctx.lookup(name);
  if (value === undefined) {
    ctx.onUnset(name);
    return '';
  }
  return value;
}

/** Index of the `}` closing a `${` whose body starts at `from`; only `${` opens a nested level. */
export function closingBrace(s: string, from: number, nested: boolean): number {
  let depth = 0;
  for (let i = from; i < s.length; i++) {
    const c = s.charAt(i);
    if (c === '}') {
      if (depth === 0) return i;
      depth--;
    } else if (nested && c === '$' && s.charAt(i + 1) === '{') {
      depth++;
      i++;
    }
  }
  return -1;
}

function braced(template: string, dollar: number, walk: Walk): { value: string; end: number } {
  const { ctx } = walk;
  const start = dollar + 2;
  let nameEnd = start;
  if (!NAME_START.test(template.charAt(nameEnd))) throw invalid(template);
  while (nameEnd < template.length && NAME_CHAR.test(template.charAt(nameEnd))) nameEnd++;
  const name = template.slice(start, nameEnd);
  if (template.charAt(nameEnd) === '}') return { value: plainVariable(name, ctx), end: nameEnd + 1 };
  if (ctx.dialect === 'legacy') throw invalid(template);

  const op = OPERATORS.find((o) => template.startsWith(o, nameEnd));
  if (!op) throw invalid(template);
  const argStart = nameEnd + op.length;
  const close = closingBrace(template, argStart, true);
  if (close === -1) throw invalid(template);
  const arg = template.slice(argStart, close);
  return { value: applyOperator(name, op, arg, walk), end: close + 1 };
}

function applyOperator(name: string, op: Operator, arg: string, walk: Walk): string {
  const value = walk.ctx.lookup(name);
  const set = value !== undefined;
  const nonEmpty = set && value !== '';
  const expand = (s: string): string => substituteIn(s, { ...walk, depth: walk.depth + 1 });
  switch (op) {
    case ':-':
      return nonEmpty ? value : expand(arg);
    case '-':
      return set ? value : expand(arg);
    case ':+':
      return nonEmpty ? expand(arg) : '';
    case '+':
      return set ? expand(arg) : '';
    case ':?':
      if (nonEmpty) return value;
      throw new TemplateError('required', `required variable ${name} is missing a value: ${expand(arg) || name}`);
    case '?':
      if (set) return value;
      throw new TemplateError('required', `required variable ${name} is missing a value: ${expand(arg) || name}`);
  }
}
