/**
 * Turns ajv's raw errors into one readable message per problem. ajv reports every failed branch
 * of a `oneOf`; a user wants to hear about the branch their value was meant for:
 * - when a value has errors deeper down (its type matched a branch), those are reported and the
 *   type mismatches of the other branches are dropped;
 * - otherwise the expected types of all branches are merged: "must be a string or a list".
 */
import type { ErrorObject } from 'ajv';

export interface SchemaProblem {
  /** Key path segments into the validated document. */
  path: (string | number)[];
  message: string;
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  boolean: 'a boolean',
  object: 'a mapping',
  array: 'a list',
  null: 'null',
};

/** Keys users often mistype, with what they meant (the same hints docker-compose gives). */
const KEY_HINTS: Record<string, string> = {
  cpu_share: 'cpu_shares',
  add_host: 'extra_hosts',
  hosts: 'extra_hosts',
  extra_host: 'extra_hosts',
  device: 'devices',
  link: 'links',
  memory_swap: 'memswap_limit',
  port: 'ports',
  privilege: 'privileged',
  priviliged: 'privileged',
  privilige: 'privileged',
  volume: 'volumes',
  workdir: 'working_dir',
};

function decodePointer(pointer: string, data: unknown): (string | number)[] {
  if (pointer === '') return [];
  const out: (string | number)[] = [];
  let node = data;
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) {
      const i = Number(seg);
      out.push(i);
      node = node[i];
    } else {
      out.push(seg);
      node = node && typeof node === 'object' ? (node as Record<string, unknown>)[seg] : undefined;
    }
  }
  return out;
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'boolean') return 'a boolean';
  // The schema's numbers are finite: NaN and infinity are the numbers it refuses.
  if (typeof value === 'number' && Number.isNaN(value)) return 'NaN (not a number)';
  if (typeof value === 'number' && !Number.isFinite(value)) return 'infinite';
  if (typeof value === 'number') return Number.isInteger(value) ? 'a number' : 'a decimal number';
  return typeof value;
}

function joinAlternatives(items: string[]): string {
  const unique = [...new Set(items)];
  if (unique.length <= 1) return unique[0] ?? '';
  return `${unique.slice(0, -1).join(', ')} or ${unique[unique.length - 1]}`;
}

function valueAt(data: unknown, path: (string | number)[]): unknown {
  let node = data;
  for (const seg of path) node = node && typeof node === 'object' ? (node as Record<string | number, unknown>)[seg] : undefined;
  return node;
}

function isUnder(child: string, parent: string): boolean {
  return child.length > parent.length && child.startsWith(parent) && child.charAt(parent.length) === '/';
}

export function explainSchemaErrors(errors: readonly ErrorObject[], data: unknown): SchemaProblem[] {
  const relevant = errors.filter((e) => e.keyword !== 'oneOf' && e.keyword !== 'anyOf' && e.keyword !== 'if');
  // A type mismatch at P is noise when some branch matched P's type and found another problem at P
  // or below it: that branch is the one the user meant.
  const otherErrorPaths = relevant.filter((e) => e.keyword !== 'type').map((e) => e.instancePath);
  const typeErrorPaths = relevant.filter((e) => e.keyword === 'type').map((e) => e.instancePath);
  const explainedElsewhere = (p: string) =>
    otherErrorPaths.some((o) => o === p || isUnder(o, p)) || typeErrorPaths.some((t) => isUnder(t, p));

  const typeExpectations = new Map<string, string[]>();
  const problems: SchemaProblem[] = [];
  const seen = new Set<string>();
  const push = (path: (string | number)[], message: string) => {
    const key = `${JSON.stringify(path)}\0${message}`;
    if (seen.has(key)) return;
    seen.add(key);
    problems.push({ path, message });
  };

  for (const e of relevant) {
    const path = decodePointer(e.instancePath, data);
    // A rule on a mapping's key names (propertyNames): the error is at the mapping, the key is
    // the one at fault.
    const badKey = e.propertyName ?? (e.keyword === 'propertyNames' ? (e.params['propertyName'] as string | undefined) : undefined);
    if (badKey !== undefined) {
      push([...path, badKey], `'${badKey}' is not a valid name`);
      continue;
    }
    switch (e.keyword) {
      case 'type': {
        if (explainedElsewhere(e.instancePath)) break;
        const types = ([] as string[]).concat(e.params['type'] as string | string[]);
        const list = typeExpectations.get(e.instancePath) ?? [];
        list.push(...types.map((t) => TYPE_NAMES[t] ?? t));
        typeExpectations.set(e.instancePath, list);
        break;
      }
      case 'additionalProperties': {
        const key = String(e.params['additionalProperty']);
        const hint = KEY_HINTS[key];
        const where = path.length === 0 ? 'top-level key' : 'key';
        if (path.length === 1 && path[0] === 'services') {
          // docker-compose's own words for a name outside the schema's pattern.
          push([...path, key], `invalid service name ${JSON.stringify(key)}: only [a-zA-Z0-9._-] characters are allowed`);
        } else push([...path, key], `unsupported ${where} '${key}'${hint ? ` (did you mean '${hint}'?)` : ''}`);
        break;
      }
      case 'required':
        push(path, `'${String(e.params['missingProperty'])}' is required`);
        break;
      case 'enum': {
        const allowed = (e.params['allowedValues'] as unknown[]).map((v) => String(v));
        push(path, `'${String(valueAt(data, path))}' is not allowed; use ${joinAlternatives(allowed)}`);
        break;
      }
      case 'const':
        push(path, `must be ${JSON.stringify(e.params['allowedValue'])}`);
        break;
      case 'uniqueItems':
        push(path, `has duplicate items (entries ${String(e.params['j'])} and ${String(e.params['i'])} are the same)`);
        break;
      case 'minimum':
      case 'maximum':
      case 'exclusiveMinimum':
      case 'exclusiveMaximum':
        push(path, `must be ${String(e.params['comparison'])} ${String(e.params['limit'])}`);
        break;
      case 'minLength':
        push(path, 'must not be empty');
        break;
      case 'pattern':
        push(path, `'${String(valueAt(data, path))}' is not a valid name`);
        break;
      case 'dependencies':
      case 'dependentRequired':
        push(path, `'${String(e.params['property'])}' also needs '${String(e.params['missingProperty'])}'`);
        break;
      default:
        push(path, e.message ?? `is invalid (${e.keyword})`);
    }
  }
  for (const [pointer, types] of typeExpectations) {
    const path = decodePointer(pointer, data);
    push(path, `must be ${joinAlternatives(types)}, not ${describe(valueAt(data, path))}`);
  }
  return problems;
}
