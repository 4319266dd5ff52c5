/**
 * Plain-scalar resolution as PyYAML's SafeLoader does it (YAML 1.1), which is what docker-compose
 * 1.29.2 reads Compose files with. Both YAML libraries Flotilla uses get these rules: js-yaml reads
 * every file (fast), the `yaml` package re-reads a file only to point an error at a line.
 * Their own defaults differ from PyYAML in ways that change real files: `y`/`n` as booleans,
 * `1e3` as a number, `08` as 8, `yes` as a string; PyYAML keeps the first three as strings and
 * makes `yes` true.
 */
import jsyaml from 'js-yaml';
import type { ScalarTag } from 'yaml';

/** A float written with an integral value (`1.0`): JSON Schema draft 4 does not count it as an integer. */
export class YamlFloat {
  // js-yaml turns a key whose class is plain Object into "[object Object]"; a tag makes it call toString().
  readonly [Symbol.toStringTag] = 'YamlFloat';
  constructor(readonly value: number) {}
  toString(): string {
    return String(this.value);
  }
}

/** A YAML 1.1 timestamp (`2020-01-01`): PyYAML makes it a date, so it is not a string. */
export class YamlTimestamp {
  readonly [Symbol.toStringTag] = 'YamlTimestamp';
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const BOOL = /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/;
const NULL = /^(?:~|null|Null|NULL|)$/;
const INT =
  /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/;
const FLOAT =
  /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
const TIMESTAMP =
  /^(?:[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)$/;

/** "1:30" is 90: each colon-separated part is a base-60 digit. */
function sexagesimal(text: string): number {
  return text.split(':').reduce((acc, part) => acc * 60 + Number(part), 0);
}

function splitSign(source: string): [number, string] {
  const text = source.replace(/_/g, '');
  if (text.startsWith('-')) return [-1, text.slice(1)];
  if (text.startsWith('+')) return [1, text.slice(1)];
  return [1, text];
}

export function resolveInt(source: string): number {
  const [sign, text] = splitSign(source);
  if (text.startsWith('0b')) return sign * parseInt(text.slice(2), 2);
  if (text.startsWith('0x')) return sign * parseInt(text.slice(2), 16);
  if (text.length > 1 && text.startsWith('0')) return sign * parseInt(text.slice(1), 8);
  if (text.includes(':')) return sign * sexagesimal(text);
  return sign * Number(text);
}

/** How many integral floats were made since the counter was last read (see takeIntegralFloatCount). */
let integralFloatCount = 0;

export function takeIntegralFloatCount(): number {
  const n = integralFloatCount;
  integralFloatCount = 0;
  return n;
}

export function resolveFloat(source: string): number | YamlFloat {
  const [sign, text] = splitSign(source.toLowerCase());
  let value: number;
  if (text === '.inf') value = Infinity;
  else if (text === '.nan') value = NaN;
  else if (text.includes(':')) value = sexagesimal(text);
  else value = Number(text);
  value *= sign;
  if (!Number.isInteger(value)) return value;
  integralFloatCount++;
  return new YamlFloat(value);
}

export function resolveBool(text: string): boolean {
  return /^(?:yes|true|on)$/i.test(text);
}

const CORE = 'tag:yaml.org,2002:';

interface ScalarRule {
  name: string;
  test: RegExp;
  /** The characters a match can start with ("" for the empty string): most scalars fail this cheap test. */
  starts: string;
  resolve: (text: string) => unknown;
}

const DIGITS = '0123456789';
const RULES: ScalarRule[] = [
  { name: 'null', test: NULL, starts: '~nN', resolve: () => null },
  { name: 'bool', test: BOOL, starts: 'yYnNtTfFoO', resolve: resolveBool },
  { name: 'int', test: INT, starts: `-+${DIGITS}`, resolve: resolveInt },
  { name: 'float', test: FLOAT, starts: `-+.${DIGITS}`, resolve: resolveFloat },
  { name: 'timestamp', test: TIMESTAMP, starts: DIGITS, resolve: (s) => new YamlTimestamp(s) },
];

function mayMatch(rule: ScalarRule, text: string): boolean {
  return text === '' ? rule.test.test('') : rule.starts.includes(text.charAt(0)) && rule.test.test(text);
}

// js-yaml exports its built-in types at run time; @types/js-yaml does not declare them.
const mergeType = (jsyaml as unknown as { types: { merge: jsyaml.Type } }).types.merge;

/**
 * The schema js-yaml reads Compose files with: PyYAML's implicit types and `<<` merge keys. An
 * explicitly tagged scalar (`!!float 1`) is resolved by its tag alone: the explicit types, which
 * accept any text, are registered after the implicit ones and so win js-yaml's lookup by tag.
 */
export const pyyamlSchema = jsyaml.FAILSAFE_SCHEMA.extend({
  implicit: [
    ...RULES.map(
      (r) =>
        new jsyaml.Type(CORE + r.name, {
          kind: 'scalar',
          resolve: (data: string | null) => mayMatch(r, data ?? ''),
          construct: (data: string | null) => r.resolve(data ?? ''),
        }),
    ),
    mergeType,
  ],
  explicit: RULES.map(
    (r) => new jsyaml.Type(CORE + r.name, { kind: 'scalar', resolve: () => true, construct: (data: string | null) => r.resolve(data ?? '') }),
  ),
});

/** The same rules for the `yaml` package: pattern-tested for plain scalars, by name for `!!tags`. */
export const pyyamlScalarTags: ScalarTag[] = [
  { tag: `${CORE}str`, resolve: (s: string) => s },
  ...RULES.map((r) => ({ tag: CORE + r.name, resolve: r.resolve })),
  ...RULES.map((r) => ({ tag: CORE + r.name, default: true, test: r.test, resolve: r.resolve })),
];

/** A mapping key as js-yaml spells it (String() of the resolved scalar): `yes:` is "true", `~:` "null". */
export function keyString(key: unknown): string {
  return key === null || key === undefined ? 'null' : String(key);
}

/** Whether a key, as read, may have been written as a non-string scalar (`1:`, `yes:`, `~:`). */
export function mayBeNonStringKey(key: string): boolean {
  return key === 'null' || key === 'true' || key === 'false' || RULES.some((r) => r.name !== 'null' && r.test.test(key)) || NULL.test(key);
}
