import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { pythonJsonDumps } from '../../src/util/python-json.js';

test("pythonJsonDumps quotes every UTF-16 code unit as Python's json.dumps does (compared with python3 itself)", (t) => {
  // Every code unit once, lone surrogates included, in one long string, plus a few short ones.
  let all = '';
  for (let c = 0; c < 0x10000; c++) all += String.fromCharCode(c);
  const strings = [all, '', 'plain', 'a"b\\c\n\t\u007f\u0080é😀', all.repeat(20)];
  // Python is given the code units as numbers, so lone surrogates survive the trip.
  const r = spawnSync(
    '/usr/bin/python3',
    ['-c', "import json,sys; print(json.dumps([json.dumps(''.join(map(chr, s)), sort_keys=True, separators=(',', ':')) for s in json.load(sys.stdin)]))"],
    { input: JSON.stringify(strings.map((s) => Array.from({ length: s.length }, (_, i) => s.charCodeAt(i)))), encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
  );
  if (r.error) return t.skip('/usr/bin/python3 is not available');
  assert.deepEqual(strings.map(pythonJsonDumps), JSON.parse(r.stdout));
});
