/**
 * Every unary RPC across a real socket: the arguments reach the backend exactly as given (nulls,
 * empty lists and absent fields kept apart, labels, numbers), and its results reach the caller
 * exactly as the backend made them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DaemonBackend } from '../../../src/contract/backend.js';
import type { ProgressEvent } from '../../../src/contract/engine.js';
import {
  IMAGE_ID,
  fullBuild,
  fullContainerInfo,
  fullExec,
  fullImage,
  fullNetworkInfo,
  fullNetworkSpec,
  fullSpec,
  fullStatus,
  fullVolume,
  sparseBuild,
  sparseContainerInfo,
  sparseImage,
  sparseNetworkSpec,
  sparseSpec,
} from './fixtures.js';
import { sharedRig, startRig, stopRig, withReplies } from './harness.js';
import { MemoryBackend } from './memory-backend.js';

/** A rig whose backend answers `replies` itself; stopped when `body` is done. */
async function withCanned(replies: Partial<Record<keyof DaemonBackend, unknown>>, body: (engine: DaemonBackend) => Promise<void>): Promise<void> {
  const rig = await startRig(withReplies(new MemoryBackend([fullImage]), replies));
  try {
    await body(rig.engine);
  } finally {
    await stopRig(rig);
  }
}

describe('embedded engine RPC: round trips', () => {
  const rig = sharedRig();

  it('version', async () => {
    assert.deepEqual(await rig().engine.version(), { engine: 'embedded', version: '0.1.0-memory', apiVersion: '1.0', os: 'linux', arch: process.arch });
  });

  it('images: inspect every field, null lists apart from empty ones, a missing image is null, list', async () => {
    const { engine, backend } = rig();
    assert.deepEqual(await engine.inspectImage('busybox:latest'), fullImage);
    assert.deepEqual(backend.received.get('inspectImage'), ['busybox:latest']);
    const sparse = await engine.inspectImage(sparseImage.id);
    assert.deepEqual(sparse, sparseImage);
    assert.equal(sparse?.config.cmd, null);
    assert.equal(sparse?.config.entrypoint, null);
    assert.deepEqual((await engine.inspectImage(IMAGE_ID))?.config.entrypoint, [], 'an empty entrypoint stays empty, not null');
    assert.equal(await engine.inspectImage('no-such:image'), null);
    const list = await engine.listImages();
    assert.deepEqual(
      list.find((i) => i.id === IMAGE_ID),
      { id: IMAGE_ID, repoTags: fullImage.repoTags, repoDigests: fullImage.repoDigests, created: Math.floor(Date.parse(fullImage.created) / 1000), size: fullImage.size, labels: fullImage.labels },
    );
  });

  it('images: tag, remove with and without options', async () => {
    const { engine, backend } = rig();
    await engine.tagImage('busybox:latest', 'copy:v1');
    assert.deepEqual(backend.received.get('tagImage'), ['busybox:latest', 'copy:v1']);
    assert.ok((await engine.inspectImage('copy:v1'))?.repoTags.includes('copy:v1'));
    await engine.removeImage('copy:v1');
    assert.deepEqual(backend.received.get('removeImage'), ['copy:v1']);
    await engine.tagImage('busybox:latest', 'copy:v2');
    await engine.removeImage('copy:v2', { force: true });
    assert.deepEqual(backend.received.get('removeImage'), ['copy:v2', { force: true }]);
    await engine.removeImage('copy:v2', {}).catch(() => undefined);
    assert.deepEqual(backend.received.get('removeImage'), ['copy:v2', {}], 'empty options stay empty options');
    assert.equal(await engine.inspectImage('copy:v2'), null);
  });

  it('build, pull and push: the request, every progress line in order, the result', async () => {
    const { engine, backend } = rig();
    const seen: ProgressEvent[] = [];
    const id = await engine.buildImage(fullBuild, (e) => seen.push(e));
    assert.deepEqual(backend.received.get('buildImage'), [fullBuild]);
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(seen, [{ status: 'Step 1/2 : FROM busybox' }, { status: 'Step 2/2 : RUN true' }]);
    assert.equal((await engine.inspectImage('demo/web:1'))?.id, id);
    await engine.buildImage(sparseBuild);
    assert.deepEqual(backend.received.get('buildImage'), [sparseBuild]);

    const pulled: ProgressEvent[] = [];
    assert.equal(await engine.pullImage('alpine:3', (e) => pulled.push(e)), undefined);
    assert.deepEqual(pulled, [{ status: 'Pulling from alpine:3' }, { id: 'layer1', status: 'Downloading', detail: '1/2' }, { id: 'layer1', status: 'Pull complete' }]);
    assert.ok(await engine.inspectImage('alpine:3'));

    const digest = await engine.pushImage('alpine:3');
    assert.match(digest, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual((await engine.inspectImage('alpine:3'))?.repoDigests, [`alpine@${digest}`]);
  });

  it('registry digests: a digest, or null', async () => {
    const { engine } = rig();
    assert.match((await engine.registryDigest('busybox:latest')) ?? '', /^sha256:/);
    assert.equal(await engine.registryDigest('absent:v1'), null);
  });

  it('image removal: the reference and force reach the backend, its report comes back', async () => {
    const { engine, backend } = rig();
    assert.deepEqual(JSON.parse(await engine.imageRemoval('app:1', false)), { untagged: ['app:1'], deleted: [] });
    assert.deepEqual(backend.received.get('imageRemoval'), ['app:1', false]);
    assert.deepEqual(JSON.parse(await engine.imageRemoval('app:2', true)), { untagged: ['app:2'], deleted: ['sha256:forced'] });
    assert.deepEqual(backend.received.get('imageRemoval'), ['app:2', true]);
  });

  it('container specs: every field, and a sparse spec, reach the backend unchanged', async () => {
    const { engine, backend } = rig();
    await engine.createNetwork({ ...sparseNetworkSpec, name: 'demo_front' });
    await engine.createNetwork({ ...sparseNetworkSpec, name: 'demo_back' });
    const full = fullSpec('full');
    const id = await engine.createContainer(full);
    assert.match(id, /^[0-9a-f]{64}$/);
    assert.deepEqual(backend.received.get('createContainer'), [full]);
    const sparse = sparseSpec('sparse');
    await engine.createContainer(sparse);
    const [received] = backend.received.get('createContainer') as [Record<string, unknown>];
    assert.deepEqual(received, sparse);
    for (const key of ['entrypoint', 'command', 'healthcheck', 'restartPolicy', 'storageOpt', 'init', 'stopTimeout', 'memory']) assert.ok(!(key in received), `${key} stays unset`);
    // An empty command and entrypoint are not "unset".
    await engine.createContainer({ ...sparseSpec('cleared'), entrypoint: [], command: [] });
    const [cleared] = backend.received.get('createContainer') as [Record<string, unknown>];
    assert.deepEqual([cleared['entrypoint'], cleared['command']], [[], []]);
  });

  it('container info: every field, and a sparse one, reach the caller unchanged', async () => {
    await withCanned({ inspectContainer: fullContainerInfo }, async (engine) => assert.deepEqual(await engine.inspectContainer('x'), fullContainerInfo));
    await withCanned({ inspectContainer: sparseContainerInfo }, async (engine) => {
      const info = await engine.inspectContainer('x');
      assert.deepEqual(info, sparseContainerInfo);
      assert.equal(info?.config.cmd, null);
      assert.ok(info && !('health' in info.state));
    });
    const { engine } = rig();
    assert.equal(await engine.inspectContainer('no-such-container'), null);
  });

  it('lists containers by label values and by label presence', async () => {
    const { engine, backend } = rig();
    const a = await engine.createContainer({ ...sparseSpec('list-a'), labels: { app: 'x', role: 'a', empty: '' }, command: ['sleep'] });
    await engine.createContainer({ ...sparseSpec('list-b'), labels: { app: 'x', role: 'b' } });
    await engine.startContainer(a);
    const query = { labels: { app: 'x', empty: true as const }, all: true };
    const found = await engine.listContainers(query);
    assert.deepEqual(backend.received.get('listContainers'), [query]);
    assert.deepEqual(found.map((c) => c.name), ['list-a']);
    const summary = found[0]!;
    assert.deepEqual(summary.labels, { app: 'x', role: 'a', empty: '' });
    assert.equal(summary.state, 'running');
    assert.ok(Number.isInteger(summary.created) && summary.created > 1_600_000_000);
    assert.deepEqual((await engine.listContainers({ labels: { app: 'x', empty: '' }, all: true })).map((c) => c.name), ['list-a'], 'an empty value is a value');
    assert.deepEqual((await engine.listContainers({ labels: { app: 'x' }, all: false })).map((c) => c.name), ['list-a']);
    assert.deepEqual((await engine.listContainers({ labels: { app: 'x' }, all: true })).map((c) => c.name).sort(), ['list-a', 'list-b']);
  });

  it('lifecycle calls carry their optional arguments, absent or given', async () => {
    const { engine, backend } = rig();
    const id = await engine.createContainer({ ...sparseSpec('life'), command: ['sleep'] });
    await engine.startContainer(id);
    assert.deepEqual(backend.received.get('startContainer'), [id]);
    await engine.stopContainer(id);
    assert.deepEqual(backend.received.get('stopContainer'), [id]);
    await engine.restartContainer(id, 0);
    assert.deepEqual(backend.received.get('restartContainer'), [id, 0], 'a zero timeout is not "no timeout"');
    await engine.stopContainer(id, 7);
    assert.deepEqual(backend.received.get('stopContainer'), [id, 7]);
    await engine.startContainer(id);
    await engine.pauseContainer(id);
    assert.equal((await engine.inspectContainer(id))?.state.status, 'paused');
    await engine.unpauseContainer(id);
    assert.deepEqual(await engine.top(id, 'aux'), { titles: ['PID', 'USER', 'COMMAND'], processes: [['4242', 'root', 'sleep']] });
    assert.deepEqual(backend.received.get('top'), [id, 'aux']);
    await engine.top(id);
    assert.deepEqual(backend.received.get('top'), [id]);
    await engine.killContainer(id, 'SIGTERM');
    assert.deepEqual(backend.received.get('killContainer'), [id, 'SIGTERM']);
    assert.equal(await engine.waitContainer(id), 143);
    await engine.renameContainer(id, 'life-2');
    assert.deepEqual(backend.received.get('renameContainer'), [id, 'life-2']);
    assert.equal((await engine.inspectContainer('life-2'))?.id, id);
    await engine.removeContainer('life-2', { force: true, volumes: false });
    assert.deepEqual(backend.received.get('removeContainer'), ['life-2', { force: true, volumes: false }]);
    assert.equal(await engine.inspectContainer(id), null);
  });

  it('networks: every field of a spec and of an info, connect with an endpoint, disconnect, list, remove', async () => {
    const { engine, backend } = rig();
    const spec = { ...fullNetworkSpec, name: 'full-net' };
    const id = await engine.createNetwork(spec);
    assert.deepEqual(backend.received.get('createNetwork'), [spec]);
    const info = await engine.inspectNetwork('full-net');
    assert.deepEqual(info?.ipam, fullNetworkSpec.ipam);
    assert.equal(info?.id, id);
    await engine.createNetwork({ ...sparseNetworkSpec, name: 'plain-net' });
    assert.deepEqual(backend.received.get('createNetwork'), [{ ...sparseNetworkSpec, name: 'plain-net' }]);
    const plain = await engine.inspectNetwork('plain-net');
    assert.ok(plain && !('ipam' in plain), 'no IPAM stays no IPAM');
    assert.deepEqual((await engine.listNetworks({ 'com.docker.compose.network': 'front' })).map((n) => n.name), ['full-net']);
    assert.deepEqual((await engine.listNetworks({ 'com.docker.compose.network': true })).map((n) => n.name), ['full-net']);

    const c = await engine.createContainer({ ...sparseSpec('net-user'), command: ['sleep'] });
    const endpoint = { aliases: ['api'], ipv4Address: '10.1.0.9', linkLocalIps: [] };
    await engine.connectNetwork('full-net', c, endpoint);
    assert.deepEqual(backend.received.get('connectNetwork'), ['full-net', c, endpoint]);
    await engine.connectNetwork('plain-net', c, { aliases: [] });
    assert.deepEqual(backend.received.get('connectNetwork'), ['plain-net', c, { aliases: [] }], 'absent lists stay absent');
    assert.deepEqual((await engine.inspectNetwork('full-net'))?.containers, { [c]: 'net-user' });
    await engine.disconnectNetwork('full-net', c, true);
    assert.deepEqual(backend.received.get('disconnectNetwork'), ['full-net', c, true]);
    await engine.disconnectNetwork('plain-net', c);
    assert.deepEqual(backend.received.get('disconnectNetwork'), ['plain-net', c]);
    await engine.removeNetwork('plain-net');
    assert.equal(await engine.inspectNetwork('plain-net'), null);
    await withCanned({ inspectNetwork: fullNetworkInfo, listNetworks: [fullNetworkInfo] }, async (canned) => {
      assert.deepEqual(await canned.inspectNetwork('x'), fullNetworkInfo);
      assert.deepEqual(await canned.listNetworks({}), [fullNetworkInfo]);
    });
  });

  it('volumes: create, inspect, list by label, remove with force', async () => {
    const { engine, backend } = rig();
    const spec = { name: 'vol-a', driver: 'local', driverOpts: { type: 'tmpfs' }, labels: { keep: 'yes' } };
    const created = await engine.createVolume(spec);
    assert.deepEqual(backend.received.get('createVolume'), [spec]);
    assert.deepEqual(created, { name: 'vol-a', driver: 'local', labels: { keep: 'yes' }, mountpoint: '/var/lib/flotilla/volumes/vol-a/_data', options: { type: 'tmpfs' } });
    await engine.createVolume({ name: 'vol-b', driverOpts: {}, labels: {} });
    assert.deepEqual(backend.received.get('createVolume'), [{ name: 'vol-b', driverOpts: {}, labels: {} }]);
    assert.deepEqual(await engine.inspectVolume('vol-a'), created);
    assert.equal(await engine.inspectVolume('vol-none'), null);
    assert.deepEqual((await engine.listVolumes({ keep: true })).map((v) => v.name), ['vol-a']);
    await engine.removeVolume('vol-a');
    assert.deepEqual(backend.received.get('removeVolume'), ['vol-a']);
    await engine.removeVolume('vol-none', true);
    assert.deepEqual(backend.received.get('removeVolume'), ['vol-none', true]);
    await withCanned({ inspectVolume: fullVolume, listVolumes: [fullVolume], createVolume: fullVolume }, async (canned) => {
      assert.deepEqual(await canned.inspectVolume('x'), fullVolume);
      assert.deepEqual(await canned.listVolumes({}), [fullVolume]);
      assert.deepEqual(await canned.createVolume({ name: 'x', driverOpts: {}, labels: {} }), fullVolume);
    });
  });

  it('daemon status, every field', async () => {
    await withCanned({ status: fullStatus }, async (engine) => assert.deepEqual(await engine.status(), fullStatus));
    const status = await rig().engine.status();
    assert.equal(status.pid, process.pid);
    assert.ok(status.rss > 0);
  });

  it('exec specs reach the backend unchanged', async () => {
    const { engine, backend } = rig();
    const id = await engine.createContainer({ ...sparseSpec('exec-spec'), command: ['sleep'] });
    await engine.startContainer(id);
    const session = await engine.exec(id, { ...fullExec, command: ['exit', '0'] });
    assert.deepEqual(backend.received.get('exec'), [id, { ...fullExec, command: ['exit', '0'] }]);
    session.close();
    const sparse = await engine.exec(id, { command: ['exit', '0'], env: [], privileged: false, tty: false, attachStdin: false, detach: false });
    assert.deepEqual(backend.received.get('exec'), [id, { command: ['exit', '0'], env: [], privileged: false, tty: false, attachStdin: false, detach: false }]);
    assert.equal(await sparse.exitCode(), 0);
    sparse.close();
    const withEmpty = await engine.exec(id, { command: ['exit', '0'], env: [], privileged: false, tty: false, attachStdin: false, detach: false, user: '', workingDir: '' });
    assert.deepEqual(backend.received.get('exec'), [id, { command: ['exit', '0'], env: [], privileged: false, tty: false, attachStdin: false, detach: false, user: '', workingDir: '' }], 'an empty user is not "no user"');
    withEmpty.close();
  });
});
