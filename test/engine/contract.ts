/**
 * The Engine contract: what the reconciler and the commands rely on, checked against a real
 * engine through the Engine interface only. Every backend runs it (test/engine/<backend>.test.ts).
 * Needs the image busybox:latest (test/helpers/images.ts makes it). Every test names what it
 * makes `flotilla-ct-<run>-...`, labels it with the run, and removes it when it ends, failed or not.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import type { ContainerSpec, Engine, EngineEvent, LogChunk, ProgressEvent, StreamSession } from '../../src/contract/engine.js';
import { EngineError, type EngineErrorKind } from '../../src/contract/errors.js';
import { bareSpec } from '../helpers/container-spec.js';
import { projectDir } from '../helpers/tmp.js';

export interface ContractOptions {
  /** Called at the start of every test; false means the engine is not available (test skipped). */
  available?: (t: TestContext) => boolean;
  /** An engine that cannot be reached (e.g. a socket path that does not exist). */
  makeUnreachable?: () => Promise<Engine>;
  /** Starts an image registry for the test (stopped when it ends): host:port, or null (skipped). */
  startRegistry?: (t: TestContext) => Promise<string | null>;
  /** Why this engine cannot build images (the build test is skipped with this reason), if it cannot. */
  noBuilder?: string;
}

export const IMAGE = 'busybox:latest';
const RUN = randomBytes(4).toString('hex');
const RUN_LABEL = 'org.flotilla.contract-run';
let counter = 0;

/** A unique name for something a test makes. */
export function uniqueName(what: string): string {
  return `flotilla-ct-${RUN}-${what}-${++counter}`;
}

/** A ContainerSpec with nothing set but the name, the image and the run label. */
export function containerSpec(name: string, overrides: Partial<ContainerSpec> = {}): ContainerSpec {
  return bareSpec(name, { image: IMAGE, ...overrides, labels: { [RUN_LABEL]: RUN, ...overrides.labels } });
}

/** What a test made, removed when it ends (containers first, then what they used). */
class Made {
  containers: string[] = [];
  networks: string[] = [];
  volumes: string[] = [];
  images: string[] = [];

  constructor(t: TestContext, engine: Engine) {
    t.after(async () => {
      const quietly = (p: Promise<unknown>) => p.catch(() => undefined);
      await Promise.all(this.containers.map((c) => quietly(engine.removeContainer(c, { force: true, volumes: true }))));
      await Promise.all(this.networks.map((n) => quietly(engine.removeNetwork(n))));
      await Promise.all(this.volumes.map((v) => quietly(engine.removeVolume(v, true))));
      for (const i of this.images) await quietly(engine.removeImage(i, { force: true }));
    });
  }
}

async function expectKind(p: Promise<unknown>, kind: EngineErrorKind, message?: RegExp): Promise<EngineError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof EngineError, `expected an EngineError, got ${String(e)}`);
    assert.equal(e.kind, kind, `kind of "${e.message}"`);
    if (message) assert.match(e.message, message);
    return e;
  }
  assert.fail(`expected a ${kind} error`);
}

async function collect(output: AsyncIterable<LogChunk>): Promise<{ stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  for await (const chunk of output) {
    if (chunk.stream === 'stdout') stdout += chunk.data.toString();
    else stderr += chunk.data.toString();
  }
  return { stdout, stderr };
}

async function finish(session: StreamSession): Promise<{ stdout: string; stderr: string; code: number }> {
  const out = await collect(session.output);
  return { ...out, code: await session.exitCode() };
}

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-ct-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A /24 in 10.0.0.0/8 that is probably free (another run may hold it: callers retry). */
function randomSubnet(): string {
  return `10.${200 + Math.floor(Math.random() * 50)}.${Math.floor(Math.random() * 256)}.0/24`;
}

export function engineContract(name: string, makeEngine: () => Promise<Engine>, options: ContractOptions = {}): void {
  let shared: Promise<Engine> | undefined;

  /** The engine, or null when the test was skipped because there is none here. */
  async function setup(t: TestContext): Promise<{ engine: Engine; made: Made } | null> {
    if (options.available && !options.available(t)) return null;
    shared ??= makeEngine();
    const engine = await shared;
    return { engine, made: new Made(t, engine) };
  }

  /** Creates a container and records it for removal. */
  async function create(engine: Engine, made: Made, spec: ContainerSpec): Promise<string> {
    made.containers.push(spec.name);
    const id = await engine.createContainer(spec);
    made.containers.push(id);
    return id;
  }

  async function createNetwork(engine: Engine, made: Made, spec: Partial<Parameters<Engine['createNetwork']>[0]> & { name: string }): Promise<string> {
    made.networks.push(spec.name);
    return engine.createNetwork({ driverOpts: {}, internal: false, enableIpv6: false, attachable: false, labels: { [RUN_LABEL]: RUN }, ...spec });
  }

  describe(`Engine contract: ${name}`, { concurrency: 6 }, () => {
    it('reports its version', async (t) => {
      const s = await setup(t);
      if (!s) return;
      const v = await s.engine.version();
      assert.ok(['docker', 'embedded'].includes(v.engine));
      assert.match(v.version, /\d/);
      assert.match(v.apiVersion, /^\d+\.\d+/);
      assert.equal(v.os, 'linux');
    });

    it('inspects and lists images', async (t) => {
      const s = await setup(t);
      if (!s) return;
      const image = await s.engine.inspectImage(IMAGE);
      assert.ok(image, `${IMAGE} is present`);
      assert.match(image.id, /^sha256:[0-9a-f]{64}$/);
      assert.ok(image.repoTags.includes(IMAGE));
      assert.deepEqual(image.config.cmd, ['sh']);
      assert.equal(image.config.entrypoint, null);
      assert.ok(Array.isArray(image.config.env));
      assert.equal(await s.engine.inspectImage(uniqueName('missing-image')), null);
      const list = await s.engine.listImages();
      assert.ok(list.some((i) => i.id === image.id && i.repoTags.includes(IMAGE)));
    });

    it('creates a container as specified and inspects it back', async (t) => {
      const s = await setup(t);
      if (!s) return;
      const { engine, made } = s;
      const dir = tempDir(t);
      const volume = uniqueName('vol');
      made.volumes.push(volume);
      await engine.createVolume({ name: volume, driverOpts: {}, labels: { [RUN_LABEL]: RUN } });
      const [net1, net2] = [uniqueName('net'), uniqueName('net')];
      await createNetwork(engine, made, { name: net1 });
      await createNetwork(engine, made, { name: net2 });
      const name = uniqueName('create');
      const id = await create(
        engine,
        made,
        containerSpec(name, {
          labels: { 'com.example.role': 'test', [RUN_LABEL]: RUN },
          env: ['FOO=bar', 'EMPTY='],
          entrypoint: ['/bin/sh', '-c'],
          command: ['echo ready; exec sleep 30'],
          workingDir: '/tmp',
          hostname: 'ct-host',
          exposedPorts: [{ port: 53, protocol: 'udp' }],
          publishedPorts: [{ containerPort: 80, protocol: 'tcp', hostIp: '127.0.0.1' }],
          mounts: [
            { type: 'bind', source: dir, target: '/bound', readOnly: true },
            { type: 'volume', source: volume, target: '/named', readOnly: false, volumeNoCopy: true },
            { type: 'tmpfs', target: '/scratch', readOnly: false, tmpfsSize: 1 << 20 },
          ],
          networkMode: { kind: 'networks' },
          networks: { [net1]: { aliases: ['primary-alias'] }, [net2]: { aliases: ['second-alias'] } },
          restartPolicy: { name: 'unless-stopped', maximumRetryCount: 0 },
          stopTimeout: 1,
        }),
      );
      assert.match(id, /^[0-9a-f]{64}$/);
      const created = await engine.inspectContainer(name);
      assert.ok(created);
      assert.equal(created.id, id);
      assert.equal(created.name, name);
      assert.equal(created.state.status, 'created');
      assert.equal(created.labels['com.example.role'], 'test');
      assert.ok(created.config.env.includes('FOO=bar') && created.config.env.includes('EMPTY='));
      assert.deepEqual(created.config.entrypoint, ['/bin/sh', '-c']);
      assert.deepEqual(created.config.cmd, ['echo ready; exec sleep 30']);
      assert.equal(created.image, IMAGE);
      assert.equal(created.imageId, (await engine.inspectImage(IMAGE))?.id);
      // Created, not started: the requested binding (its host port still for the engine to pick), and the exposed port.
      const byPort = (p: { containerPort: number; protocol: string }) => `${p.containerPort}/${p.protocol}`;
      assert.deepEqual(created.ports.filter((p) => byPort(p) === '80/tcp'), [{ containerPort: 80, protocol: 'tcp', hostIp: '127.0.0.1' }]);
      assert.deepEqual(created.ports.filter((p) => byPort(p) === '53/udp'), [{ containerPort: 53, protocol: 'udp' }]);
      assert.deepEqual(Object.keys(created.networks).sort(), [net1, net2].sort(), 'every network joined at creation');

      await engine.startContainer(id);
      const running = await engine.inspectContainer(id);
      assert.ok(running?.state.running);
      assert.ok(running.state.pid > 0);
      const published = running.ports.find((p) => byPort(p) === '80/tcp' && p.hostIp === '127.0.0.1');
      assert.ok(published, JSON.stringify(running.ports));
      assert.ok(Number.isInteger(published.hostPort) && (published.hostPort ?? 0) > 0, JSON.stringify(published));
      assert.ok(running.networks[net1]?.aliases.includes('primary-alias'));
      assert.ok(running.networks[net2]?.aliases.includes('second-alias'));
      assert.match(running.networks[net1]?.ipAddress ?? '', /^\d+\.\d+\.\d+\.\d+$/);
      const byTarget = Object.fromEntries(running.mounts.map((m) => [m.destination, m]));
      assert.equal(byTarget['/bound']?.type, 'bind');
      assert.equal(byTarget['/bound']?.rw, false);
      assert.equal(byTarget['/named']?.type, 'volume');
      assert.equal(byTarget['/named']?.name, volume);
      assert.equal(byTarget['/scratch']?.type, 'tmpfs');
      const probe = await finish(
        await engine.exec(id, { command: ['sh', '-c', 'hostname; pwd; echo "$FOO"; touch /bound/x 2>/dev/null || echo read-only'], env: [], privileged: false, tty: false, attachStdin: false, detach: false }),
      );
      assert.equal(probe.stdout, 'ct-host\n/tmp\nbar\nread-only\n');
    });

    it('lists containers by label, running or all', async (t) => {
      const s = await setup(t);
      if (!s) return;
      const { engine, made } = s;
      const tag = uniqueName('list');
      const labels = { 'org.flotilla.ct-list': tag, [RUN_LABEL]: RUN };
      const a = await create(engine, made, containerSpec(uniqueName('list-a'), { labels: { ...labels, role: 'a' }, command: ['sleep', '30'] }));
      await create(engine, made, containerSpec(uniqueName('list-b'), { labels: { ...labels, role: 'b' }, command: ['sleep', '30'] }));
      await engine.startContainer(a);
      const all = await engine.listContainers({ labels: { 'org.flotilla.ct-list': tag }, all: true });
      assert.equal(all.length, 2);
      const running = await engine.listContainers({ labels: { 'org.flotilla.ct-list': tag }, all: false });
      assert.deepEqual(running.map((c) => c.id), [a]);
      assert.equal(running[0]?.state, 'running');
      assert.match(running[0]?.status ?? '', /^Up/);
      assert.equal(running[0]?.image, IMAGE);
      const onlyB = await engine.listContainers({ labels: { 'org.flotilla.ct-list': tag, role: 'b' }, all: true });
      assert.equal(onlyB.length, 1);
      assert.equal(onlyB[0]?.state, 'created');
      assert.ok(onlyB[0]?.name.includes('list-b'));
      const withKey = await engine.listContainers({ labels: { 'org.flotilla.ct-list': true, role: 'a' }, all: true });
      assert.ok(withKey.some((c) => c.id === a));
    });

    it('stops with a timeout, kills, and removes with anonymous volumes', async (t) => {
      const s = await setup(t);
      if (!s) return;
      const { engine, made } = s;
      // PID 1 ignores SIGTERM unless it handles it, so stop has to wait for its timeout, then kill.
      const id = await create(engine, made, containerSpec(uniqueName('stop'), { command: ['sleep', '60'], mounts: [{ type: 'volume', target: '/anon', readOnly: false }] }));
      await engine.startContainer(id);
      const started = Date.now();
      await engine.stopContainer(id, 1);
      const took = Date.now() - started;
      assert.ok(took >= 900 && took < 8000, `stop took ${took} ms`);
      const stopped = await engine.inspectContainer(id);
      assert.equal(stopped?.state.status, 'exited');
      assert.equal(stopped?.state.exitCode, 137);
      await engine.stopContainer(id, 1); // already stopped: not an error

      await engine.startContainer(id);
      await engine.killContainer(id, 'SIGKILL');
      assert.equal(await engine.waitContainer(id), 137);
      await expectKind(engine.killContainer(id), 'conflict');

      await engine.restartContainer(id, 0);
      assert.equal((await engine.inspectContainer(id))?.state.running, true);

      const anon = (await engine.inspectContainer(id))?.mounts.find((m) => m.destination === '/anon');
      assert.ok(anon?.name, 'an anonymous volume was made');
      await expectKind(engine.removeContainer(id), 'conflict');
      await engine.removeContainer(id, { force: true, volumes: true });
      assert.equal(await engine.inspectContainer(id), null);
      assert.equal(await engine.inspectVolume(anon.name), null, 'the anonymous volume went with it');
    });

    it('applies the restart policy', async (t) => {
      const s = await setup(t);
      if (!s) return;
      const { engine, made } = s;
      const id = await create(engine, made, containerSpec(uniqueName('restart'), { command: ['sh', '-c', 'exit 3'], restartPolicy: { name: 'on-failure', maximumRetryCount: 1 } }));
      await engine.startContainer(id);
      const done = await eventually('the one retry', async () => {
        const c = await engine.inspectContainer(id);
        return c && c.restartCount === 1 && c.state.status === 'exited' ? c : undefined;
      });
      assert.equal(done.state.exitCode, 3);
    });

    it('renames, pauses and unpauses', async (t) => {
      const s = await setup(t);
      if (!s) return;
      const { engine, made } = s;
      const id = await create(engine, made, containerSpec(uniqueName('rename'), { command: ['sleep', '30'] }));
      const newName = uniqueName('renamed');
      made.containers.push(newName);
      await engine.renameContainer(id, newName);
      assert.equal((await engine.inspectContainer(newName))?.id, id);
      await engine.startContainer(id);
      // dockerd records pause and unpause from containerd's events, which can come after its
      // answer (on a loaded machine, the "paused" event after the unpause): wait for the state.
      await engine.pauseContainer(id);
      const paused = await eventually('the container to show paused', async () => {
        const c = await engine.inspectContainer(id);
        return c?.state.status === 'paused' ? c : undefined;
      }, 30_000);
      assert.equal(paused.state.paused, true);
      await engine.unpauseContainer(id);
      const running = await eventually('the container to show running again', async () => {
        const c = await engine.inspectContainer(id);
        return c?.state.status === 'running' ? c : undefined;
      }, 30_000);
      assert.equal(running.state.paused, false);
      const top = await engine.top(id);
      assert.ok(top.titles.length > 0);
      assert.ok(top.processes.some((p) => p.join(' ').includes('sleep')), JSON.stringify(top));
    });

    it('waits for the exit code, and stops waiting when aborted', async (t) => {
      const s = await setup(t);
      if (!s) return;
      const { engine, made } = s;
      const quick = await create(engine, made, containerSpec(uniqueName('wait'), { command: ['sh', '-c', 'sleep 0.3; exit 7'] }));
      await engine.startContainer(quick);
      assert.equal(await engine.waitContainer(quick), 7);
      assert.equal(await engine.waitContainer(quick), 7, 'an exited container answers at once');
      const slow = await create(engine, made, containerSpec(uniqueName('wait-slow'), { command: ['sleep', '30'] }));
      await engine.startContainer(slow);
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 200);
      const started = Date.now();
      await assert.rejects(engine.waitContainer(slow, controller.signal), { name: 'AbortError' });
      assert.ok(Date.now() - started < 3000);
    });

    it('reads logs: both streams, tail, timestamps, a TTY', async (t) => {
      const s = await setup(t);
      if (!s) return;
      const { engine, made } = s;
      const id = await create(engine, made, containerSpec(uniqueName('logs'), { command: ['sh', '-c', 'echo one; echo two >&2; sleep 0.2; echo three'] }));
      await engine.startContainer(id);
      await engine.waitContainer(id);
      const all = await collect(engine.containerLogs(id, { follow: false, timestamps: false }));
      assert.equal(all.stdout, 'one\nthree\n');
      assert.equal(all.stderr, 'two\n');
      // (stdout and stderr are logged by separate copiers: only lines apart in time keep their order)
      const tail = await collect(engine.containerLogs(id, { follow: false, timestamps: false, tail: 1 }));
      assert.equal(tail.stdout + tail.stderr, 'three\n');
      const stamped = await collect(engine.containerLogs(id, { follow: false, timestamps: true }));
      for (const line of stamped.stdout.trimEnd().split('\n')) assert.match(line, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z (one|three)$/);
      const future = await collect(engine.containerLogs(id, { follow: false, timestamps: false, since: Math.floor(Date.now() / 1000) + 3600 }));
      assert.equal(future.stdout + future.stderr, '');

      const tty = await create(engine, made, containerSpec(uniqueName('logs-tty'), { tty: true, command: ['sh', '-c', 'echo out; echo err >&2'] }));
      await engine.startContainer(tty);
      await engine.waitContainer(tty);
      const raw = await collect(engine.containerLogs(tty, { follow: false, timestamps: false }));
      assert.equal(raw.stderr, '');
      assert.equal(raw.stdout.replace(/\r/g, ''), 'out\nerr\n');
      await expectKind(collect(engine.containerLogs(uniqueName('no-such'), { follow: false, timestamps: false })), 'not-found');
    });

    it('follows logs until the signal aborts', async (t) => {
      const s = await setup(t);
      if (!s) return;
      const { engine, made } = s;
      const id = await create(engine, made, containerSpec(uniqueName('follow'), { command: ['sh', '-c', 'echo first; sleep 1; echo later; exec sleep 30'] }));
      await engine.startContainer(id);
      const controller = new AbortController();
      let seen = '';
      const started = Date.now();
      for await (const chunk of engine.containerLogs(id, { follow: true, timestamps: false, signal: controller.signal })) {
        seen += chunk.data.toString();
        if (seen.includes('later')) controller.abort();
      }
      assert.equal(seen, 'first\nlater\n');
      assert.ok(Date.now() - started < 10_000);
      // Ending the loop early (break) releases the stream as well.
      for await (const chunk of engine.containerLogs(id, { follow: true, timestamps: false })) {
        // Lines already written may arrive together in one chunk.
        assert.ok(chunk.data.toString().startsWith('first\n'), chunk.data.toString());
        break;
      }
    });

    it('execs: exit code, env, user, working directory, stdin, TTY', async (t) => {
      const s = await setup(t);
      if (!s) return;
      const { engine, made } = s;
      const id = await create(engine, made, containerSpec(uniqueName('exec'), { command: ['sleep', '30'] }));
      await engine.startContainer(id);
      const base = { env: [], privileged: false, tty: false, attachStdin: false, detach: false };
      const failing = await finish(await engine.exec(id, { ...base, command: ['sh', '-c', 'echo out; echo err >&2; exit 5'] }));
      assert.deepEqual(failing, { stdout: 'out\n', stderr: 'err\n', code: 5 });
      const settings = await finish(await engine.exec(id, { ...base, command: ['sh', '-c', 'echo "$GREETING"; id -u; pwd'], env: ['GREETING=hello'], user: 'nobody', workingDir: '/tmp' }));
      assert.deepEqual(settings, { stdout: 'hello\n65534\n/tmp\n', stderr: '', code: 0 });
      const withInput = await engine.exec(id, { ...base, command: ['sh', '-c', 'tr a-z A-Z; exit 2'], attachStdin: true });
      assert.ok(withInput.input);
      withInput.input.end('shout\n');
      assert.deepEqual(await finish(withInput), { stdout: 'SHOUT\n', stderr: '', code: 2 });
      const tty = await engine.exec(id, { ...base, command: ['sh', '-c', 'sleep 0.5; test -t 1 && echo tty; stty size; echo err >&2'], tty: true });
      await tty.resize(40, 100);
      const ttyOut = await finish(tty);
      assert.equal(ttyOut.stdout.replace(/\r/g, ''), 'tty\n40 100\nerr\n');
      assert.equal(ttyOut.code, 0);
      const detached = await engine.exec(id, { ...base, command: ['sh', '-c', 'exit 4'], detach: true });
      assert.equal(await detached.exitCode(), 4);
      await expectKind(engine.exec(uniqueName('no-such'), { ...base, command: ['true'] }), 'not-found');
    });

    it('attaches to a container: output, input, exit code', async (t) => {
      const s = await setup(t);
      if (!s) return;
      const { engine, made } = s;
      const id = await create(engine, made, containerSpec(uniqueName('attach'), { openStdin: true, command: ['sh', '-c', 'echo hello; tr a-z A-Z; echo bye >&2; exit 3'] }));
      const session = await engine.attachContainer(id, { stdin: true, tty: false });
      await engine.startContainer(id);
      session.input?.end('quiet\n');
      assert.deepEqual(await finish(session), { stdout: 'hello\nQUIET\n', stderr: 'bye\n', code: 3 });

      const tty = await create(engine, made, containerSpec(uniqueName('attach-tty'), { tty: true, command: ['sh', '-c', 'sleep 0.2; test -t 1 && echo tty'] }));
      const ttySession = await engine.attachContainer(tty, { stdin: false, tty: true });
      assert.equal(ttySession.input, null);
      await engine.startContainer(tty);
      const out = await finish(ttySession);
      assert.equal(out.stdout.replace(/\r/g, ''), 'tty\n');
      assert.equal(out.code, 0);
    });

    it('networks: create, connect with aliases, resolve names, disconnect, remove', async (t) => {
      const s = await setup(t);
      if (!s) return;
      const { engine, made } = s;
      const name = uniqueName('net');
      const tag = uniqueName('netlabel');
      let subnet = randomSubnet();
      let networkId: string | undefined;
      for (let attempt = 0; networkId === undefined; attempt++) {
        try {
          networkId = await createNetwork(engine, made, { name, internal: true, labels: { 'org.flotilla.ct-net': tag, [RUN_LABEL]: RUN }, ipam: { config: [{ subnet }] } });
        } catch (e) {
          if (attempt > 5 || !(e instanceof EngineError) || !/overlap/i.test(e.message)) throw e;
          subnet = randomSubnet();
        }
      }
      const info = await engine.inspectNetwork(name);
      assert.ok(info);
      assert.equal(info.id, networkId);
      assert.equal(info.internal, true);
      assert.equal(info.labels['org.flotilla.ct-net'], tag);
      assert.equal(info.ipam?.config[0]?.subnet, subnet);
      assert.deepEqual((await engine.listNetworks({ 'org.flotilla.ct-net': tag })).map((n) => n.name), [name]);
      await expectKind(createNetwork(engine, made, { name }), 'conflict');

      const server = await create(engine, made, containerSpec(uniqueName('server'), { command: ['sleep', '30'], networks: { [name]: { aliases: ['web'] } } }));
      await engine.startContainer(server);
      const client = await create(engine, made, containerSpec(uniqueName('client'), { command: ['sh', '-c', 'nslookup web >/dev/null && ping -c1 -W5 web >/dev/null && echo reached'] }));
      await engine.connectNetwork(name, client, { aliases: ['client-alias'] });
      const joined = await engine.inspectContainer(client);
      assert.ok(joined?.networks[name]?.aliases.includes('client-alias'));
      await engine.startContainer(client);
      const code = await engine.waitContainer(client);
      const logs = await collect(engine.containerLogs(client, { follow: false, timestamps: false }));
      assert.equal(code, 0, logs.stdout + logs.stderr);
      assert.equal(logs.stdout, 'reached\n');
      assert.ok(Object.keys((await engine.inspectNetwork(name))?.containers ?? {}).includes(server));

      await expectKind(engine.removeNetwork(name), 'conflict');
      await engine.disconnectNetwork(name, server);
      assert.equal((await engine.inspectContainer(server))?.networks[name], undefined);
      await engine.removeContainer(client, { force: true });
      await engine.removeContainer(server, { force: true });
      await engine.removeNetwork(name);
      assert.equal(await engine.inspectNetwork(name), null);
    });

    it('volumes: create, list by label, inspect, remove', async (t) => {
      const s = await setup(t);
      if (!s) return;
      const { engine, made } = s;
      const name = uniqueName('vol');
      const tag = uniqueName('vollabel');
      made.volumes.push(name);
      const created = await engine.createVolume({ name, driverOpts: {}, labels: { 'org.flotilla.ct-vol': tag, [RUN_LABEL]: RUN } });
      assert.equal(created.name, name);
      assert.equal(created.driver, 'local');
      assert.equal(created.labels['org.flotilla.ct-vol'], tag);
      assert.ok(created.mountpoint.length > 0);
      assert.deepEqual((await engine.listVolumes({ 'org.flotilla.ct-vol': tag })).map((v) => v.name), [name]);
      assert.deepEqual((await engine.listVolumes({ 'org.flotilla.ct-vol': true })).filter((v) => v.name === name).length, 1);
      assert.equal((await engine.inspectVolume(name))?.name, name);
      const user = await create(engine, made, containerSpec(uniqueName('voluser'), { command: ['true'], mounts: [{ type: 'volume', source: name, target: '/data', readOnly: false }] }));
      await expectKind(engine.removeVolume(name), 'conflict');
      await engine.removeContainer(user);
      await engine.removeVolume(name);
      assert.equal(await engine.inspectVolume(name), null);
      await expectKind(engine.removeVolume(name), 'not-found');
    });

    it('streams events of labelled containers until aborted', async (t) => {
      const s = await setup(t);
      if (!s) return;
      const { engine, made } = s;
      const tag = uniqueName('events');
      const controller = new AbortController();
      const since = Math.floor(Date.now() / 1000) - 1;
      const seen: EngineEvent[] = [];
      const reading = (async () => {
        for await (const event of engine.events({ labels: [`org.flotilla.ct-events=${tag}`], types: ['container'], since, signal: controller.signal })) {
          seen.push(event);
          if (event.action === 'die') controller.abort();
        }
      })();
      const id = await create(engine, made, containerSpec(uniqueName('events'), { labels: { 'org.flotilla.ct-events': tag, [RUN_LABEL]: RUN }, command: ['true'] }));
      await engine.startContainer(id);
      const timer = setTimeout(() => controller.abort(), 15_000);
      await reading;
      clearTimeout(timer);
      const actions = seen.map((e) => e.action);
      assert.ok(actions.includes('create') && actions.includes('start') && actions.includes('die'), actions.join(','));
      const die = seen.find((e) => e.action === 'die')!;
      assert.equal(die.type, 'container');
      assert.equal(die.id, id);
      assert.equal(die.attributes['org.flotilla.ct-events'], tag);
      assert.equal(die.attributes['exitCode'], '0');
      assert.ok(die.timeNano > BigInt(since) * 1_000_000_000n);
    });

    it('reports missing objects, taken names and unreachable engines', async (t) => {
      const s = await setup(t);
      if (!s) return;
      const { engine, made } = s;
      const missing = uniqueName('missing');
      assert.equal(await engine.inspectContainer(missing), null);
      assert.equal(await engine.inspectNetwork(missing), null);
      assert.equal(await engine.inspectVolume(missing), null);
      await expectKind(engine.startContainer(missing), 'not-found');
      await expectKind(engine.removeContainer(missing), 'not-found');
      await expectKind(engine.removeImage(missing), 'not-found');
      await expectKind(engine.tagImage(missing, uniqueName('tag')), 'not-found');
      await expectKind(engine.removeNetwork(missing), 'not-found');
      await expectKind(engine.createContainer(containerSpec(uniqueName('noimage'), { image: `${missing}:v1` })), 'not-found');
      const name = uniqueName('dup');
      await create(engine, made, containerSpec(name));
      await expectKind(engine.createContainer(containerSpec(name)), 'conflict', new RegExp(name));
      if (options.makeUnreachable) {
        const away = await options.makeUnreachable();
        try {
          const e = await expectKind(away.version(), 'unreachable');
          assert.ok(e.message.length > 0);
          await expectKind(away.listContainers({ labels: {}, all: true }), 'unreachable');
        } finally {
          away.close();
        }
      }
    });

    it('builds images: .dockerignore, build args, labels, target', async (t) => {
      const s = await setup(t);
      if (!s) return;
      if (options.noBuilder !== undefined) {
        t.skip(options.noBuilder);
        return;
      }
      const { engine, made } = s;
      const context = projectDir(t, {
        Dockerfile: [
          `FROM ${IMAGE} AS base`,
          'ARG GREETING=unset',
          'COPY . /ctx/',
          'RUN echo "$GREETING" > /greeting',
          'FROM base AS final',
          'RUN touch /final',
          '',
        ].join('\n'),
        '.dockerignore': ['# comments are ignored', 'secret.txt', 'logs/**/*.log', '!logs/keep.log', '/Dockerfile', ''].join('\n'),
        'app.txt': 'app\n',
        'secret.txt': 'secret\n',
        'logs/keep.log': 'kept\n',
        'logs/deep/drop.log': 'dropped\n',
        'logs/deep/note.txt': 'note\n',
      });
      const tag = `${uniqueName('build')}:v1`;
      made.images.push(tag);
      const progress: ProgressEvent[] = [];
      const id = await engine.buildImage(
        { context, dockerfile: 'Dockerfile', tags: [tag], args: { GREETING: 'hello' }, labels: { 'org.flotilla.ct-build': 'yes' }, target: 'base', cacheFrom: [], extraHosts: [] },
        (e) => progress.push(e),
      );
      assert.match(id, /^sha256:[0-9a-f]{64}$/);
      assert.ok(progress.length > 0);
      const image = await engine.inspectImage(tag);
      assert.equal(image?.id, id);
      assert.equal(image?.labels['org.flotilla.ct-build'], 'yes');
      const probe = await create(
        engine,
        made,
        containerSpec(uniqueName('built'), { image: tag, command: ['sh', '-c', 'cat /greeting; cd /ctx && find . -type f | sort; test -e /final && echo final'] }),
      );
      await engine.startContainer(probe);
      assert.equal(await engine.waitContainer(probe), 1);
      const out = await collect(engine.containerLogs(probe, { follow: false, timestamps: false }));
      // The Dockerfile is sent (it is needed), but dropped from the context because .dockerignore
      // names it; .dockerignore itself stays, as it does not exclude itself.
      assert.equal(out.stdout, ['hello', './.dockerignore', './app.txt', './logs/deep/note.txt', './logs/keep.log', ''].join('\n'));

      const broken = projectDir(t, { 'build.Dockerfile': `FROM ${IMAGE}\nRUN exit 3\n` });
      await expectKind(
        engine.buildImage({ context: broken, dockerfile: 'build.Dockerfile', tags: [], args: {}, labels: {}, cacheFrom: [], extraHosts: [] }),
        'engine',
        /non-zero code: 3|exit code: 3/,
      );
    });

    it('tags and removes images', async (t) => {
      const s = await setup(t);
      if (!s) return;
      const { engine, made } = s;
      const tag = `${uniqueName('tag')}:v2`;
      made.images.push(tag);
      await engine.tagImage(IMAGE, tag);
      const tagged = await engine.inspectImage(tag);
      assert.equal(tagged?.id, (await engine.inspectImage(IMAGE))?.id);
      assert.ok(tagged?.repoTags.includes(tag));
      await engine.removeImage(tag);
      assert.equal(await engine.inspectImage(tag), null);
      assert.ok(await engine.inspectImage(IMAGE), 'untagging leaves the image');
    });

    it('pushes to and pulls from a registry', async (t) => {
      const s = await setup(t);
      if (!s) return;
      if (!options.startRegistry) {
        t.skip('no registry for this engine');
        return;
      }
      const { engine, made } = s;
      const registry = await options.startRegistry(t);
      if (registry === null) return;
      const ref = `${registry}/${uniqueName('push')}:v1`;
      made.images.push(ref);
      await engine.tagImage(IMAGE, ref);
      const progress: ProgressEvent[] = [];
      const digest = await engine.pushImage(ref, (e) => progress.push(e));
      assert.match(digest, /^sha256:[0-9a-f]{64}$/);
      assert.ok(progress.length > 0);
      await engine.removeImage(ref);
      assert.equal(await engine.inspectImage(ref), null);
      await engine.pullImage(ref);
      const pulled = await engine.inspectImage(ref);
      assert.ok(pulled?.repoDigests.some((d) => d.endsWith(`@${digest}`)), JSON.stringify(pulled?.repoDigests));
      await expectKind(engine.pullImage(`${registry}/${uniqueName('absent')}:v1`), 'not-found');
    });
  });
}
