import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { RCODE_NOERROR } from '../../../src/daemon/network/dns/codec.js';
import { requireRoot } from '../../helpers/root.js';
import {
  attach,
  dnsQuery,
  fakeUpstream,
  harness,
  hostOnlyAddress,
  httpFrom,
  httpServer,
  NET_TOOLS,
  nslookupIn,
  ROOT_TEST_TIMEOUT,
  runIn,
  scratch,
  spec,
} from './helpers.js';

const nameSettings = { hostname: 'h', extraHosts: [], dns: [], dnsSearch: [], dnsOptions: [] };

test('containers on different networks cannot reach each other; on the same one they can', { timeout: ROOT_TEST_TIMEOUT }, async (t) => {
  if (!requireRoot(t, NET_TOOLS)) return;
  const h = await harness(t, 'isolation-1');
  await h.manager.create(spec('proja_default'));
  await h.manager.create(spec('projb_default'));
  const a1 = await attach(h, 'proja_default', 'proja_web_1');
  const a2 = await attach(h, 'proja_default', 'proja_client_1');
  const b1 = await attach(h, 'projb_default', 'projb_web_1');
  await httpServer(h, a1.netns, 'project a');
  await httpServer(h, b1.netns, 'project b');

  assert.equal(await httpFrom(a2.netns, a1.endpoint.ip, 80), 'project a', 'same network');
  assert.equal(await httpFrom(b1.netns, a1.endpoint.ip, 80, 2), null, 'b cannot reach a');
  assert.equal(await httpFrom(a1.netns, b1.endpoint.ip, 80, 2), null, 'a cannot reach b');
  // A container on both networks reaches both.
  await h.manager.connect('projb_default', a2.id, a2.netns, { containerName: 'proja_client_1', aliases: [] });
  assert.equal(await httpFrom(a2.netns, b1.endpoint.ip, 80), 'project b');
  // Not by name across networks either.
  assert.deepEqual((await nslookupIn(b1.netns, 'proja_web_1', h.manager.get('projb_default')!.gateway)).addresses, []);
});

test('an internal network: no default route, nothing beyond its bridge; names still resolve', { timeout: ROOT_TEST_TIMEOUT }, async (t) => {
  if (!requireRoot(t, NET_TOOLS)) return;
  const h = await harness(t, 'isolation-2');
  const back = await h.manager.create(spec('app_back', { internal: true }));
  await h.manager.create(spec('app_front'));
  const db = await attach(h, 'app_back', 'app_db_1', ['db']);
  const api = await attach(h, 'app_back', 'app_api_1', ['api']);
  const front = await attach(h, 'app_front', 'app_front_1');
  await httpServer(h, db.netns, 'db');
  await httpServer(h, front.netns, 'front');

  assert.equal((await runIn(db.netns, ['ip', 'route', 'show', 'default'])).stdout.trim(), '', 'no default route');
  const out = await runIn(db.netns, ['ip', 'route', 'get', '198.51.100.1']);
  assert.notEqual(out.code, 0, 'nothing is routable outside the subnet');
  assert.equal(await httpFrom(api.netns, db.endpoint.ip, 80), 'db', 'within the internal network');
  assert.equal(await httpFrom(db.netns, front.endpoint.ip, 80, 2), null, 'not to another network');
  assert.equal(await httpFrom(front.netns, db.endpoint.ip, 80, 2), null, 'nor from it');
  assert.deepEqual((await nslookupIn(api.netns, 'db', back.gateway)).addresses, [db.endpoint.ip]);
  // Even with a route added by hand inside, forwarding out of an internal bridge is dropped.
  await runIn(db.netns, ['ip', 'route', 'add', 'default', 'via', back.gateway]);
  assert.equal(await httpFrom(db.netns, front.endpoint.ip, 80, 2), null);
});

test('unknown names go to the host resolvers from resolv.conf (loopback ones skipped); the default bridge gets them in resolv.conf', { timeout: ROOT_TEST_TIMEOUT }, async (t) => {
  if (!requireRoot(t, NET_TOOLS)) return;
  const s = await scratch(t, 'isolation-3');
  const address = await hostOnlyAddress(s);
  const upstream = await fakeUpstream(s, { 'outside.test': '192.0.2.99' }, false, address, 53);
  const resolvConf = join(s.dir, 'host-resolv.conf');
  writeFileSync(resolvConf, `nameserver 127.0.0.1\nnameserver ${address}\nsearch example.internal\n`);
  const h = await harness(t, 'isolation-3', { resolvConf }, s);
  const net = await h.manager.create(spec('ext_default'));
  const c = await attach(h, 'ext_default', 'ext_c_1');

  const seen = await nslookupIn(c.netns, 'outside.test', net.gateway);
  assert.deepEqual(seen.addresses, ['192.0.2.99'], seen.output);
  assert.deepEqual(upstream.queries, ['outside.test']);
  const direct = await dnsQuery(net.gateway, 'outside.test');
  assert.equal(direct?.rcode, RCODE_NOERROR);

  // On the default bridge (no embedded DNS) the container is given the host's usable resolvers.
  const plain = await attach(h, 'bridge', 'plain_1');
  const files = { hosts: join(h.dir, 'plain-hosts'), resolvConf: join(h.dir, 'plain-resolv') };
  await h.manager.writeNameFiles(plain.id, files, nameSettings);
  const written = readFileSync(files.resolvConf, 'utf8');
  assert.match(written, new RegExp(`^nameserver ${address.replaceAll('.', '\\.')}$`, 'm'), written);
  assert.doesNotMatch(written, /nameserver 127\./, written);
});

test('two daemons (instances) isolate their networks from each other too', { timeout: ROOT_TEST_TIMEOUT }, async (t) => {
  if (!requireRoot(t, NET_TOOLS)) return;
  const one = await harness(t, 'isolation-4a');
  const two = await harness(t, 'isolation-4b');
  assert.notEqual(one.paths.instance, two.paths.instance);
  await one.manager.create(spec('p_default'));
  await two.manager.create(spec('p_default'));
  const a = await attach(one, 'p_default', 'p_a_1');
  const b = await attach(two, 'p_default', 'p_b_1');
  const a2 = await attach(one, 'p_default', 'p_a_2');
  await httpServer(one, a.netns, 'instance one');
  await httpServer(two, b.netns, 'instance two');
  assert.equal(await httpFrom(a2.netns, a.endpoint.ip, 80), 'instance one');
  assert.equal(await httpFrom(b.netns, a.endpoint.ip, 80, 2), null);
  assert.equal(await httpFrom(a.netns, b.endpoint.ip, 80, 2), null);
});
