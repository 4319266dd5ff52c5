import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandDotenv, parseDotenv, parseRawDotenv } from '../../src/compose/dotenv.js';

const values = (text: string, outside: Record<string, string> = {}) =>
  Object.fromEntries(expandDotenv(parseDotenv(text).entries, outside));

test('the python-dotenv rules docker-compose users write against', () => {
  const text = [
    'PLAIN=plain',
    'QUOTED="double quoted # not comment"',
    "SQ='single $PLAIN'",
    'INLINE=value # comment',
    'HASH=abc#123',
    'export EXPORTED=yes',
    'EMPTY=',
    'SPACES =  spaced  ',
    'ESC="a \\"b\\" \\t c"',
    "SQESC='it\\'s \\n raw'",
    'MULTI="line1',
    'line2"',
    'BARE',
    '# comment line',
    '',
  ].join('\n');
  assert.deepEqual(values(text), {
    PLAIN: 'plain',
    QUOTED: 'double quoted # not comment',
    SQ: 'single $PLAIN',
    INLINE: 'value',
    HASH: 'abc#123',
    EXPORTED: 'yes',
    EMPTY: '',
    SPACES: 'spaced',
    ESC: 'a "b" \t c',
    SQESC: "it's \\n raw",
    MULTI: 'line1\nline2',
    BARE: null,
  });
});

test('${VAR} and ${VAR:-default} expand from earlier keys, then the environment', () => {
  const text = 'A=1\nB=${A}-${OUT}\nC=${NOPE:-dflt}\nD=${OUT:-x}\nE=$A\n';
  assert.deepEqual(values(text, { OUT: 'o', A: 'shell' }), { A: '1', B: '1-o', C: 'dflt', D: 'o', E: '$A' });
});

test('a byte-order mark is ignored and CRLF line ends work', () => {
  assert.deepEqual(values('\ufeffA=1\r\nB=2\r\n'), { A: '1', B: '2' });
});

test('unparseable lines are reported and skipped', () => {
  const parsed = parseDotenv('A=1\n=oops\nB=2\n');
  assert.deepEqual(parsed.badLines, [2]);
  assert.deepEqual(parsed.entries.map((e) => e.key), ['A', 'B']);
});

test('format: raw takes each KEY=VALUE line as written', () => {
  const raw = parseRawDotenv('# c\r\nA="q ${X}"\r\n\n  B = 1 \nC\nD=x=y');
  assert.deepEqual([...raw], [['A', '"q ${X}"'], ['B', ' 1 '], ['C', null], ['D', 'x=y']]);
});
