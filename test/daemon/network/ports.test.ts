import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { EngineError } from '../../../src/contract/errors.js';
import { requireRoot } from '../../helpers/root.js';
import {
  attach,
  collect,
  freePort,
  harness,
  hostAddress,
  httpFrom,
  httpFromHost,
  httpServer,
  instanceRules,
  NET_TOOLS,
  ROOT_TEST_TIMEOUT,
  spawnIn,
  spec,
  waitListening,
} from './helpers.js';

function sendUdp(host: string, port: number, text: string): Promise<void> {
  const socket = createSocket('udp4');
  return new Promise((resolve, reject) => {
    socket.send(text, port, host, (e) => {
      socket.close();
      if (e) reject(e);
      else resolve();
    });
  });
}

test('published ports: reachable from 127.0.0.1, the host address and other containers; fixed, random ("" and "0"), range, host_ip, udp; unpublish removes them', { timeout: ROOT_TEST_TIMEOUT }, async (t) => {
  if (!requireRoot(t, NET_TOOLS)) return;
  const h = await harness(t, 'ports-1');
  await h.manager.create(spec('pub_default'));
  await h.manager.create(spec('other_default'));
  const web = await attach(h, 'pub_default', 'pub_web_1');
  const peer = await attach(h, 'pub_default', 'pub_peer_1');
  const far = await attach(h, 'other_default', 'other_far_1');
  await httpServer(h, web.netns, 'published');
  const host = await hostAddress();

  const fixed = await freePort();
  const published = await h.manager.publish(web.id, 'pub_default', [
    { containerPort: 80, protocol: 'tcp', hostIp: '', hostPorts: { start: fixed, end: fixed } },
    { containerPort: 80, protocol: 'tcp', hostIp: '127.0.0.1', hostPorts: { start: 0, end: 0 } },
    { containerPort: 80, protocol: 'tcp', hostIp: '' },
    { containerPort: 80, protocol: 'tcp', hostIp: '', hostPorts: { start: fixed, end: fixed + 20 } },
    { containerPort: 5353, protocol: 'udp', hostIp: '' },
  ]);
  const [onAll, onLoopback, random, ranged, udp] = published;
  assert.ok(onAll && onLoopback && random && ranged && udp);
  assert.deepEqual([onAll.hostIp, onAll.hostPort], ['0.0.0.0', fixed]);
  assert.equal(onLoopback.hostIp, '127.0.0.1');
  assert.ok(onLoopback.hostPort > 0 && random.hostPort > 0);
  assert.ok(ranged.hostPort > fixed && ranged.hostPort <= fixed + 20, `range gave ${ranged.hostPort}`);
  assert.equal(udp.protocol, 'udp');

  assert.equal(await httpFromHost('127.0.0.1', fixed), 'published', 'from 127.0.0.1 (route_localnet)');
  assert.equal(await httpFromHost(host, fixed), 'published', 'from the host address');
  assert.equal(await httpFromHost('127.0.0.1', onLoopback.hostPort), 'published');
  assert.equal(await httpFromHost(host, onLoopback.hostPort, 1000), null, 'host_ip 127.0.0.1 is not published on the other addresses');
  assert.equal(await httpFromHost('127.0.0.1', random.hostPort), 'published');
  assert.equal(await httpFromHost('127.0.0.1', ranged.hostPort), 'published');
  assert.equal(await httpFrom(peer.netns, host, fixed), 'published', 'from a container on the same network (hairpin)');
  assert.equal(await httpFrom(far.netns, host, fixed), 'published', 'from a container on another network, through the host');
  assert.equal(await httpFrom(web.netns, host, fixed), 'published', 'from the container itself');

  // busybox nc has no UDP: node itself prints what arrives on udp/5353 inside the sandbox.
  const script = "require('dgram').createSocket('udp4').on('message', (m) => process.stdout.write(m)).bind(5353)";
  const listener = spawnIn(h, web.netns, [process.execPath, '-e', script]);
  const received = collect(listener);
  await waitListening(web.netns, 5353, 'udp');
  await sendUdp(host, udp.hostPort, 'ping over udp\n');
  assert.ok(await received.wait('ping over udp'), `udp datagram not received: ${JSON.stringify(received.text())}`);

  // A second publish of a taken port fails as Docker's does, and leaves nothing behind.
  const before = await instanceRules(h.paths.instance);
  await assert.rejects(
    h.manager.publish(peer.id, 'pub_default', [{ containerPort: 80, protocol: 'tcp', hostIp: '', hostPorts: { start: fixed, end: fixed } }]),
    (e: unknown) => e instanceof EngineError && e.message === `Bind for 0.0.0.0:${fixed} failed: port is already allocated`,
  );
  assert.deepEqual(await instanceRules(h.paths.instance), before);
  await assert.rejects(h.manager.publish(peer.id, 'pub_default', [{ containerPort: 80, protocol: 'tcp', hostIp: '', hostPorts: { start: 9, end: 8 } }]), /invalid host port "9-8"/);

  await h.manager.unpublish(web.id);
  assert.deepEqual((await instanceRules(h.paths.instance)).filter((l) => l.includes(web.endpoint.ip)), [], 'no rule of the ports is left');
  assert.equal(await httpFromHost('127.0.0.1', fixed, 1000), null);
  // The port is free again.
  const again = await h.manager.publish(peer.id, 'pub_default', [{ containerPort: 80, protocol: 'tcp', hostIp: '', hostPorts: { start: fixed, end: fixed } }]);
  assert.equal(again[0]?.hostPort, fixed);
});

test('an internal network publishes nothing', { timeout: ROOT_TEST_TIMEOUT }, async (t) => {
  if (!requireRoot(t, NET_TOOLS)) return;
  const h = await harness(t, 'ports-2');
  await h.manager.create(spec('back', { internal: true }));
  const c = await attach(h, 'back', 'back_db_1');
  assert.deepEqual(await h.manager.publish(c.id, 'back', [{ containerPort: 80, protocol: 'tcp', hostIp: '' }]), []);
  assert.deepEqual((await instanceRules(h.paths.instance)).filter((l) => l.includes('DNAT --to')), []);
});
