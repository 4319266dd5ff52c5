import assert from 'node:assert/strict';
import { test } from 'node:test';
import { durationNanos, memoryBytes, nanoCpus } from '../../src/stack/units.js';
import { familiarTagged, parseImageReference, withDigest } from '../../src/stack/image-ref.js';

test("durations as Go's time.ParseDuration reads them", () => {
  assert.equal(durationNanos('1m30s'), 90e9);
  assert.equal(durationNanos('1.5h'), 5400e9);
  assert.equal(durationNanos('300ms'), 300e6);
  assert.equal(durationNanos('2us'), 2000);
  assert.equal(durationNanos('0'), 0);
  assert.equal(durationNanos('-1s'), -1e9);
  for (const bad of ['', '10', 's', '1x', '1 s', '.s']) assert.equal(durationNanos(bad), undefined, bad);
});

test('CPUs in nanoCPUs, exact, refused when more precise than that', () => {
  assert.equal(nanoCpus('0.50'), 500_000_000);
  assert.equal(nanoCpus(0.01), 10_000_000);
  assert.equal(nanoCpus('2'), 2_000_000_000);
  assert.equal(nanoCpus('1e-3'), 1_000_000);
  assert.equal(nanoCpus('0.0000000001'), undefined);
  assert.equal(nanoCpus('half'), undefined);
});

test('memory sizes with 1024-based units', () => {
  assert.equal(memoryBytes('64M'), 64 * 1024 * 1024);
  assert.equal(memoryBytes('1.5g'), 1.5 * 1024 ** 3);
  assert.equal(memoryBytes('512 MiB'), 512 * 1024 * 1024);
  assert.equal(memoryBytes('1024'), 1024);
  assert.equal(memoryBytes('12x'), undefined);
});

test("image references as Docker's client writes them into a service", () => {
  assert.equal(familiarTagged('busybox'), 'busybox:latest');
  assert.equal(familiarTagged('docker.io/library/busybox:1.36'), 'busybox:1.36');
  assert.equal(familiarTagged('docker.io/acme/app'), 'acme/app:latest');
  assert.equal(familiarTagged('registry:5000/acme/app'), 'registry:5000/acme/app:latest');
  const digest = `sha256:${'a'.repeat(64)}`;
  assert.equal(familiarTagged(`busybox@${digest}`), `busybox@${digest}`);
  assert.equal(withDigest('busybox', digest), `busybox:latest@${digest}`);
  assert.equal(withDigest(`busybox@${digest}`, `sha256:${'b'.repeat(64)}`), `busybox@${digest}`);
  assert.equal(parseImageReference('Busybox'), undefined);
  assert.equal(parseImageReference('a//b'), undefined);
  assert.deepEqual(parseImageReference('localhost/x:1'), { domain: 'localhost', path: 'x', tag: '1' });
});
