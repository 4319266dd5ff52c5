import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../../src/daemon/command.js';
import { NetworkManager } from '../../../src/daemon/network/manager.js';
import { requireRoot } from '../../helpers/root.js';
import {
  attach,
  BUSYBOX,
  dnsQuery,
  freePort,
  harness,
  httpFrom,
  httpFromHost,
  httpServer,
  instanceRules,
  killInside,
  NET_TOOLS,
  nslookupIn,
  ROOT_TEST_TIMEOUT,
  runIn,
  spec,
} from './helpers.js';

const nameSettings = { hostname: 'web', extraHosts: [{ host: 'gw', ip: '10.0.0.1' }], dns: [], dnsSearch: [], dnsOptions: [] };

async function instanceLinks(instance: string): Promise<string[]> {
  const links = JSON.parse((await run(['ip', '-j', 'link', 'show'])).stdout) as { ifname: string }[];
  return links.map((l) => l.ifname).filter((n) => n.startsWith(`flt${instance}`) || n.startsWith(`flv${instance}`)).sort();
}

function netnsMounts(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(dir));
}

test('name files are rewritten in place as networks come and go; removeSandbox and remove leave only the default network', { timeout: ROOT_TEST_TIMEOUT }, async (t) => {
  if (!requireRoot(t, NET_TOOLS)) return;
  const h = await harness(t, 'lifecycle-1');
  const bridgeOnly = { links: await instanceLinks(h.paths.instance), rules: await instanceRules(h.paths.instance) };
  const front = await h.manager.create(spec('app_front'));
  await h.manager.create(spec('app_back'));
  const web = await attach(h, 'app_front', 'app_web_1', ['web']);
  const files = { hosts: join(h.dir, 'hosts'), resolvConf: join(h.dir, 'resolv.conf') };
  writeFileSync(files.hosts, '');
  writeFileSync(files.resolvConf, '');
  const inodes = [statSync(files.hosts).ino, statSync(files.resolvConf).ino];
  await h.manager.writeNameFiles(web.id, files, nameSettings);
  let hosts = readFileSync(files.hosts, 'utf8');
  assert.match(hosts, new RegExp(`^${web.endpoint.ip.replaceAll('.', '\\.')}\\s+web$`, 'm'), hosts);
  assert.match(hosts, /^10\.0\.0\.1\s+gw$/m);
  assert.match(readFileSync(files.resolvConf, 'utf8'), new RegExp(`^nameserver ${front.gateway.replaceAll('.', '\\.')}$`, 'm'));

  const second = await h.manager.connect('app_back', web.id, web.netns, { containerName: 'app_web_1', aliases: ['web'] });
  assert.equal(second.iface, 'eth1');
  hosts = readFileSync(files.hosts, 'utf8');
  assert.match(hosts, new RegExp(`^${second.ip.replaceAll('.', '\\.')}\\s+web$`, 'm'), hosts);
  await h.manager.disconnect('app_front', web.id);
  hosts = readFileSync(files.hosts, 'utf8');
  assert.doesNotMatch(hosts, new RegExp(`^${web.endpoint.ip.replaceAll('.', '\\.')}\\s`, 'm'), hosts);
  // The default route moved to the remaining network.
  assert.match((await runIn(web.netns, ['ip', 'route', 'show', 'default'])).stdout, /default via .* dev eth1/);
  assert.deepEqual([statSync(files.hosts).ino, statSync(files.resolvConf).ino], inodes, 'same inodes: rewritten in place');

  await assert.rejects(h.manager.remove('app_back'), /network app_back id [0-9a-f]{64} has active endpoints/);
  await h.manager.removeSandbox(web.id);
  assert.deepEqual(netnsMounts(h.paths.netns), []);
  await h.manager.remove('app_front');
  await h.manager.remove('app_back');
  assert.deepEqual(await instanceLinks(h.paths.instance), bridgeOnly.links);
  assert.deepEqual(await instanceRules(h.paths.instance), bridgeOnly.rules);
});

test('a daemon restart (close, then init of a new manager, twice) keeps everything working and doubles nothing; after a "reboot" stale things are dropped', { timeout: ROOT_TEST_TIMEOUT }, async (t) => {
  if (!requireRoot(t, NET_TOOLS)) return;
  const h = await harness(t, 'lifecycle-2');
  const net = await h.manager.create(spec('app_default'));
  const web = await attach(h, 'app_default', 'app_web_1', ['web']);
  const client = await attach(h, 'app_default', 'app_client_1');
  await httpServer(h, web.netns, 'still here');
  const port = await freePort();
  await h.manager.publish(web.id, 'app_default', [{ containerPort: 80, protocol: 'tcp', hostIp: '', hostPorts: { start: port, end: port } }]);
  const rules = (await instanceRules(h.paths.instance)).sort();
  const links = await instanceLinks(h.paths.instance);

  // The daemon stops: containers keep their networking; only DNS is gone.
  await h.manager.close();
  assert.equal(await httpFromHost('127.0.0.1', port), 'still here');
  assert.equal(await httpFrom(client.netns, web.endpoint.ip, 80), 'still here');
  assert.equal(await dnsQuery(net.gateway, 'web', 1, 53, 500), null);

  const logs: string[] = [];
  const again = new NetworkManager(h.paths, (line) => logs.push(line));
  h.defer(() => again.close());
  await again.init();
  await again.init();
  assert.deepEqual((await instanceRules(h.paths.instance)).sort(), rules, 'rules as before, none doubled');
  assert.deepEqual(await instanceLinks(h.paths.instance), links);
  assert.deepEqual(again.get('app_default'), h.manager.get('app_default'));
  assert.deepEqual((await nslookupIn(client.netns, 'web', net.gateway)).addresses, [web.endpoint.ip]);
  assert.equal(await httpFromHost('127.0.0.1', port), 'still here');
  // The port is held again: another publish of it fails.
  await assert.rejects(again.publish(client.id, 'app_default', [{ containerPort: 80, protocol: 'tcp', hostIp: '', hostPorts: { start: port, end: port } }]), /port is already allocated/);

  // A "reboot": the client's namespace and the bridge vanish behind the daemon's back.
  await again.close();
  await killInside(h.paths.netns);
  await run(['umount', client.netns]);
  await run(['ip', 'link', 'del', 'dev', net.bridge]);
  const third = new NetworkManager(h.paths, (line) => logs.push(line));
  h.defer(() => third.close());
  await third.init();
  const after = third.get('app_default')!;
  assert.deepEqual(Object.keys(after.endpoints), [web.id], 'the client\'s endpoint was released');
  assert.ok(logs.some((l) => l.includes('app_client_1')), logs.join('\n'));
  assert.deepEqual(netnsMounts(client.netns), []);
  // The bridge is back with web's veth on it: a new container reaches web by name.
  await httpServer(h, web.netns, 'after reboot');
  const newcomerId = 'f'.repeat(64);
  const newcomerNs = await third.createSandbox(newcomerId);
  const newcomer = await third.connect('app_default', newcomerId, newcomerNs, { containerName: 'app_new_1', aliases: [] });
  assert.notEqual(newcomer.ip, web.endpoint.ip);
  assert.deepEqual((await nslookupIn(newcomerNs, 'web', net.gateway)).addresses, [web.endpoint.ip]);
  assert.equal(await httpFrom(newcomerNs, web.endpoint.ip, 80), 'after reboot');
});

test('containers joining and leaving a network all at once: one address each, every one reachable, the saved record complete, nothing left', { timeout: ROOT_TEST_TIMEOUT }, async (t) => {
  if (!requireRoot(t, NET_TOOLS)) return;
  const h = await harness(t, 'lifecycle-3');
  const net = await h.manager.create(spec('crowd_default'));
  const bridgeOnly = await instanceLinks(h.paths.instance);
  const saved = () => JSON.parse(readFileSync(join(h.paths.networks, `${net.id}.json`), 'utf8')) as { endpoints: Record<string, { ip: string }> };
  const crowd = await Promise.all(Array.from({ length: 12 }, (_, i) => attach(h, 'crowd_default', `crowd_c_${i + 1}`)));
  const ips = crowd.map((c) => c.endpoint.ip);
  assert.equal(new Set(ips).size, 12, `distinct addresses: ${ips.join(' ')}`);
  assert.deepEqual(Object.keys(saved().endpoints).sort(), crowd.map((c) => c.id).sort(), 'the saved record lists every endpoint');
  assert.equal((await instanceLinks(h.paths.instance)).length, bridgeOnly.length + 12, 'one veth each');
  // Every container reaches the first and the last one through the bridge.
  for (const c of crowd) {
    for (const target of [ips[0], ips[11]]) {
      const r = await runIn(c.netns, [BUSYBOX, 'ping', '-c', '1', '-W', '2', target as string]);
      assert.equal(r.code, 0, `${c.endpoint.ip} -> ${target}: ${r.stdout}${r.stderr}`);
    }
  }
  await Promise.all(crowd.map((c) => h.manager.removeSandbox(c.id)));
  assert.deepEqual(saved().endpoints, {}, 'the saved record is empty again');
  assert.deepEqual(await instanceLinks(h.paths.instance), bridgeOnly);
  assert.deepEqual(netnsMounts(h.paths.netns), []);
  await h.manager.remove('crowd_default');
});

test('removeSandbox: a veth goes with its namespace (no ip link del); one a process keeps alive in it is deleted after a wait; nothing left', { timeout: ROOT_TEST_TIMEOUT }, async (t) => {
  if (!requireRoot(t, NET_TOOLS)) return;
  const h = await harness(t, 'lifecycle-4');
  await h.manager.create(spec('drop_default'));
  const bridgeOnly = await instanceLinks(h.paths.instance);
  const [dropped, held] = await Promise.all([attach(h, 'drop_default', 'drop_a_1'), attach(h, 'drop_default', 'drop_b_1')]);
  // An ip first in PATH that writes down its arguments and runs the real one.
  const real = (await run(['sh', '-c', 'command -v ip'])).stdout.trim();
  const spyDir = join(h.dir, 'spy');
  const calls = join(h.dir, 'ip-calls');
  mkdirSync(spyDir);
  writeFileSync(calls, '');
  writeFileSync(join(spyDir, 'ip'), `#!/bin/sh\necho "$*" >> ${calls}\nexec ${real} "$@"\n`, { mode: 0o755 });
  const path = process.env.PATH;
  process.env.PATH = `${spyDir}:${path}`;
  t.after(() => {
    process.env.PATH = path;
  });
  const holder = spawn('nsenter', [`--net=${held.netns}`, 'sleep', '60'], { stdio: 'ignore' });
  t.after(() => holder.kill('SIGKILL'));
  await new Promise((resolve, reject) => holder.once('spawn', resolve).once('error', reject));

  await h.manager.removeSandbox(dropped.id);
  assert.ok(!(await instanceLinks(h.paths.instance)).includes(dropped.endpoint.hostVeth), 'its veth is gone');
  assert.doesNotMatch(readFileSync(calls, 'utf8'), /link del/, 'without an ip link del');
  await h.manager.removeSandbox(held.id);
  assert.match(readFileSync(calls, 'utf8'), new RegExp(`link del dev ${held.endpoint.hostVeth}`), 'the held one is deleted by hand');
  assert.deepEqual(await instanceLinks(h.paths.instance), bridgeOnly);
  assert.deepEqual(netnsMounts(h.paths.netns), []);
  await h.manager.remove('drop_default');
});
