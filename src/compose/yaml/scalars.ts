/**
 * Plain-scalar resolution as PyYAML's SafeLoader does it (YAML 1.1), which is what docker-compose
 * 1.29.2 reads Compose files with. The `yaml` package's own 1.1 schema differs in ways that change
 * real files: it reads `y`/`n` as booleans, `1e3` as a number and `08` as 8; PyYAML keeps all
 * three as strings.
 */
import type { ScalarTag } from 'yaml';

/** A YAML float whose value is integral (`1.0`): JSON Schema draft 4 does not count it as an integer. */
export class YamlFloat {
  constructor(readonly value: number) {}
}

/** A YAML 1.1 timestamp (`2020-01-01`): PyYAML makes it a date, so it is not a string. */
export class YamlTimestamp {
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

export function resolveFloat(source: string): number | YamlFloat {
  const [sign, text] = splitSign(source.toLowerCase());
  let value: number;
  if (text === '.inf') value = Infinity;
  else if (text === '.nan') value = NaN;
  else if (text.includes(':')) value = sexagesimal(text);
  else value = Number(text);
  value *= sign;
  return Number.isInteger(value) ? new YamlFloat(value) : value;
}

export function resolveBool(text: string): boolean {
  return /^(?:yes|true|on)$/i.test(text);
}

const CORE = 'tag:yaml.org,2002:';

const implicit: ScalarTag[] = [
  { tag: `${CORE}null`, default: true, test: NULL, resolve: () => null },
  { tag: `${CORE}bool`, default: true, test: BOOL, resolve: resolveBool },
  { tag: `${CORE}int`, default: true, test: INT, resolve: resolveInt },
  { tag: `${CORE}float`, default: true, test: FLOAT, resolve: resolveFloat },
  { tag: `${CORE}timestamp`, default: true, test: TIMESTAMP, resolve: (s: string) => new YamlTimestamp(s) },
];

/** Explicitly tagged scalars (`!!str 5`, `!!float 1`) resolve by tag name alone, without the pattern test. */
const explicit: ScalarTag[] = [
  { tag: `${CORE}str`, resolve: (s: string) => s },
  ...implicit.map((t) => ({ ...t, default: false, test: undefined })),
];

export const pyyamlScalarTags: ScalarTag[] = [...explicit, ...implicit];
