import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bridgeOptions } from '../../../src/daemon/network/options.js';
import { candidatePorts } from '../../../src/daemon/network/ports.js';

test('bridge options: defaults, flags, mtu, host binding; bad values name the network', () => {
  assert.deepEqual(bridgeOptions('n', {}), { mtu: null, masquerade: true, icc: true, hostBindingIpv4: '' });
  assert.deepEqual(
    bridgeOptions('n', {
      'com.docker.network.driver.mtu': '9000',
      'com.docker.network.bridge.enable_ip_masquerade': 'False',
      'com.docker.network.bridge.enable_icc': '0',
      'com.docker.network.bridge.host_binding_ipv4': '10.0.0.5',
      'com.example.other': 'x',
    }),
    { mtu: 9000, masquerade: false, icc: false, hostBindingIpv4: '10.0.0.5' },
  );
  assert.equal(bridgeOptions('n', { 'com.docker.network.driver.mtu': '0' }).mtu, null);
  assert.throws(() => bridgeOptions('n', { 'com.docker.network.driver.mtu': 'big' }), /^EngineError|network n: invalid com.docker.network.driver.mtu "big"/);
  assert.throws(() => bridgeOptions('n', { 'com.docker.network.bridge.host_binding_ipv4': '::1' }), /network n: invalid com.docker.network.bridge.host_binding_ipv4/);
  assert.throws(() => bridgeOptions('n', { 'com.docker.network.bridge.name': 'br0' }), /network n: com.docker.network.bridge.name is not supported/);
});

test('host ports: "" and "0" are ephemeral; ranges; bad ones are null', () => {
  assert.deepEqual(candidatePorts(undefined), [0]);
  assert.deepEqual(candidatePorts({ start: 0, end: 0 }), [0]);
  assert.deepEqual(candidatePorts({ start: 8080, end: 8080 }), [8080]);
  assert.deepEqual(candidatePorts({ start: 8000, end: 8002 }), [8000, 8001, 8002]);
  for (const bad of [{ start: 9, end: 8 }, { start: 70000, end: 70000 }, { start: 0, end: 3 }, { start: 1.5, end: 2 }]) assert.equal(candidatePorts(bad), null, JSON.stringify(bad));
});
