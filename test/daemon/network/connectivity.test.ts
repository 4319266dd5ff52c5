import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { run } from '../../../src/daemon/command.js';
import { RCODE_NOERROR, RCODE_NXDOMAIN, RCODE_SERVFAIL, TYPE_AAAA } from '../../../src/daemon/network/dns/codec.js';
import { requireRoot } from '../../helpers/root.js';
import { attach, dnsQuery, dnsQueryTcp, fakeUpstream, harness, httpFrom, httpServer, NET_TOOLS, nslookupIn, ROOT_TEST_TIMEOUT, runAsContainer, runIn, scratch, spec } from './helpers.js';

const nameSettings = { hostname: 'h', extraHosts: [], dns: [], dnsSearch: [], dnsOptions: [] };

test('two sandboxes on a network reach each other by address and by name (DNS on the gateway, through resolv.conf)', { timeout: ROOT_TEST_TIMEOUT }, async (t) => {
  if (!requireRoot(t, NET_TOOLS)) return;
  const h = await harness(t, 'conn-1');
  const net = await h.manager.create(spec('app_default'));
  const web = await attach(h, 'app_default', 'app_web_1', ['web']);
  const client = await attach(h, 'app_default', 'app_client_1', ['client']);

  // Inside: eth0 with the address and MAC, the default route via the gateway.
  const addr = JSON.parse((await runIn(web.netns, ['ip', '-j', 'addr', 'show', 'dev', 'eth0'])).stdout)[0];
  assert.equal(addr.address, web.endpoint.mac);
  assert.deepEqual(addr.addr_info.filter((a: { family: string }) => a.family === 'inet').map((a: { local: string; prefixlen: number }) => `${a.local}/${a.prefixlen}`), [`${web.endpoint.ip}/24`]);
  assert.match((await runIn(web.netns, ['ip', 'route', 'show', 'default'])).stdout, new RegExp(`default via ${net.gateway.replaceAll('.', '\\.')} dev eth0`));
  assert.deepEqual([web.endpoint.iface, client.endpoint.iface], ['eth0', 'eth0']);
  assert.notEqual(web.endpoint.ip, client.endpoint.ip);

  await httpServer(h, web.netns, 'hello from web');
  assert.equal(await httpFrom(client.netns, web.endpoint.ip, 80), 'hello from web');

  for (const name of ['web', 'app_web_1', 'WEB.', web.id.slice(0, 12)]) {
    const r = await nslookupIn(client.netns, name, net.gateway);
    assert.deepEqual(r.addresses, [web.endpoint.ip], `${name}: ${r.output}`);
  }
  const aaaa = await dnsQuery(net.gateway, 'web', TYPE_AAAA);
  assert.deepEqual([aaaa?.rcode, aaaa?.answerCount], [RCODE_NOERROR, 0]);

  // As a container resolves: glibc in the static busybox reading the resolv.conf we wrote.
  const files = { hosts: join(h.dir, 'client-hosts'), resolvConf: join(h.dir, 'client-resolv') };
  await h.manager.writeNameFiles(client.id, files, nameSettings);
  const r = await runAsContainer(client.netns, files, ['/bin/busybox', 'nc', '-w', '3', 'web', '80'], 'GET / HTTP/1.0\r\n\r\n');
  assert.match(r.stdout, /hello from web$/, r.stderr);
});

test('round-robin: three containers sharing an alias; every answer has all three, in rotating order', { timeout: ROOT_TEST_TIMEOUT }, async (t) => {
  if (!requireRoot(t, NET_TOOLS)) return;
  const h = await harness(t, 'conn-2');
  const net = await h.manager.create(spec('rr_default'));
  const replicas = [];
  for (let i = 1; i <= 3; i++) replicas.push(await attach(h, 'rr_default', `rr_svc_${i}`, ['svc']));
  const all = replicas.map((r) => r.endpoint.ip).sort();
  const firsts: string[] = [];
  for (let i = 0; i < 6; i++) {
    const a = await dnsQuery(net.gateway, 'svc');
    assert.ok(a);
    assert.deepEqual([...a.addresses].sort(), all);
    firsts.push(a.addresses[0]!);
  }
  assert.deepEqual(new Set(firsts.slice(0, 3)), new Set(all), `every replica comes first in turn: ${firsts}`);
  assert.deepEqual(firsts.slice(3), firsts.slice(0, 3));
  // Over TCP too, rotating on the same turn.
  const overTcp = await dnsQueryTcp(net.gateway, 'svc');
  assert.deepEqual([...(overTcp?.addresses ?? [])].sort(), all);
  // From inside too (busybox's resolver).
  const seen = await nslookupIn(replicas[0]!.netns, 'svc', net.gateway);
  assert.deepEqual([...seen.addresses].sort(), all);
});

test('names are visible only to containers sharing a network; unknown names go upstream; default bridge: no names', { timeout: ROOT_TEST_TIMEOUT }, async (t) => {
  if (!requireRoot(t, NET_TOOLS)) return;
  const names: Record<string, string> = { 'example.test': '192.0.2.77' };
  // The upstream is made before the manager that uses it (and closed after it).
  const s = await scratch(t, 'conn-3');
  const upstream = await fakeUpstream(s, names);
  const h = await harness(t, 'conn-3', { dnsUpstreams: [upstream.address] }, s);
  const one = await h.manager.create(spec('one'));
  const two = await h.manager.create(spec('two'));
  const a = await attach(h, 'one', 'a1', ['alpha']);
  const b = await attach(h, 'two', 'b1', ['beta']);

  assert.deepEqual((await nslookupIn(a.netns, 'alpha', one.gateway)).addresses, [a.endpoint.ip]);
  const fromTwo = await dnsQuery(two.gateway, 'alpha');
  assert.equal(fromTwo?.rcode, RCODE_NXDOMAIN, 'a name of network one is not answered on network two');
  assert.ok(upstream.queries.includes('alpha'), 'and was asked upstream');
  assert.deepEqual((await nslookupIn(b.netns, 'example.test', two.gateway)).addresses, ['192.0.2.77']);

  // A container on both networks sees both sets of names, through either gateway.
  const both = await attach(h, 'one', 'both1');
  await h.manager.connect('two', both.id, both.netns, { containerName: 'both1', aliases: [] });
  assert.deepEqual((await nslookupIn(both.netns, 'beta', one.gateway)).addresses, [b.endpoint.ip]);

  // The default bridge has no DNS listener at all (Docker's behaviour).
  const bridge = h.manager.get('bridge')!;
  await attach(h, 'bridge', 'plain1');
  assert.equal(await dnsQuery(bridge.gateway, 'plain1', 1, 53, 700), null);
});

test('a query no upstream answers gets SERVFAIL after 2 s; a container\'s own dns: servers are its upstreams', { timeout: ROOT_TEST_TIMEOUT }, async (t) => {
  if (!requireRoot(t, NET_TOOLS)) return;
  const s = await scratch(t, 'conn-4');
  const silent = await fakeUpstream(s, {}, true);
  const own = await fakeUpstream(s, { 'mine.test': '192.0.2.88' });
  const h = await harness(t, 'conn-4', { dnsUpstreams: [silent.address] }, s);
  const net = await h.manager.create(spec('dns_default'));
  const a = await attach(h, 'dns_default', 'a1');
  const started = Date.now();
  const answer = await dnsQuery(net.gateway, 'slow.test');
  const waited = Date.now() - started;
  assert.equal(answer?.rcode, RCODE_SERVFAIL);
  assert.ok(waited >= 1900 && waited < 3500, `SERVFAIL after ${waited} ms`);
  assert.ok(silent.queries.includes('slow.test'));

  const files = { hosts: join(h.dir, 'a-hosts'), resolvConf: join(h.dir, 'a-resolv') };
  await h.manager.writeNameFiles(a.id, files, { ...nameSettings, dns: [own.address] });
  assert.deepEqual((await nslookupIn(a.netns, 'mine.test', net.gateway)).addresses, ['192.0.2.88']);
  assert.deepEqual(own.queries, ['mine.test']);
  void run;
});
