import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../../src/daemon/command.js';
import { EngineError } from '../../../src/contract/errors.js';
import { requireRoot } from '../../helpers/root.js';
import { attach, harness, httpFrom, httpServer, instanceRules, NET_TOOLS, ROOT_TEST_TIMEOUT, spec } from './helpers.js';

async function rejection(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof EngineError, String(e));
    return `${e.kind}: ${e.message}`;
  }
  return 'no error';
}

test('create, get, list, remove; the default "bridge" network exists; names and ids are checked', { timeout: ROOT_TEST_TIMEOUT }, async (t) => {
  if (!requireRoot(t, NET_TOOLS)) return;
  const h = await harness(t, 'networks-1');
  const { manager, paths } = h;
  assert.deepEqual(manager.list().map((n) => n.name), ['bridge']);

  const web = await manager.create(spec('web_default', { labels: { 'com.docker.compose.project': 'web' } }));
  assert.match(web.id, /^[0-9a-f]{64}$/);
  assert.equal(web.bridge, `flt${paths.instance}${web.id.slice(0, 6)}`);
  assert.match(web.subnet, /^10\.213\.\d+\.0\/24$/);
  assert.equal(web.gateway, web.subnet.replace('0/24', '1'));
  assert.deepEqual(manager.get('web_default'), web);
  assert.deepEqual(manager.get(web.id.slice(0, 10)), web);
  assert.deepEqual(manager.list().map((n) => n.name), ['bridge', 'web_default']);

  // The bridge, its address, route_localnet; the state file.
  const link = JSON.parse((await run(['ip', '-j', 'addr', 'show', 'dev', web.bridge])).stdout)[0];
  assert.equal(link.addr_info.find((a: { family: string }) => a.family === 'inet').local, web.gateway);
  assert.equal(readFileSync(`/proc/sys/net/ipv4/conf/${web.bridge}/route_localnet`, 'utf8').trim(), '1');
  assert.deepEqual(JSON.parse(readFileSync(join(paths.networks, `${web.id}.json`), 'utf8')), web);

  assert.equal(await rejection(manager.create(spec('web_default'))), 'conflict: network with name web_default already exists');
  assert.equal(await rejection(manager.create(spec('host'))), 'conflict: network with name host already exists');
  assert.equal(await rejection(manager.create(spec('bad name'))), 'invalid: invalid network name "bad name": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed');
  assert.equal(await rejection(manager.create(spec('o', { driver: 'overlay' }))), 'invalid: network o: driver overlay is not supported by the embedded engine (only bridge)');
  assert.equal(await rejection(manager.remove('nope')), 'not-found: network nope not found');
  assert.equal(await rejection(manager.remove('bridge')), 'invalid: bridge is a pre-defined network and cannot be removed');

  const rulesWithTwo = await instanceRules(paths.instance);
  await manager.remove('web_default');
  assert.equal(manager.get('web_default'), null);
  assert.equal((await run(['ip', 'link', 'show', 'dev', web.bridge], { allowFailure: true })).code, 1);
  assert.ok(!readdirSync(paths.networks).includes(`${web.id}.json`));
  const rulesWithOne = await instanceRules(paths.instance);
  assert.ok(rulesWithOne.length < rulesWithTwo.length);
  assert.deepEqual(rulesWithOne.filter((l) => l.includes(web.bridge) || l.includes(web.subnet)), [], 'no rule of the removed network is left');
});

test('IPAM: the pool skips subnets the host uses; an explicit config is honoured and checked', { timeout: ROOT_TEST_TIMEOUT }, async (t) => {
  if (!requireRoot(t, NET_TOOLS)) return;
  const h = await harness(t, 'networks-2');
  const { manager, paths } = h;
  const first = await manager.create(spec('first'));
  // Occupy the next /24 with a link of this instance (dummy links are not built in here: a bridge): the pool must skip it.
  const [a, b, c] = first.subnet.split('.').map(Number) as [number, number, number];
  const next = `${a}.${b}.${(c + 1) % 256}.0/24`;
  const dummy = `flx${paths.instance}d`;
  await run(['ip', 'link', 'add', dummy, 'type', 'bridge']);
  h.defer(() => run(['ip', 'link', 'del', dummy], { allowFailure: true }));
  await run(['ip', 'addr', 'add', next.replace('.0/24', '.1/24'), 'dev', dummy]);
  const second = await manager.create(spec('second'));
  assert.notEqual(second.subnet, next);
  assert.notEqual(second.subnet, first.subnet);

  const explicit = await manager.create(spec('explicit', { ipam: { config: [{ subnet: '10.214.64.0/20', gateway: '10.214.64.254', ipRange: '10.214.66.0/24', auxAddresses: { r: '10.214.66.0' } }] } }));
  assert.deepEqual([explicit.subnet, explicit.gateway, explicit.ipRange, explicit.auxAddresses], ['10.214.64.0/20', '10.214.64.254', '10.214.66.0/24', { r: '10.214.66.0' }]);
  assert.equal(
    await rejection(manager.create(spec('clash', { ipam: { config: [{ subnet: '10.214.70.0/24' }] } }))),
    'invalid: network clash: subnet 10.214.70.0/24 overlaps 10.214.64.0/20 (network explicit)',
  );
  assert.equal(
    await rejection(manager.create(spec('host-clash', { ipam: { config: [{ subnet: next }] } }))),
    `invalid: network host-clash: subnet ${next} overlaps ${next} (address ${next.replace('.0/24', '.1/24')} on ${dummy})`,
  );
  assert.equal(await rejection(manager.create(spec('v6', { enableIpv6: true }))), 'invalid: network v6: IPv6 is not supported by the embedded engine');

  // Addresses: a requested one (ipv4_address) is used and checked; others come from ip_range, skipping aux addresses.
  const fixed = await attach(h, 'explicit', 'fixed_1', [], '10.214.64.77');
  assert.equal(fixed.endpoint.ip, '10.214.64.77');
  assert.equal(fixed.endpoint.gateway, '10.214.64.254');
  const inside = JSON.parse((await run(['nsenter', `--net=${fixed.netns}`, 'ip', '-j', '-4', 'addr', 'show', 'dev', 'eth0'])).stdout)[0];
  assert.deepEqual(inside.addr_info.map((a: { local: string; prefixlen: number }) => `${a.local}/${a.prefixlen}`), ['10.214.64.77/20']);
  assert.equal((await attach(h, 'explicit', 'auto_1')).endpoint.ip, '10.214.66.1');
  assert.equal(await rejection(attach(h, 'explicit', 'dup_1', [], '10.214.64.77')), 'conflict: Address already in use: 10.214.64.77 on network explicit');
  assert.equal(await rejection(attach(h, 'explicit', 'out_1', [], '10.9.9.9')), 'invalid: address 10.9.9.9 is not in subnet 10.214.64.0/20 of network explicit');
  assert.equal(manager.get('clash'), null);
});

test('driver options: mtu, enable_ip_masquerade, enable_icc, host_binding_ipv4 applied; bridge.name and bad values refused', { timeout: ROOT_TEST_TIMEOUT }, async (t) => {
  if (!requireRoot(t, NET_TOOLS)) return;
  const h = await harness(t, 'networks-3');
  const { manager, paths } = h;
  assert.equal(
    await rejection(manager.create(spec('named', { driverOpts: { 'com.docker.network.bridge.name': 'br-x' } }))),
    'invalid: network named: com.docker.network.bridge.name is not supported by the embedded engine (it names its bridges itself)',
  );
  assert.equal(
    await rejection(manager.create(spec('mtu', { driverOpts: { 'com.docker.network.driver.mtu': '20' } }))),
    'invalid: network mtu: invalid com.docker.network.driver.mtu "20" (68 to 65535)',
  );
  assert.equal(
    await rejection(manager.create(spec('icc', { driverOpts: { 'com.docker.network.bridge.enable_icc': 'maybe' } }))),
    'invalid: network icc: invalid value "maybe" for com.docker.network.bridge.enable_icc (true or false)',
  );
  assert.deepEqual(manager.list().map((n) => n.name), ['bridge']);

  const net = await manager.create(spec('tuned', {
    driverOpts: {
      'com.docker.network.driver.mtu': '1400',
      'com.docker.network.bridge.enable_ip_masquerade': 'false',
      'com.docker.network.bridge.enable_icc': 'false',
      'com.docker.network.bridge.host_binding_ipv4': '127.0.0.1',
      'com.example.unknown': 'kept',
    },
  }));
  assert.equal(net.options['com.example.unknown'], 'kept');
  const a = await attach(h, 'tuned', 'a1');
  const b = await attach(h, 'tuned', 'b1');
  const mtuOf = async (argv: string[]) => (JSON.parse((await run(argv)).stdout) as { mtu: number }[])[0]?.mtu;
  assert.equal(await mtuOf(['ip', '-j', 'link', 'show', 'dev', net.bridge]), 1400);
  assert.equal(await mtuOf(['nsenter', `--net=${a.netns}`, 'ip', '-j', 'link', 'show', 'dev', 'eth0']), 1400);
  assert.equal(await mtuOf(['ip', '-j', 'link', 'show', 'dev', a.endpoint.hostVeth]), 1400);
  const rules = await instanceRules(paths.instance);
  assert.deepEqual(rules.filter((l) => l.includes(`-s ${net.subnet} ! -o ${net.bridge} -j MASQUERADE`)), [], 'no egress masquerade');
  assert.ok(rules.includes(`filter -A FLT${paths.instance}-FWD -i ${net.bridge} -o ${net.bridge} -j DROP`), 'icc off');
  await httpServer(h, b.netns, 'b');
  assert.equal(await httpFrom(a.netns, b.endpoint.ip, 80, 2), null, 'no traffic between containers with enable_icc=false');
  const [port] = await manager.publish(b.id, 'tuned', [{ containerPort: 80, protocol: 'tcp', hostIp: '' }]);
  assert.equal(port?.hostIp, '127.0.0.1', 'host_binding_ipv4 is the default host address');
});
