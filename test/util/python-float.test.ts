import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { pythonFloatRepr } from '../../src/util/python-float.js';

test("pythonFloatRepr writes Python's repr() of every float (compared with python3 itself)", (t) => {
  const values = [1, 0, -0, 0.00001, 1e-7, 1.5e16, 1e22, 0.1, 1.5, 123.456, 1e15, 1e16, 0.0001, 0.001, 12345678.9, -3.25, 1e300, 5e-324, 1 / 3];
  // Plus random values across magnitudes (seeded, so a failure reproduces).
  let seed = 42;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let i = 0; i < 2000; i++) values.push((rand() - 0.5) * 10 ** Math.floor(rand() * 40 - 20));
  const r = spawnSync('/usr/bin/python3', ['-c', 'import json,sys; print(json.dumps([repr(float(x)) for x in json.load(sys.stdin)]))'], {
    input: JSON.stringify(values.map((v) => (Object.is(v, -0) ? '-0.0' : String(v)))),
    encoding: 'utf8',
  });
  if (r.error) return t.skip('/usr/bin/python3 is not available');
  assert.deepEqual(values.map(pythonFloatRepr), JSON.parse(r.stdout));
});
