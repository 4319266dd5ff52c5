import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../../src/daemon/command.js';
import { EngineError } from '../../../src/engine/errors.js';
import { requireRoot } from '../../helpers/root.js';
import { harness, instanceRules, NET_TOOLS, spec } from './helpers.js';

async function rejection(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof EngineError, String(e));
    return `${e.kind}: ${e.message}`;
  }
  return 'no error';
}

test('create, get, list, remove; the default "bridge" network exists; names and ids are checked', async (t) => {
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
  assert.equal(await rejection(manager.create(spec('o', { driver: 'overlay' }))), 'invalid: network driver overlay is not supported by the embedded engine (only bridge)');
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

test('IPAM: the pool skips subnets the host uses; an explicit config is honoured and checked', async (t) => {
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
    'invalid: subnet 10.214.70.0/24 overlaps 10.214.64.0/20 (network explicit)',
  );
  assert.equal(
    await rejection(manager.create(spec('host-clash', { ipam: { config: [{ subnet: next }] } }))),
    `invalid: subnet ${next} overlaps ${next} (address ${next.replace('.0/24', '.1/24')} on ${dummy})`,
  );
  assert.equal(await rejection(manager.create(spec('v6', { enableIpv6: true }))), 'invalid: network v6: IPv6 is not supported by the embedded engine');
  assert.equal(manager.get('clash'), null);
});
