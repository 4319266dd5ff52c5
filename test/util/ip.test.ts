/** src/util/ip.ts answers as node:net's isIP does. */
import assert from 'node:assert/strict';
import { isIP as reference } from 'node:net';
import { test } from 'node:test';
import { isIP } from '../../src/util/ip.js';

const CASES = [
  '', '1.2.3.4', '0.0.0.0', '255.255.255.255', '256.1.1.1', '01.2.3.4', '1.2.3', '1.2.3.4.5', '1.2.3.4 ', ' 1.2.3.4',
  '::', '::1', '1::', 'fe80::1%eth0', 'fe80::1%', '::ffff:1.2.3.4', '2001:db8::8a2e:370:7334', '2001:0db8:0000:0000:0000:ff00:0042:8329',
  '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7::', '::2:3:4:5:6:7:8', '1::2::3', ':1:2', '1:2:', 'g::1', '12345::1',
  '1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:7:1.2.3.4', '::1.2.3.4', 'localhost', '[::1]', '1.2.3.4/24', '::/0', 'fe80::1%25eth0',
];

test('isIP agrees with node:net on known addresses and non-addresses', () => {
  for (const c of CASES) assert.equal(isIP(c), reference(c), JSON.stringify(c));
});

test('isIP agrees with node:net on random strings of address characters', () => {
  const alphabet = '0123456789abcdefABCDEF:.%z';
  let seed = 42;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < 20000; i++) {
    const length = 1 + Math.floor(next() * 20);
    let s = '';
    for (let j = 0; j < length; j++) s += alphabet[Math.floor(next() * alphabet.length)];
    assert.equal(isIP(s), reference(s), JSON.stringify(s));
  }
  // Mutations of valid addresses find the edges random strings rarely reach.
  for (const base of ['2001:db8::1', '::ffff:10.0.0.1', '1:2:3:4:5:6:7:8', '192.168.1.254']) {
    for (let i = 0; i < 2000; i++) {
      const at = Math.floor(next() * (base.length + 1));
      const ch = alphabet[Math.floor(next() * alphabet.length)] as string;
      const mutated = next() < 0.5 ? base.slice(0, at) + ch + base.slice(at) : base.slice(0, at) + base.slice(at + 1);
      assert.equal(isIP(mutated), reference(mutated), JSON.stringify(mutated));
    }
  }
});
