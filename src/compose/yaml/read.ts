/**
 * Reads one YAML document into plain values the way PyYAML's safe_load does (so docker-compose and
 * Flotilla see the same data), and keeps the syntax tree to point errors at a line and column.
 *
 * - scalars resolve with YAML 1.1 rules (./scalars.ts); mapping keys that are not strings become
 *   Python's str() of the value ("True", "None", "1.0"), as docker-compose's keys_to_str does;
 * - `<<` merge keys follow YAML 1.1: explicit keys win, earlier merged mappings win over later ones;
 * - duplicate keys: the last one wins (PyYAML does not reject them);
 * - aliases are expanded, but a document that expands past MAX_NODES values is refused (alias bombs);
 * - unknown tags, multiple documents and characters YAML forbids are errors, as in PyYAML.
 */
import {
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Document,
  type Node as YamlNode,
  type Pair,
  type YAMLMap,
} from 'yaml';
import { ConfigError, formatKeyPath } from '../../errors.js';
import { pyyamlScalarTags, YamlFloat, YamlTimestamp } from './scalars.js';

export type KeyPath = readonly (string | number)[];

export interface Position {
  line: number;
  column: number;
}

export interface YamlFile {
  /** Absolute path, or "-" for standard input. */
  readonly file: string;
  readonly value: unknown;
  /** Key paths (formatKeyPath) whose value was written as a float with an integral value, e.g. `1.0`. */
  readonly integralFloats: ReadonlySet<string>;
  /** Key paths of mappings keys that were not strings in the source (`1:`, `yes:`), with their original value. */
  readonly nonStringKeys: ReadonlyMap<string, unknown>;
  /** Where a key path is written; the nearest existing ancestor if the path is not in the file. */
  locate(path: KeyPath): Position | undefined;
}

/** A document that expands past this many values through aliases is refused. */
export const MAX_NODES = 1_000_000;

const CORE = 'tag:yaml.org,2002:';
const KNOWN_TAGS = new Set(['str', 'int', 'float', 'bool', 'null', 'timestamp', 'map', 'seq'].map((t) => CORE + t));

// YAML forbids these characters anywhere in a stream (PyYAML: "unacceptable character").
// eslint-disable-next-line no-control-regex
const FORBIDDEN_CHARS = /[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x84\x86-\x9F\uFFFE\uFFFF]/;

export function readYaml(text: string, file: string): YamlFile {
  const lineCounter = new LineCounter();
  const forbidden = FORBIDDEN_CHARS.exec(text);
  if (forbidden) {
    const pos = offsetPosition(text, forbidden.index);
    const code = forbidden[0].charCodeAt(0).toString(16).padStart(4, '0');
    throw new ConfigError(`unacceptable character #x${code}: special characters are not allowed`, {
      file,
      ...pos,
    });
  }
  const doc = parseDocument(text, {
    version: '1.1',
    customTags: () => pyyamlScalarTags,
    merge: false,
    uniqueKeys: false,
    lineCounter,
    prettyErrors: false,
    strict: true,
  });
  const problem = doc.errors[0] ?? doc.warnings.find((w) => w.code === 'TAG_RESOLVE_FAILED');
  if (problem) {
    const pos = lineCounter.linePos(problem.pos[0]);
    throw new ConfigError(cleanYamlMessage(problem.message), { file, line: pos.line, column: pos.col });
  }
  const builder = new Builder(doc, file, lineCounter);
  builder.checkExpandedSize(doc.contents);
  const value = builder.build(doc.contents, []);
  return {
    file,
    value,
    integralFloats: builder.integralFloats,
    nonStringKeys: builder.nonStringKeys,
    locate: (path) => locate(doc, lineCounter, path),
  };
}

function cleanYamlMessage(message: string): string {
  const first = (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '').replace(/\.$/, '');
  if (first.startsWith('Source contains multiple documents')) return 'expected a single document in the stream, found several';
  const tag = /^Unresolved tag: (.*)$/.exec(first);
  if (tag) return `unknown tag ${tag[1]}: Compose files use plain YAML without custom tags`;
  return first;
}

function offsetPosition(text: string, offset: number): Position {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, column: offset - start + 1 };
}

/** Python's str() of a scalar key, which is what docker-compose compares keys with. */
export function pythonKeyString(key: unknown): string {
  if (typeof key === 'string') return key;
  if (key === null || key === undefined) return 'None';
  if (key === true) return 'True';
  if (key === false) return 'False';
  if (key instanceof YamlFloat) return `${key.value}.0`;
  if (typeof key === 'number') {
    if (Number.isNaN(key)) return 'nan';
    if (!Number.isFinite(key)) return key > 0 ? 'inf' : '-inf';
    return String(key);
  }
  return String(key);
}

class Builder {
  readonly integralFloats = new Set<string>();
  readonly nonStringKeys = new Map<string, unknown>();
  private nodes = 0;
  private readonly doc: Document;
  private readonly file: string;
  private readonly lineCounter: LineCounter;
  /** Aliases currently being expanded, to refuse recursive anchors. */
  private readonly expanding = new Set<YamlNode>();

  constructor(doc: Document, file: string, lineCounter: LineCounter) {
    this.doc = doc;
    this.file = file;
    this.lineCounter = lineCounter;
  }

  private fail(message: string, node: YamlNode | null | undefined): never {
    const offset = node?.range?.[0];
    const pos = offset === undefined ? undefined : this.lineCounter.linePos(offset);
    throw new ConfigError(message, pos ? { file: this.file, line: pos.line, column: pos.col } : { file: this.file });
  }

  /**
   * Refuses alias bombs before expanding anything: the size of each node once aliases are expanded,
   * memoised per node, so the check is linear in the size of the syntax tree.
   */
  checkExpandedSize(root: unknown): void {
    const memo = new Map<unknown, number>();
    const sizeOf = (node: unknown, depth: number): number => {
      if (node === null || node === undefined) return 1;
      const known = memo.get(node);
      if (known !== undefined) return known;
      if (depth > 10_000) this.fail('document nests too deeply', node as YamlNode);
      memo.set(node, 1); // a recursive alias counts once here; build() reports it
      let size = 1;
      if (isAlias(node)) size = sizeOf(node.resolve(this.doc), depth + 1);
      else if (isSeq(node)) for (const item of node.items) size += sizeOf(item, depth + 1);
      else if (isMap(node)) for (const pair of node.items) size += sizeOf(pair.key, depth + 1) + sizeOf(pair.value, depth + 1);
      if (size > MAX_NODES) {
        this.fail(`document expands to more than ${MAX_NODES} values through aliases; refusing it`, node as YamlNode);
      }
      memo.set(node, size);
      return size;
    };
    sizeOf(root, 0);
  }

  private count(node: YamlNode | null | undefined): void {
    if (++this.nodes > MAX_NODES) {
      this.fail(`document expands to more than ${MAX_NODES} values through aliases; refusing it`, node);
    }
  }

  build(node: unknown, path: (string | number)[]): unknown {
    if (node === null || node === undefined) return null;
    const n = node as YamlNode;
    this.count(n);
    if (isAlias(n)) {
      const target = n.resolve(this.doc);
      if (!target) this.fail(`found undefined alias ${n.source}`, n);
      if (this.expanding.has(target)) this.fail(`recursive alias ${n.source}`, n);
      this.expanding.add(target);
      try {
        return this.build(target, path);
      } finally {
        this.expanding.delete(target);
      }
    }
    if (n.tag && !KNOWN_TAGS.has(n.tag) && !(isMap(n) && n.tag === `${CORE}set`)) {
      this.fail(`could not determine a constructor for the tag '${n.tag}'`, n);
    }
    if (isScalar(n)) {
      const v = n.value;
      if (v instanceof YamlFloat) {
        this.integralFloats.add(formatKeyPath(path));
        return v.value;
      }
      return v === undefined ? null : v;
    }
    if (isSeq(n)) {
      const out: unknown[] = [];
      n.items.forEach((item, i) => {
        out.push(this.build(item, [...path, i]));
      });
      return out;
    }
    if (isMap(n)) return this.buildMap(n, path);
    return this.fail('unsupported YAML node', n);
  }

  private buildMap(map: YAMLMap, path: (string | number)[]): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const merged: Record<string, unknown>[] = [];
    for (const pair of map.items) {
      if (!isPair(pair)) continue;
      const keyNode = pair.key as YamlNode | null;
      if (isScalar(keyNode) && keyNode.value === '<<' && keyNode.type === 'PLAIN') {
        merged.push(...this.mergeSources(pair, path));
        continue;
      }
      const rawKey = keyNode === null ? null : this.build(keyNode, path);
      if (rawKey !== null && typeof rawKey === 'object' && !(rawKey instanceof YamlTimestamp)) {
        this.fail('found unhashable key (a mapping or sequence used as a key)', keyNode);
      }
      const originalKey = isScalar(keyNode) && keyNode.value instanceof YamlFloat ? keyNode.value : rawKey;
      const key = pythonKeyString(originalKey);
      if (typeof rawKey !== 'string') this.nonStringKeys.set(formatKeyPath([...path, key]), rawKey);
      defineEntry(out, key, this.build(pair.value, [...path, key]));
    }
    // Explicit keys win over merged ones; among merged mappings the first one listed wins.
    for (const source of merged) {
      for (const [k, v] of Object.entries(source)) if (!Object.hasOwn(out, k)) defineEntry(out, k, v);
    }
    return out;
  }

  private mergeSources(pair: Pair, path: (string | number)[]): Record<string, unknown>[] {
    const valueNode = pair.value as YamlNode | null;
    const resolved = isAlias(valueNode) ? valueNode.resolve(this.doc) : valueNode;
    if (isMap(resolved) || isAlias(valueNode)) {
      const v = this.build(valueNode, path);
      if (!isPlainObject(v)) this.fail('expected a mapping for merging', valueNode);
      return [v];
    }
    if (isSeq(resolved)) {
      return resolved.items.map((item) => {
        const v = this.build(item, path);
        if (!isPlainObject(v)) this.fail('expected a mapping for merging', item as YamlNode);
        return v;
      });
    }
    return this.fail('expected a mapping or list of mappings for merging', valueNode);
  }
}

/** Sets a key without letting "__proto__" touch the prototype chain. */
function defineEntry(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof YamlTimestamp);
}

function locate(doc: Document, lc: LineCounter, path: KeyPath): Position | undefined {
  let node: unknown = doc.contents;
  let best: number | undefined = (node as YamlNode | null)?.range?.[0];
  for (const seg of path) {
    node = deref(doc, node);
    if (typeof seg === 'number') {
      if (!isSeq(node)) break;
      node = node.items[seg];
      const start = (node as YamlNode | undefined)?.range?.[0];
      if (start === undefined) break;
      best = start;
      continue;
    }
    if (!isMap(node)) break;
    const pair = findPair(doc, node, seg, 0);
    if (!pair) break;
    const keyStart = (pair.key as YamlNode | null)?.range?.[0];
    if (keyStart !== undefined) best = keyStart;
    node = pair.value;
  }
  if (best === undefined) return undefined;
  const p = lc.linePos(best);
  return { line: p.line, column: p.col };
}

function deref(doc: Document, node: unknown): unknown {
  return isAlias(node) ? node.resolve(doc) : node;
}

function findPair(doc: Document, map: YAMLMap, key: string, depth: number): Pair | undefined {
  if (depth > 20) return undefined;
  let found: Pair | undefined;
  const merges: unknown[] = [];
  for (const pair of map.items) {
    const k = pair.key as YamlNode | null;
    const kv = isScalar(k) ? k.value : null;
    if (kv === '<<') merges.push(pair.value);
    else if (pythonKeyString(kv instanceof YamlFloat ? kv : kv) === key) found = pair;
  }
  if (found) return found;
  for (const m of merges) {
    const target = deref(doc, m);
    const sources = isSeq(target) ? target.items.map((i) => deref(doc, i)) : [target];
    for (const s of sources) {
      if (isMap(s)) {
        const p = findPair(doc, s, key, depth + 1);
        if (p) return p;
      }
    }
  }
  return undefined;
}
