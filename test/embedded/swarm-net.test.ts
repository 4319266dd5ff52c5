/**
 * Service discovery and published ports on the embedded swarm core (a test daemon of this file's
 * own, runc, busybox): a vip service's name resolves to its virtual IP (shown in `service inspect`)
 * and connections to it are spread over its tasks; a dnsrr service's name resolves to its tasks;
 * `tasks.<service>` lists task addresses in both modes; an ingress port answers from every task, a
 * host-mode port from its task; scaling changes the backends; `stack rm` leaves no rule, veth or
 * bridge (the harness checks the rest of the host after).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { embeddedCli, succeeded } from '../helpers/embedded-cli.js';
import { useTestDaemon } from '../helpers/embedded-daemon.js';
import { requireRoot } from '../helpers/root.js';
import { waitFor } from '../helpers/wait.js';

const daemon = useTestDaemon();
const run = embeddedCli(daemon);
const dir = mkdtempSync(join(tmpdir(), 'flotilla-swarm-net-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const STACK = 'swn';
// Ports of this run's own (another test daemon may publish at the same time).
const INGRESS = 20000 + (process.pid % 4000) * 2;
const HOST = INGRESS + 1;
const SERVE = `["sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www"]`;

function stackFile(webReplicas: number): void {
  const common = `    image: busybox:latest
    init: true
    stop_grace_period: 1s`;
  writeFileSync(
    join(dir, 'stack.yml'),
    `version: "3.8"
services:
  web:
${common}
    command: ${SERVE}
    ports: ["${INGRESS}:80"]
    deploy: {replicas: ${webReplicas}}
  rr:
${common}
    command: ${SERVE}
    deploy: {replicas: 2, endpoint_mode: dnsrr}
  pinned:
${common}
    command: ${SERVE}
    ports: [{target: 80, published: ${HOST}, mode: host}]
  client:
${common}
    command: ["sleep", "3600"]
`,
  );
}

function engine() {
  const d = daemon();
  assert.ok(d);
  return d.engine;
}

async function running(service: string) {
  return (await engine().listContainers({ labels: { 'com.docker.swarm.service.name': `${STACK}_${service}` }, all: false })).filter((c) => c.state === 'running');
}

/** The running tasks' host names (what they serve) and addresses on the stack's network. */
async function tasks(service: string): Promise<{ hostname: string; ip: string }[]> {
  const out: { hostname: string; ip: string }[] = [];
  for (const c of await running(service)) {
    const info = await engine().inspectContainer(c.id);
    assert.ok(info);
    out.push({ hostname: (await execIn(c.id, 'hostname')).trim(), ip: info.networks[`${STACK}_default`]?.ipAddress ?? '' });
  }
  return out;
}

async function runningCount(service: string, count: number): Promise<void> {
  await waitFor(`${count} running tasks of ${service}`, async () => ((await running(service)).length === count ? true : undefined), 90_000);
}

/** Runs a command in the client task; its stdout. */
async function inClient(command: string): Promise<string> {
  const [client] = await running('client');
  assert.ok(client);
  return execIn(client.id, command);
}

async function execIn(id: string, command: string): Promise<string> {
  const session = await engine().exec(id, { command: ['sh', '-c', command], env: [], privileged: false, tty: false, attachStdin: false, detach: false });
  let out = '';
  for await (const chunk of session.output) if (chunk.stream === 'stdout') out += chunk.data.toString();
  await session.exitCode();
  return out;
}

/** The A records busybox nslookup prints for the name (the resolver's own address left out). */
async function lookup(name: string): Promise<string[]> {
  const out = await inClient(`nslookup -type=a ${name} 2>/dev/null`);
  const answer = out.split(/\n\s*\n/).slice(1).join('\n');
  return [...answer.matchAll(/^Address:\s*([0-9.]+)\s*$/gm)].map((m) => m[1] as string).sort();
}

/** One HTTP GET on a new connection from the host. */
function get(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body.trim()));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

async function hostnamesFromHost(port: number, times: number): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < times; i++) seen.add(await get(port));
  return seen;
}

function serviceRules(): string[] {
  const tag = daemon()?.paths.instance ?? '';
  const saved = spawnSync('iptables-save', [], { encoding: 'utf8' }).stdout ?? '';
  return saved.split('\n').filter((l) => l.startsWith(`-A FLT${tag}-SVC`));
}

test('service discovery and published ports on the embedded swarm core: vip, dnsrr, tasks.<service>, ingress and host ports, scale, rm', { timeout: 600_000 }, async (t) => {
  if (!requireRoot(t)) return;
  t.after(async () => {
    run(dir, ['stack', 'rm', STACK]);
    await waitFor('the stack gone', async () => ((await engine().listContainers({ labels: { 'com.docker.stack.namespace': STACK }, all: true })).length === 0 ? true : undefined), 60_000).catch(() => undefined);
  });

  stackFile(3);
  succeeded(run(dir, ['stack', 'deploy', '--resolve-image', 'never', '-c', 'stack.yml', STACK]), 'stack deploy');
  await Promise.all([runningCount('web', 3), runningCount('rr', 2), runningCount('pinned', 1), runningCount('client', 1)]);

  // inspect: the virtual IP on the stack's network, and the published port.
  const [inspected] = JSON.parse(succeeded(run(dir, ['service', 'inspect', `${STACK}_web`]), 'service inspect')) as {
    Endpoint: { Spec: { Mode: string }; Ports?: { Protocol: string; TargetPort: number; PublishedPort: number; PublishMode: string }[]; VirtualIPs?: { NetworkID: string; Addr: string }[] };
  }[];
  assert.ok(inspected);
  assert.equal(inspected.Endpoint.Spec.Mode, 'vip');
  assert.deepEqual(inspected.Endpoint.Ports, [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: INGRESS, PublishMode: 'ingress' }]);
  assert.equal(inspected.Endpoint.VirtualIPs?.length, 1, JSON.stringify(inspected.Endpoint));
  const [vipAddr, prefix] = (inspected.Endpoint.VirtualIPs?.[0]?.Addr ?? '').split('/');
  const network = await engine().inspectNetwork(`${STACK}_default`);
  const subnet = network?.ipam?.config[0]?.subnet ?? '';
  assert.equal(`/${prefix}`, subnet.slice(subnet.indexOf('/')), `${vipAddr}/${prefix} in ${subnet}`);
  assert.equal(vipAddr?.split('.').slice(0, 3).join('.'), subnet.split('.').slice(0, 3).join('.'), `${vipAddr} in ${subnet}`);
  const [rrInspected] = JSON.parse(succeeded(run(dir, ['service', 'inspect', `${STACK}_rr`]), 'service inspect rr')) as { Spec: { EndpointSpec: { Mode: string } }; Endpoint: { Spec: { Mode?: string }; VirtualIPs?: unknown[] } }[];
  assert.equal(rrInspected?.Spec.EndpointSpec.Mode, 'dnsrr');
  // As Docker shows a dnsrr service without ports: swarmkit gives it no endpoint, so an empty Endpoint.Spec.
  assert.deepEqual(rrInspected?.Endpoint, { Spec: {} });

  // vip: the name (short and full) is the virtual IP, never a task's; tasks.<name> lists the tasks.
  const web = await tasks('web');
  assert.ok(!web.some((x) => x.ip === vipAddr));
  assert.deepEqual(await lookup('web'), [vipAddr]);
  assert.deepEqual(await lookup(`${STACK}_web`), [vipAddr]);
  assert.deepEqual(await lookup('tasks.web'), web.map((x) => x.ip).sort());
  assert.deepEqual(await lookup(`tasks.${STACK}_web`), web.map((x) => x.ip).sort());
  // Connections to the virtual IP go to every task.
  const viaVip = new Set((await inClient('for i in 1 2 3 4 5 6 7 8 9; do wget -q -O - http://web/; done')).trim().split('\n'));
  assert.deepEqual([...viaVip].sort(), web.map((x) => x.hostname).sort());

  // dnsrr: the name is every task's address; tasks.<name> too.
  const rr = await tasks('rr');
  assert.deepEqual(await lookup('rr'), rr.map((x) => x.ip).sort());
  assert.deepEqual(await lookup('tasks.rr'), rr.map((x) => x.ip).sort());
  const viaRr = (await inClient('wget -q -O - http://rr/')).trim();
  assert.ok(rr.some((x) => x.hostname === viaRr), `${viaRr} is one of ${rr.map((x) => x.hostname).join(', ')}`);

  // The ingress port answers from every task; the host-mode port from its own task.
  assert.deepEqual([...(await hostnamesFromHost(INGRESS, 9))].sort(), web.map((x) => x.hostname).sort());
  const [pinned] = await tasks('pinned');
  assert.deepEqual([...(await hostnamesFromHost(HOST, 2))], [pinned?.hostname]);

  // Scale 3 → 1: one backend left, everywhere.
  succeeded(run(dir, ['service', 'scale', '--detach=true', `${STACK}_web=1`]), 'scale to 1');
  await runningCount('web', 1);
  const [left] = await tasks('web');
  assert.ok(left);
  await waitFor('tasks.web to list one task', async () => ((await lookup('tasks.web')).join() === left.ip ? true : undefined));
  assert.deepEqual([...(await hostnamesFromHost(INGRESS, 4))], [left.hostname]);
  assert.deepEqual(new Set((await inClient('for i in 1 2 3 4; do wget -q -O - http://web/; done')).trim().split('\n')), new Set([left.hostname]));
  assert.equal(serviceRules().filter((l) => l.includes(`-d ${vipAddr}/32`)).length, 1, serviceRules().join('\n'));

  // stack rm: no rule, no veth, no bridge of the stack.
  succeeded(run(dir, ['stack', 'rm', STACK]), 'stack rm');
  await waitFor('no container of the stack', async () => ((await engine().listContainers({ labels: { 'com.docker.stack.namespace': STACK }, all: true })).length === 0 ? true : undefined), 60_000);
  await waitFor('no network of the stack', async () => ((await engine().listNetworks({})).some((n) => n.name.startsWith(`${STACK}_`)) ? undefined : true), 30_000);
  assert.deepEqual(serviceRules(), []);
  const tag = daemon()?.paths.instance ?? '';
  const links = (spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).stdout ?? '').split('\n').filter((l) => l.includes(`flv${tag}`));
  assert.deepEqual(links, []);
  const bridges = (await engine().listNetworks({})).map((n) => n.name);
  assert.deepEqual(bridges, ['bridge']);
  assert.ok(!(spawnSync('ip', ['-o', 'addr', 'show'], { encoding: 'utf8' }).stdout ?? '').includes(`${vipAddr}/32`), 'the virtual IP is no address of the host any more');
});
