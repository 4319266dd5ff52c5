/**
 * Reads one YAML document into plain values the way PyYAML's safe_load does (so docker-compose and
 * Flotilla see the same data), and can point any key path at its line and column.
 *
 * - scalars resolve with YAML 1.1 rules (./scalars.ts);
 * - `<<` merge keys follow YAML 1.1: explicit keys win, earlier merged mappings win over later ones;
 * - duplicate keys: the last one wins (PyYAML does not reject them);
 * - aliases are expanded, but a document that expands past MAX_NODES values is refused (alias bombs);
 * - `!reset`/`!override` are read only with `tags` (version-less files; see takeTags);
 * - unknown tags, several documents and characters YAML forbids are errors, as in PyYAML, and so
 *   are tabs between tokens and anchor names PyYAML's scanner refuses (./pyyaml-lexical.ts).
 *
 * Values come from js-yaml, which is fast. Positions come from the `yaml` package's syntax tree,
 * built only when something asks for one (an error message), so a valid file never pays for it.
 */
import { setOwn } from '../../util/own.js';
import jsyaml from 'js-yaml';
import { createRequire } from 'node:module';
import type { Document, LineCounter, Node as YamlNode, Pair, YAMLMap } from 'yaml';
import { ConfigError, formatKeyPath } from '../../errors.js';
import { pyyamlLexicalProblem } from './pyyaml-lexical.js';
import { keyString, mayBeNonStringKey, pyyamlScalarTags, pyyamlSchema, takeIntegralFloatCount, YamlFloat, YamlTimestamp } from './scalars.js';

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
  /** Whether the last key of `path` was written as a non-string scalar (`1:`, `yes:`), not a string. */
  isNonStringKey(path: KeyPath): boolean;
  /** Where a key path is written; the nearest existing ancestor if the path is not in the file. */
  locate(path: KeyPath): Position | undefined;
  /**
   * With `tags`: the key paths written `!reset` (removed from `value`) or `!override` (kept), in
   * document order: what earlier files defined there is dropped before this file is merged.
   */
  readonly resetPaths: readonly KeyPath[];
}

export interface ReadOptions {
  /** Accept the Compose Specification's `!reset` and `!override` tags (version-less files). */
  tags?: boolean;
}

/** A value written with `!reset` or `!override`, until the tags are taken off (see takeTags). */
class Tagged {
  constructor(
    readonly reset: boolean,
    readonly value: unknown,
  ) {}
}

const TAGGED_KINDS = ['scalar', 'sequence', 'mapping'] as const;
const specSchema = pyyamlSchema.extend(
  TAGGED_KINDS.flatMap((kind) =>
    (['reset', 'override'] as const).map(
      (name) => new jsyaml.Type(`!${name}`, { kind, construct: (data: unknown) => new Tagged(name === 'reset', data ?? null) }),
    ),
  ),
);

/** A document that expands past this many values through aliases is refused. */
export const MAX_NODES = 1_000_000;

// YAML forbids these characters anywhere in a stream (PyYAML: "unacceptable character").
// eslint-disable-next-line no-control-regex
const FORBIDDEN_CHARS = /[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x84\x86-\x9F\uFFFE\uFFFF]/;

export function readYaml(text: string, file: string, options: ReadOptions = {}): YamlFile {
  const forbidden = FORBIDDEN_CHARS.exec(text);
  if (forbidden) {
    const code = forbidden[0].charCodeAt(0).toString(16).padStart(4, '0');
    throw new ConfigError(`unacceptable character #x${code}: special characters are not allowed`, {
      file,
      ...offsetPosition(text, forbidden.index),
    });
  }
  const lexical = pyyamlLexicalProblem(text);
  if (lexical) throw new ConfigError(lexical.message, { file, line: lexical.line, column: lexical.column });
  let raw: unknown;
  takeIntegralFloatCount();
  try {
    // An empty document is null, as in PyYAML (js-yaml says undefined).
    raw = jsyaml.load(text, { schema: options.tags ? specSchema : pyyamlSchema, json: true, filename: file }) ?? null;
  } catch (e) {
    if (e instanceof jsyaml.YAMLException) {
      // js-yaml marks an unknown tag at the end of its node (past the last line for `a: !x` at the
      // end of a file); the tag as written, found back from there, is where the user looks.
      const tag = e.mark ? /unknown tag !<(.*)>/.exec(e.reason)?.[1] : undefined;
      const at = tag !== undefined && e.mark ? text.lastIndexOf(tag, e.mark.position) : -1;
      const where = at >= 0 ? offsetPosition(text, at) : e.mark ? { line: e.mark.line + 1, column: e.mark.column + 1 } : {};
      throw new ConfigError(cleanMessage(e.reason), { file, ...where });
    }
    throw e;
  }
  const resetPaths: KeyPath[] = [];
  if (options.tags && (text.includes('!reset') || text.includes('!override'))) raw = takeTags(raw, [], resetPaths, 0);
  const integralFloats = new Set<string>();
  // Without an alias (`*name`) nothing is shared, and without an integral float nothing needs
  // unwrapping: the common case skips both walks.
  const mayHaveAliases = text.includes('*');
  if (mayHaveAliases) checkExpandedSize(raw, file);
  const value = mayHaveAliases || takeIntegralFloatCount() > 0 ? materialise(raw, [], integralFloats) : raw;
  let tree: SyntaxTree | undefined;
  const syntax = () => (tree ??= parseSyntaxTree(text));
  return {
    file,
    value,
    integralFloats,
    resetPaths,
    isNonStringKey: (path) => {
      const last = path[path.length - 1];
      if (typeof last !== 'string' || !mayBeNonStringKey(last)) return false;
      const pair = findNode(syntax(), path)?.pair;
      const key = pair?.key as YamlNode | null | undefined;
      return isScalar(key) && key.type === 'PLAIN' && typeof key.value !== 'string';
    },
    locate: (path) => {
      const t = syntax();
      const found = findNode(t, path);
      if (found?.offset === undefined) return undefined;
      const p = t.lines.linePos(found.offset);
      return { line: p.line, column: p.col };
    },
  };
}

/**
 * `v` without its tags, as compose-go's ResetProcessor reads them (loader/reset.go): a `!reset`
 * entry leaves its mapping (or sequence), an `!override` one stays; both paths are noted. Shared
 * (aliased) values are copied where a tag is taken off inside them.
 */
function takeTags(v: unknown, path: (string | number)[], out: KeyPath[], depth: number): unknown {
  if (depth > 10_000) return v;
  if (v instanceof Tagged) {
    out.push([...path]);
    return v.reset ? v : takeTags(v.value, path, out, depth + 1);
  }
  if (Array.isArray(v)) {
    const items: unknown[] = [];
    v.forEach((item, i) => {
      const taken = takeTags(item, [...path, i], out, depth + 1);
      if (!(taken instanceof Tagged)) items.push(taken);
    });
    return items;
  }
  if (isPlainObject(v)) {
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(v)) {
      const taken = takeTags(v[k], [...path, k], out, depth + 1);
      if (taken instanceof Tagged) continue;
      setOwn(o, k, taken);
    }
    return o;
  }
  return v;
}

function cleanMessage(reason: string): string {
  if (/expected a single document/.test(reason)) return 'expected a single document in the stream, found several';
  const tag = /unknown tag !<(.*)>/.exec(reason);
  if (tag) return `unknown tag ${tag[1]}: Compose files use plain YAML without custom tags`;
  return reason;
}

function offsetPosition(text: string, offset: number): Position {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof YamlTimestamp) && !(v instanceof YamlFloat) && !(v instanceof Tagged);
}

/**
 * js-yaml shares one object for an anchor and all its aliases; expanding them could still blow up
 * (the billion laughs), so the expanded size is computed first, memoised per shared object.
 */
function checkExpandedSize(root: unknown, file: string): void {
  const memo = new Map<object, number>();
  const inProgress = new Set<object>();
  const sizeOf = (v: unknown, depth: number): number => {
    if (typeof v !== 'object' || v === null) return 1;
    const known = memo.get(v);
    if (known !== undefined) return known;
    // An anchor whose own value uses its alias (`a: &a [*a]`) makes an endless structure.
    if (inProgress.has(v)) throw new ConfigError('recursive alias: an anchor refers to itself', { file });
    if (depth > 10_000) throw new ConfigError('document nests too deeply', { file });
    inProgress.add(v);
    let size = 1;
    if (Array.isArray(v)) for (const item of v) size += sizeOf(item, depth + 1);
    else if (isPlainObject(v)) for (const k in v) size += 1 + sizeOf(v[k], depth + 1);
    inProgress.delete(v);
    if (size > MAX_NODES) {
      throw new ConfigError(`document expands to more than ${MAX_NODES} values through aliases; refusing it`, { file });
    }
    memo.set(v, size);
    return size;
  };
  sizeOf(root, 0);
}

/** An unshared copy (aliases expanded), with integral floats turned into numbers and their paths noted. */
function materialise(v: unknown, path: (string | number)[], integralFloats: Set<string>): unknown {
  if (v instanceof YamlFloat) {
    integralFloats.add(formatKeyPath(path));
    return v.value;
  }
  if (Array.isArray(v)) {
    const out = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) {
      path.push(i);
      out[i] = materialise(v[i], path, integralFloats);
      path.pop();
    }
    return out;
  }
  if (isPlainObject(v)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v)) {
      path.push(k);
      const item = materialise(v[k], path, integralFloats);
      path.pop();
      setOwn(out, k, item);
    }
    return out;
  }
  return v;
}

// ---- positions -----------------------------------------------------------------------------------

// The `yaml` package is loaded only when an error needs a position: a valid run never pays for it.
type YamlModule = typeof import('yaml');
let yamlModule: YamlModule | undefined;
function yamlLib(): YamlModule {
  yamlModule ??= createRequire(import.meta.url)('yaml') as YamlModule;
  return yamlModule;
}
const isAlias = (n: unknown) => yamlLib().isAlias(n);
const isMap = (n: unknown) => yamlLib().isMap(n);
const isScalar = (n: unknown) => yamlLib().isScalar(n);
const isSeq = (n: unknown) => yamlLib().isSeq(n);

interface SyntaxTree {
  doc: Document;
  lines: LineCounter;
}

function parseSyntaxTree(text: string): SyntaxTree {
  const { LineCounter: Lines, parseDocument } = yamlLib();
  const lines = new Lines();
  const doc = parseDocument(text, {
    version: '1.1',
    customTags: () => pyyamlScalarTags,
    merge: false,
    uniqueKeys: false,
    lineCounter: lines,
  });
  return { doc, lines };
}

/** The node at `path` (keys via their key position), or the nearest ancestor that exists. */
function findNode(tree: SyntaxTree, path: KeyPath): { offset: number | undefined; pair?: Pair } | undefined {
  const { doc } = tree;
  let node: unknown = doc.contents;
  let best: { offset: number | undefined; pair?: Pair } = { offset: (node as YamlNode | null)?.range?.[0] };
  for (const seg of path) {
    node = deref(doc, node);
    if (typeof seg === 'number') {
      if (!isSeq(node)) return best;
      node = node.items[seg];
      const start = (node as YamlNode | undefined)?.range?.[0];
      if (start === undefined) return best;
      best = { offset: start };
      continue;
    }
    if (!isMap(node)) return best;
    const pair = findPair(doc, node, seg, 0);
    if (!pair) return best;
    best = { offset: (pair.key as YamlNode | null)?.range?.[0] ?? best.offset, pair };
    node = pair.value;
  }
  return best;
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
    if (kv === '<<' && isScalar(k) && k.type === 'PLAIN') merges.push(pair.value);
    else if (keyString(kv) === key) found = pair;
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
