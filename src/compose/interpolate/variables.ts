/**
 * The variables a Compose file's templates use, for `config --variables` (Compose v2's listing,
 * compose-go template/variables.go): each `$VAR`/`${VAR...}` in a value (never in a key), with the
 * default of `${VAR:-d}`/`${VAR-d}`, the alternative of `${VAR:+a}`/`${VAR+a}`, and whether
 * `${VAR:?}`/`${VAR?}` requires it. Variables inside a default or alternative are listed too. The
 * file is read as written (before interpolation); a later occurrence of a name replaces an earlier
 * one, as in v2. Malformed templates are skipped here: loading the file reports them.
 */
import { isPlainObject } from '../yaml/read.js';
import { closingBrace } from './template.js';

export interface TemplateVariable {
  name: string;
  required: boolean;
  defaultValue: string;
  alternateValue: string;
  /** Key path of the value that uses it (the last occurrence). */
  keyPath: (string | number)[];
}

const NAME = /^[_a-zA-Z][_a-zA-Z0-9]*/;

/** Every variable of the values of `doc`, in order of last occurrence replaced in place. */
export function variablesOf(doc: unknown, into = new Map<string, TemplateVariable>()): Map<string, TemplateVariable> {
  const walk = (v: unknown, path: (string | number)[]): void => {
    if (typeof v === 'string') {
      for (const found of variablesIn(v)) into.set(found.name, { ...found, keyPath: path });
    } else if (Array.isArray(v)) {
      v.forEach((item, i) => walk(item, [...path, i]));
    } else if (isPlainObject(v)) {
      for (const [k, item] of Object.entries(v)) walk(item, [...path, k]);
    }
  };
  walk(doc, []);
  return into;
}

/** The variables of one template string. */
export function variablesIn(template: string): Omit<TemplateVariable, 'keyPath'>[] {
  const out: Omit<TemplateVariable, 'keyPath'>[] = [];
  let i = template.indexOf('$');
  while (i !== -1 && i < template.length) {
    const next = template.charAt(i + 1);
    if (next === '$') {
      i = template.indexOf('$', i + 2);
      continue;
    }
    if (next !== '{') {
      const m = NAME.exec(template.slice(i + 1));
      if (m) out.push({ name: m[0], required: false, defaultValue: '', alternateValue: '' });
      i = template.indexOf('$', i + 1 + (m ? m[0].length : 0));
      continue;
    }
    const m = NAME.exec(template.slice(i + 2));
    const close = closingBrace(template, i + 2, true);
    if (!m || close === -1) {
      i = template.indexOf('$', i + 2);
      continue;
    }
    const rest = template.slice(i + 2 + m[0].length, close);
    const variable = { name: m[0], required: false, defaultValue: '', alternateValue: '' };
    let nested = '';
    if (rest.startsWith(':?') || rest.startsWith('?')) variable.required = true;
    else if (rest.startsWith(':-') || rest.startsWith('-')) nested = variable.defaultValue = rest.slice(rest.startsWith(':') ? 2 : 1);
    else if (rest.startsWith(':+') || rest.startsWith('+')) nested = variable.alternateValue = rest.slice(rest.startsWith(':') ? 2 : 1);
    out.push(variable);
    if (nested.includes('$')) out.push(...variablesIn(nested));
    i = template.indexOf('$', close + 1);
  }
  return out;
}
