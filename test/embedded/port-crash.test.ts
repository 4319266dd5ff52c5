/**
 * Issue 15 item 5: the daemon SIGKILLed while a project publishes 127.0.0.1:PORT, a host program
 * takes the port, the daemon starts again. The port it cannot hold again shows on the container
 * (inspect, `ps`, an event), the next `up` fails naming it, no other container gets it (no second
 * DNAT rule), and once the program lets go the daemon holds it again and `up` succeeds.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { describe, it } from 'node:test';
import type { EngineEvent } from '../../src/contract/engine.js';
import { assertOk, flotilla } from '../helpers/cli.js';
import { useTestDaemon } from '../helpers/embedded-daemon.js';
import { waitFor } from '../helpers/wait.js';
import { requireRoot } from '../helpers/root.js';
import { projectDir } from '../helpers/tmp.js';

const testDaemon = useTestDaemon();

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => socket.end('host program\n'));
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/** A port free on 127.0.0.1 now (the kernel's pick, let go at once). */
async function freePort(): Promise<number> {
  const s = await listen(0);
  const address = s.address();
  await new Promise((r) => s.close(r));
  assert.ok(address !== null && typeof address === 'object');
  return address.port;
}

/** The DNAT rules of every Flotilla instance on the host for the port. */
function dnatRules(port: number): string[] {
  const out = spawnSync('iptables', ['-w', '-t', 'nat', '-S'], { encoding: 'utf8' }).stdout ?? '';
  return out.split('\n').filter((l) => l.includes('-j DNAT') && l.includes(`--dport ${port} `));
}

describe('a published port lost in a daemon crash', { concurrency: false }, () => {
  it('shows on the container, fails the next up with the port named, and is never given twice', async (t) => {
    const d = testDaemon();
    if (!requireRoot(t) || !d) return;
    const port = await freePort();
    const compose = (name: string) => `services:\n  web:\n    image: busybox:latest\n    command: ["sleep", "3600"]\n    ports: ["127.0.0.1:${port}:80"]\n`.replace('web', name);
    const first = projectDir(t, { 'compose.yaml': compose('web') }, 'lostport');
    const second = projectDir(t, { 'compose.yaml': compose('other') }, 'lostport2');
    const env = { ...d.env, FLOTILLA_ENGINE: 'embedded', PATH: process.env['PATH'] ?? '/usr/bin:/bin' };
    let server: Server | null = null;
    t.after(async () => {
      if (server) await new Promise((r) => server?.close(r));
      // The daemon must be up for down (a CLI call would otherwise start one of its own).
      if (!d.process) await d.start().catch(() => undefined);
      flotilla(['down', '-t', '0'], { cwd: first, env: { ...env, HOME: first }, timeoutMs: 60_000 });
      flotilla(['down', '-t', '0'], { cwd: second, env: { ...env, HOME: second }, timeoutMs: 60_000 });
    });
    const cli = (dir: string, args: string[]) => flotilla(args, { cwd: dir, env: { ...env, HOME: dir }, timeoutMs: 60_000 });

    assertOk(cli(first, ['up', '-d']));
    assert.equal(dnatRules(port).length, 1, 'one DNAT rule once published');
    const restartedAt = Date.now() / 1000;
    await d.kill();
    server = await listen(port); // the host program takes the port before the daemon is back
    await d.start();

    // inspect: the binding is there, marked as not held
    const [summary] = await d.engine.listContainers({ labels: { 'com.docker.compose.project': 'lostport' }, all: true });
    assert.ok(summary, 'the container is still listed');
    assert.equal(summary.state, 'running');
    assert.deepEqual(summary.unheldPorts, [`127.0.0.1:${port}/tcp`]);
    const info = await d.engine.inspectContainer(summary.id);
    const binding = info?.ports.find((p) => p.hostPort === port);
    assert.match(binding?.unheld ?? '', /address already in use/);

    // ps: the Ports column says so
    const ps = assertOk(cli(first, ['ps']));
    assert.match(ps.stdout, new RegExp(`127\\.0\\.0\\.1:${port}->80/tcp \\(unheld: taken by another program\\)`), ps.stdout);
    const psJson = JSON.parse(assertOk(cli(first, ['ps', '--format', 'json'])).stdout) as { Ports: string }[];
    assert.match(psJson[0]?.Ports ?? '', /unheld/);

    // events: the daemon reported it when it started
    const abort = new AbortController();
    const seen: EngineEvent[] = [];
    const reading = (async () => {
      for await (const e of d.engine.events({ since: restartedAt, types: ['container'], labels: ['com.docker.compose.project=lostport'], signal: abort.signal })) {
        seen.push(e);
        if (e.action === 'port-unheld') return;
      }
    })();
    await waitFor('the port-unheld event', async () => seen.some((e) => e.action === 'port-unheld'), 10_000).finally(() => abort.abort());
    await reading.catch(() => undefined);
    const event = seen.find((e) => e.action === 'port-unheld');
    assert.equal(event?.id, summary.id);
    assert.equal(event?.attributes['port'], `127.0.0.1:${port}/tcp`);

    // the next up fails naming the port, and changes nothing
    const again = cli(first, ['up', '-d']);
    assert.equal(again.status, 1, again.stderr);
    assert.equal(again.stderr.trim().split('\n').length, 1, again.stderr);
    assert.match(again.stderr, new RegExp(`^ERROR: service web: container lostport[-_]web[-_]1 does not hold its published port 127\\.0\\.0\\.1:${port}/tcp: another program took it`));
    assert.ok(!/\n\s+at /.test(again.stderr), 'no stack trace');
    assert.equal((await d.engine.inspectContainer(summary.id))?.state.status, 'running', 'the container was left alone');

    // another project asking for the same port is refused: the port stays the first container's
    const other = cli(second, ['up', '-d']);
    assert.equal(other.status, 1, `${other.stdout}${other.stderr}`);
    assert.match(other.stderr, new RegExp(`127\\.0\\.0\\.1:${port}`));
    const others = await d.engine.listContainers({ labels: { 'com.docker.compose.project': 'lostport2' }, all: true });
    assert.ok(others.every((c) => c.state !== 'running'), 'no second container runs with the port');
    assert.equal(dnatRules(port).length, 1, 'still one DNAT rule for the port');

    // the program lets go: the daemon holds the port again by itself, and up is content
    await new Promise((r) => server?.close(r));
    server = null;
    await waitFor('the port held again', async () => (await d.engine.inspectContainer(summary.id))?.ports.every((p) => p.unheld === undefined), 15_000);
    assert.deepEqual((await d.engine.listContainers({ labels: { 'com.docker.compose.project': 'lostport' }, all: true }))[0]?.unheldPorts ?? [], []);
    assertOk(cli(first, ['up', '-d']));
    assert.doesNotMatch(assertOk(cli(first, ['ps'])).stdout, /unheld/);
    assert.equal(dnatRules(port).length, 1, 'one DNAT rule');
    // held by the daemon again: a host program cannot take it now
    await assert.rejects(listen(port), /EADDRINUSE/);
  });
});
