/**
 * A small block-style YAML emitter for plain data (what `config` prints). Keys are sorted, as
 * docker-compose prints them. A string is written plain only when every YAML reader (1.1 as
 * PyYAML, 1.2 core) reads it back as that same string; otherwise it is double-quoted with JSON
 * escapes, which YAML accepts as they are.
 */

// Plain scalars that a YAML 1.1 or 1.2 reader would turn into something other than a string.
const AMBIGUOUS = [
  /^(?:~|null|Null|NULL|)$/,
  /^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/,
  /^[-+]?(?:0b[0-1_]+|0o?[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*(?::[0-5]?[0-9])*)$/,
  /^[-+]?(?:[0-9][0-9_]*)?\.?[0-9_]*(?:[eE][-+]?[0-9]+)?$/,
  /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*$/,
  /^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$/,
  /^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}/,
  /^(?:<<|=)$/,
];

// Characters that may start a plain scalar, and what may follow, conservatively.
const SAFE_PLAIN = /^[A-Za-z0-9_./$^()+=\\~][A-Za-z0-9_./$%^&()+=\\~ :@,;'"!?*<>{}[\]|`-]*$/;

// Most keys and many values are words or paths: when a string starts with a letter other than
// e/E (which could begin a float such as "e5") or "/" and holds only [A-Za-z0-9_./-], none of the
// patterns above can match except a keyword. Checked first, it saves the eight tests.
const WORDLIKE = /^[A-DF-Za-df-z/][A-Za-z0-9_./-]*$/;
const KEYWORDS = new Set(
  'null Null NULL y Y yes Yes YES n N no No NO true True TRUE false False FALSE on On ON off Off OFF'.split(' '),
);

function needsQuotes(s: string): boolean {
  if (WORDLIKE.test(s)) return KEYWORDS.has(s);
  if (!SAFE_PLAIN.test(s)) return true;
  if (s.endsWith(' ') || s.endsWith(':') || s.includes(': ') || s.includes(' #')) return true;
  if (/[{}[\],]/.test(s)) return true;
  return AMBIGUOUS.some((re) => re.test(s));
}

export function yamlString(s: string): string {
  return needsQuotes(s) ? JSON.stringify(s) : s;
}

function scalar(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return '.nan';
    if (!Number.isFinite(v)) return v > 0 ? '.inf' : '-.inf';
    return String(v);
  }
  if (typeof v === 'string') return yamlString(v);
  return yamlString(String(v));
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
}

function emit(v: unknown, indent: string, out: string[]): void {
  if (isMapping(v)) {
    for (const key of Object.keys(v).sort()) {
      const child = v[key];
      const k = yamlString(key);
      if (k.length > 1024) {
        // An implicit key is limited to 1024 characters; longer ones are written "? key : value".
        out.push(`${indent}? ${k}`);
        if ((isMapping(child) && Object.keys(child).length > 0) || (Array.isArray(child) && child.length > 0)) {
          out.push(`${indent}:`);
          emit(child, `${indent}  `, out);
        } else {
          out.push(`${indent}: ${inline(child)}`);
        }
        continue;
      }
      if (isMapping(child) && Object.keys(child).length > 0) {
        out.push(`${indent}${k}:`);
        emit(child, `${indent}  `, out);
      } else if (Array.isArray(child) && child.length > 0) {
        out.push(`${indent}${k}:`);
        emit(child, indent, out);
      } else {
        out.push(`${indent}${k}: ${inline(child)}`);
      }
    }
    return;
  }
  if (Array.isArray(v)) {
    for (const item of v) {
      if ((isMapping(item) && Object.keys(item).length > 0) || (Array.isArray(item) && item.length > 0)) {
        // Written one level deeper, then its first line gets the dash.
        const first = out.length;
        emit(item, `${indent}  `, out);
        out[first] = `${indent}- ${(out[first] as string).slice(indent.length + 2)}`;
      } else {
        out.push(`${indent}- ${inline(item)}`);
      }
    }
    return;
  }
  out.push(`${indent}${scalar(v)}`);
}

function inline(v: unknown): string {
  if (isMapping(v)) return '{}';
  if (Array.isArray(v)) return '[]';
  return scalar(v);
}

/** YAML text of `value` (a mapping, list or scalar), ending with a newline. */
export function toYaml(value: unknown): string {
  const out: string[] = [];
  emit(value, '', out);
  return `${out.join('\n')}\n`;
}
