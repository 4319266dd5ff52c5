import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requireRoot } from '../../helpers/root.js';
import { addRules, deleteRules, ensureJump, listChain, purgeChains, rebuildChains, ruleText } from '../../../src/daemon/network/iptables.js';
import { HostNames } from '../../../src/daemon/network/names.js';
import { RuleBook, type PortTarget } from '../../../src/daemon/network/rules.js';
import type { NetworkRecord } from '../../../src/daemon/network/types.js';
import { instanceRules, NET_TOOLS, ROOT_TEST_TIMEOUT, scratch } from './helpers.js';

function record(names: HostNames, id: string, subnet: string, internal: boolean): NetworkRecord {
  return {
    id, name: `n${id}`, driver: 'bridge', labels: {}, options: {}, internal, attachable: false, created: id,
    bridge: names.bridgeFor(id), subnet, gateway: subnet.replace(/0\/24$/, '1'), endpoints: {},
  };
}

test('every rule is written as iptables-save prints it, so chains compare as text; jumps are inserted once', { timeout: ROOT_TEST_TIMEOUT }, async (t) => {
  if (!requireRoot(t, NET_TOOLS)) return;
  const { paths } = await scratch(t, 'rules-1'); // purged and checked when the test ends
  const names = new HostNames(paths.instance);
  const book = new RuleBook(names);
  const a = record(names, 'aaaaaa' + '0'.repeat(58), '10.213.250.0/24', false);
  const b = record(names, 'bbbbbb' + '0'.repeat(58), '10.213.251.0/24', true);
  const ports: PortTarget[] = [
    { port: { containerPort: 80, protocol: 'tcp', hostIp: '0.0.0.0', hostPort: 18080 }, containerIp: '10.213.250.2', bridge: a.bridge },
    { port: { containerPort: 53, protocol: 'udp', hostIp: '127.0.0.1', hostPort: 18053 }, containerIp: '10.213.250.2', bridge: a.bridge },
  ];
  // A swarm service: a virtual IP and an ingress port balanced over two tasks (a third has no endpoint yet).
  a.endpoints = Object.fromEntries(
    ['t1', 't2'].map((id, i) => [id, { containerId: id, containerName: id, network: a.name, aliases: [], ip: `10.213.250.${10 + i}`, prefixLength: 24, gateway: '10.213.250.1', mac: '', iface: 'eth0', hostVeth: '' }]),
  );
  a.services = { s1: { names: ['web'], vip: '10.213.250.9', backends: ['t1', 't2', 't3'], ingress: [{ protocol: 'tcp', hostPort: 30080, containerPort: 80 }] } };
  const chains = book.allChains([a, b], ports);
  const svc = chains.find((x) => x.chain === names.chains.svc)?.rules.map(ruleText) ?? [];
  assert.deepEqual(svc, [
    `-A ${names.chains.svc} -d 10.213.250.9/32 -m statistic --mode nth --every 2 --packet 0 -j DNAT --to-destination 10.213.250.10`,
    `-A ${names.chains.svc} -d 10.213.250.9/32 -j DNAT --to-destination 10.213.250.11`,
    `-A ${names.chains.svc} -p tcp -m tcp --dport 30080 -m statistic --mode nth --every 2 --packet 0 -j DNAT --to-destination 10.213.250.10:80`,
    `-A ${names.chains.svc} -p tcp -m tcp --dport 30080 -j DNAT --to-destination 10.213.250.11:80`,
  ]);
  await rebuildChains(chains);
  for (const jump of book.jumps()) await ensureJump(jump);
  for (const jump of book.jumps()) await ensureJump(jump);

  for (const c of chains) assert.deepEqual(await listChain(c.table, c.chain), c.rules.map(ruleText), `${c.table} ${c.chain}`);
  for (const jump of book.jumps()) {
    const lines = await listChain(jump.table, jump.chain);
    assert.equal(lines.filter((l) => l === ruleText(jump)).length, 1, `one ${ruleText(jump)}`);
    // Inserted at the top, so ahead of Docker's rules and anything else of the host's; other
    // Flotilla daemons and tests running meanwhile insert theirs at the top too, so ours need not
    // stay first: only ahead of every rule that is not a Flotilla instance's.
    const mine = lines.indexOf(ruleText(jump));
    const foreign = lines.findIndex((l) => !/ -j FLT[0-9a-f]{4}-/.test(l));
    assert.ok(foreign === -1 || mine < foreign, `${ruleText(jump)} ahead of ${lines[foreign] ?? ''}`);
  }

  // Rebuilding is idempotent: same content, nothing doubled.
  const before = await instanceRules(paths.instance);
  await rebuildChains(chains);
  assert.deepEqual(await instanceRules(paths.instance), before);

  // Adding and deleting by exact spec; deleting again (rules already gone) is not an error.
  const c = record(names, 'cccccc' + '0'.repeat(58), '10.213.252.0/24', false);
  await addRules([{ op: 'insert', rule: book.networkIsoRule(c) }, ...book.networkRules(c).map((rule) => ({ op: 'append' as const, rule }))]);
  assert.equal((await listChain('filter', names.chains.iso))[0], ruleText(book.networkIsoRule(c)));
  await deleteRules([book.networkIsoRule(c), ...book.networkRules(c)]);
  await deleteRules([book.networkIsoRule(c), ...book.networkRules(c)]);
  assert.deepEqual(await instanceRules(paths.instance), before);

  await purgeChains(`FLT${paths.instance}-`);
  assert.deepEqual(await instanceRules(paths.instance), []);
});
