/** The host check: every missing command named with its Debian package; cap_add beyond the daemon's bounding set refused. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EngineError } from '../../../src/contract/errors.js';
import { checkHost, daemonCapabilities, HOST_TOOLS, missingTools } from '../../../src/daemon/runtime/host.js';
import { CAPABILITY_NAMES } from '../../../src/daemon/runtime/capabilities.js';
import { requireRoot } from '../../helpers/root.js';
import { mountsUnder, request, RUNTIME_TOOLS, testEnv } from './fixture.js';

test('missing tools: one line each, naming the Debian package', async () => {
  const absent = new Set(['conmon', 'tini-static', 'ip', 'iptables', 'nsenter', 'mount']);
  const problems = await missingTools(async (tool) => (absent.has(tool) ? null : `/usr/bin/${tool}`));
  assert.deepEqual(problems, [
    'conmon is missing: install the Debian package conmon',
    'tini-static is missing: install the Debian package tini',
    'ip is missing: install the Debian package iproute2',
    'iptables is missing: install the Debian package iptables',
    'nsenter is missing: install the Debian package util-linux',
    'mount is missing: install the Debian package mount',
  ]);
  assert.ok(HOST_TOOLS.some(([tool]) => tool === 'runc'));
  const none = await checkHost(async () => null);
  assert.equal(none.filter((p) => p.endsWith('is missing: install the Debian package runc')).length, 1);
  assert.equal(none.filter((p) => / is missing: /.test(p)).length, HOST_TOOLS.length);
});

test('this host has everything (root with the packages installed)', async (t) => {
  if (!requireRoot(t, RUNTIME_TOOLS)) return;
  assert.deepEqual(await checkHost(), []);
});

test('cap_add of a capability the daemon lacks: refused at prepare, naming the container and the capability; nothing left mounted', { timeout: 60_000 }, async (t) => {
  if (!requireRoot(t, RUNTIME_TOOLS)) return;
  const lacking = CAPABILITY_NAMES.find((c) => !daemonCapabilities().has(c));
  if (!lacking) {
    t.skip('the daemon has every capability here');
    return;
  }
  const env = testEnv(t);
  const req = request(env, { capAdd: [lacking], command: ['true'] });
  await assert.rejects(env.runtime.prepare(req), (e: unknown) => {
    assert.ok(e instanceof EngineError);
    assert.equal(e.kind, 'invalid');
    assert.equal(e.message, `container ${req.id.slice(0, 12)}: cannot add capability ${lacking}: the daemon itself does not have it (its bounding set lacks it)`);
    return true;
  });
  assert.deepEqual(mountsUnder(env.dir), []);
});
