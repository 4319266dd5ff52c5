import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allocateAddress, chooseFromPool, explicitChoice, type UsedSubnet } from '../../../src/daemon/network/ipam.js';
import { formatCidr, macFor, overlaps, parseCidr, parseIpv4 } from '../../../src/daemon/network/ipv4.js';
import type { NetworkRecord } from '../../../src/daemon/network/types.js';
import { EngineError } from '../../../src/contract/errors.js';

const cidr = (text: string) => parseCidr(text, false)!;
const used = (...list: string[]): UsedSubnet[] => list.map((c) => ({ cidr: cidr(c), owner: `route ${c}` }));

function network(extra: Partial<NetworkRecord> = {}): NetworkRecord {
  return {
    id: 'a'.repeat(64), name: 'web_default', driver: 'bridge', labels: {}, options: {}, internal: false, attachable: false,
    created: '', bridge: 'flt0000aaaaaa', subnet: '10.213.5.0/24', gateway: '10.213.5.1', endpoints: {}, ...extra,
  };
}

function kindOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof EngineError, String(e));
    return `${e.kind}: ${e.message}`;
  }
  return 'no error';
}

test('IPv4 parsing, CIDR normalisation and overlap', () => {
  assert.equal(parseIpv4('10.213.0.1'), 0x0ad50001);
  assert.equal(parseIpv4('10.213.0'), null);
  assert.equal(parseIpv4('10.213.0.256'), null);
  assert.equal(parseCidr('10.1.2.3/24', true), null);
  assert.equal(formatCidr(parseCidr('10.1.2.3/24', false)!), '10.1.2.0/24');
  assert.ok(overlaps(cidr('10.0.0.0/8'), cidr('10.213.4.0/24')));
  assert.ok(!overlaps(cidr('10.213.3.0/24'), cidr('10.213.4.0/24')));
  assert.equal(macFor(parseIpv4('10.213.5.2')!), '02:42:0a:d5:05:02');
});

test('the pool gives the first /24 that overlaps nothing, scanning from the start index and wrapping', () => {
  const pool = cidr('10.213.0.0/16');
  assert.equal(formatCidr(chooseFromPool(pool, 24, used())!), '10.213.0.0/24');
  assert.equal(formatCidr(chooseFromPool(pool, 24, used('10.213.0.0/24', '10.213.1.128/25'))!), '10.213.2.0/24');
  assert.equal(formatCidr(chooseFromPool(pool, 24, used('10.213.255.0/24'), 255)!), '10.213.0.0/24');
  assert.equal(chooseFromPool(pool, 24, used('10.0.0.0/8')), null);
});

test('an explicit ipam config is checked: host bits, gateway and ip_range inside, no overlap, IPv4 only', () => {
  const ipam = (config: Record<string, unknown>) => ({ config: [config] });
  assert.deepEqual(explicitChoice(ipam({ subnet: '10.99.0.0/16' }), []), { subnet: '10.99.0.0/16', gateway: '10.99.0.1' });
  assert.deepEqual(explicitChoice(ipam({ subnet: '10.99.0.0/16', gateway: '10.99.0.254', ipRange: '10.99.5.0/24' }), []), {
    subnet: '10.99.0.0/16', gateway: '10.99.0.254', ipRange: '10.99.5.0/24',
  });
  assert.equal(explicitChoice(undefined, []), null);
  assert.equal(explicitChoice({ config: [] }, []), null);
  assert.equal(kindOf(() => explicitChoice(ipam({ subnet: '10.99.0.3/16' }), [])), 'invalid: invalid subnet 10.99.0.3/16: it should be 10.99.0.0/16');
  assert.equal(kindOf(() => explicitChoice(ipam({ subnet: 'ten/8' }), [])), 'invalid: invalid subnet ten/8');
  assert.equal(kindOf(() => explicitChoice(ipam({ subnet: '10.99.0.0/16', gateway: '10.98.0.1' }), [])), 'invalid: gateway 10.98.0.1 is not a usable address of subnet 10.99.0.0/16');
  assert.equal(kindOf(() => explicitChoice(ipam({ subnet: '10.99.0.0/16', ipRange: '10.98.0.0/24' }), [])), 'invalid: ip_range 10.98.0.0/24 is not inside subnet 10.99.0.0/16');
  assert.equal(
    kindOf(() => explicitChoice(ipam({ subnet: '10.99.0.0/16' }), used('10.99.7.0/24'))),
    'invalid: subnet 10.99.0.0/16 overlaps 10.99.7.0/24 (route 10.99.7.0/24)',
  );
  assert.match(kindOf(() => explicitChoice(ipam({ subnet: 'fd00::/64' }), [])), /^invalid: IPv6 subnet fd00::\/64/);
});

test('addresses: lowest free in ip_range, never the gateway or aux addresses; a requested one is checked', () => {
  const n = network({ auxAddresses: { router: '10.213.5.2' } });
  assert.equal(allocateAddress(n), '10.213.5.3');
  n.endpoints['c1'] = { containerId: 'c1', containerName: 'a', network: 'web_default', aliases: [], ip: '10.213.5.3', prefixLength: 24, gateway: '10.213.5.1', mac: '', iface: 'eth0', hostVeth: '' };
  assert.equal(allocateAddress(n), '10.213.5.4');
  assert.equal(allocateAddress(n, '10.213.5.200'), '10.213.5.200');
  assert.equal(kindOf(() => allocateAddress(n, '10.213.5.3')), 'conflict: Address already in use: 10.213.5.3 on network web_default');
  assert.equal(kindOf(() => allocateAddress(n, '10.213.5.1')), 'conflict: Address already in use: 10.213.5.1 on network web_default');
  assert.equal(kindOf(() => allocateAddress(n, '10.213.6.9')), 'invalid: address 10.213.6.9 is not in subnet 10.213.5.0/24 of network web_default');
  assert.equal(allocateAddress(network({ ipRange: '10.213.5.128/25' })), '10.213.5.128');
  const full = network({ subnet: '10.213.5.0/30', gateway: '10.213.5.1' });
  full.endpoints['x'] = { ...n.endpoints['c1']!, ip: '10.213.5.2' };
  assert.match(kindOf(() => allocateAddress(full)), /^resource: no available IPv4 address on network web_default/);
});
