import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readYaml, MAX_NODES } from '../../src/compose/yaml/read.js';
import { ConfigError } from '../../src/errors.js';

const read = (text: string) => readYaml(text, '/p/compose.yml');

test('plain scalars resolve as PyYAML (YAML 1.1) does', () => {
  const v = read(
    'a: yes\nb: Off\nc: 0755\nd: 1:20\ne: 1e3\nf: 1.5e+3\ng: 08\nh: ~\ni: 12_000\nj: y\nk: 0x1F\nl: .5\nm: 3.\n',
  ).value;
  assert.deepEqual(v, { a: true, b: false, c: 493, d: 80, e: '1e3', f: 1500, g: '08', h: null, i: 12000, j: 'y', k: 31, l: 0.5, m: 3 });
});

test('explicit tags resolve by name', () => {
  assert.deepEqual(read('a: !!str 5\nb: !!float 1\nc: !!int "7"\n').value, { a: '5', b: 1, c: 7 });
});

test('integral floats are recorded, since JSON Schema draft 4 does not count 1.0 as an integer', () => {
  const f = read('services:\n  a:\n    scale: 1.0\n    cpus: 1.5\n');
  assert.deepEqual([...f.integralFloats], ['services.a.scale']);
});

test('timestamps are not strings', () => {
  const v = read('d: 2020-01-01\n').value as Record<string, unknown>;
  assert.notEqual(typeof v['d'], 'string');
});

test('keys written as non-string scalars are told apart from quoted ones', () => {
  const f = read('services:\n  1: {}\n  yes: {}\n  ~: {}\n  "2": {}\n  web: {}\n');
  const keys = Object.keys((f.value as Record<string, Record<string, unknown>>)['services'] ?? {});
  assert.deepEqual(keys.sort(), ['1', '2', 'null', 'true', 'web']);
  assert.deepEqual(keys.filter((k) => f.isNonStringKey(['services', k])), ['1', 'null', 'true']);
});

test('merge keys: explicit keys win, earlier merged mappings win over later ones', () => {
  const v = read('a: &a {x: 1, y: 1}\nb: &b {y: 2, z: 2}\nc:\n  <<: [*a, *b]\n  x: 3\n').value as Record<string, unknown>;
  assert.deepEqual(v['c'], { x: 3, y: 1, z: 2 });
});

test('duplicate keys: the last one wins', () => {
  assert.deepEqual(read('a: 1\na: 2\n').value, { a: 2 });
});

test('"__proto__" is an ordinary key', () => {
  const v = read('__proto__: {polluted: true}\n').value as Record<string, unknown>;
  assert.deepEqual(Object.keys(v), ['__proto__']);
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
});

function assertConfigError(fn: () => unknown, message: RegExp, line?: number): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    assert.match(e.message, message);
    if (line !== undefined) assert.equal(e.location?.line, line);
    return true;
  });
}

test('syntax errors carry file, line and column', () => {
  assertConfigError(() => read('services:\n  a:\n    image: [x\n'), /./, 4);
  assertConfigError(() => read('a:\n\t- b\n'), /[Tt]ab/, 2);
});

test('several documents, unknown tags and control characters are refused', () => {
  assertConfigError(() => read('a: 1\n---\nb: 2\n'), /single document/);
  assertConfigError(() => read('a: !reset 1\n'), /unknown tag !reset/, 1);
  // At the tag, not where js-yaml's mark falls (the end of the tagged node, here past the last line).
  assertConfigError(() => read('services:\n  a: !reset\n'), /unknown tag !reset/, 2);
  assertConfigError(() => read('a:\n  - 1\nb: !custom\n  c: 1\n  d: 2\n'), /unknown tag !custom/, 3);
  assertConfigError(() => read('a: 1\nb: "x\x01"\n'), /unacceptable character #x0001/, 2);
});

test('alias bombs are refused quickly', () => {
  let bomb = 'a: &a [x,x,x,x,x,x,x,x,x,x]\n';
  for (let i = 1; i < 10; i++) {
    const prev = String.fromCharCode(96 + i);
    const cur = String.fromCharCode(97 + i);
    bomb += `${cur}: &${cur} [${Array(10).fill(`*${prev}`).join(',')}]\n`;
  }
  const started = process.hrtime.bigint();
  assertConfigError(() => read(bomb), new RegExp(`more than ${MAX_NODES}`));
  // Not a timing assertion on performance: a bound that only an unbounded expansion would miss.
  assert.ok(process.hrtime.bigint() - started < 10_000_000_000n);
});

test('recursive aliases are refused', () => {
  assertConfigError(() => read('a: &a [*a]\n'), /recursive alias/);
});

test('locate points at keys, through merges, and falls back to the nearest ancestor', () => {
  const f = read('base: &b\n  image: x\nservices:\n  web:\n    <<: *b\n    ports:\n      - "80"\n');
  assert.deepEqual(f.locate(['services', 'web', 'ports', 0]), { line: 7, column: 9 });
  assert.deepEqual(f.locate(['services', 'web', 'image']), { line: 2, column: 3 });
  assert.deepEqual(f.locate(['services', 'web', 'nope']), { line: 4, column: 3 });
});

test("what PyYAML's scanner refuses: tabs between tokens, bad or repeated anchor names", () => {
  for (const [text, line] of [
    ['image: busybox\t\n', 1],
    ['a: b\t# comment\n', 1],
    ['command: echo\tx\n', 1],
    ['l:\n  -\tx\n', 2],
    ['a: [1,\t2]\n', 1],
  ] as const) {
    assertConfigError(() => read(text), /found character '\\t' that cannot start any token/, line);
  }
  assertConfigError(() => read('a: &default.env 1\n'), /expected alphabetic or numeric character, but found '\.'/, 1);
  assertConfigError(() => read('a: &x 1\nb: &x 2\n'), /duplicate anchor "x"/, 2);
  assertConfigError(() => read('cron: * * *\n'), /alias/, 1);
  // Tabs in quotes, comments and block scalars, and `*` inside a plain scalar, are fine.
  assert.deepEqual(read('a: "x\ty"\nb: c # d\te\nd: |\n  x\ty\ne: echo * foo\n').value, { a: 'x\ty', b: 'c', d: 'x\ty\n', e: 'echo * foo' });
});

test('a float key is spelled as its number, not "[object Object]"', () => {
  const labels = (read('labels:\n  1.0: b\n').value as Record<string, Record<string, unknown>>)['labels'] ?? {};
  assert.deepEqual(Object.keys(labels), ['1']);
});
