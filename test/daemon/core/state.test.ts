import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { resolveInRoot } from '../../../src/daemon/containers/mounts.js';
import { effectiveProcess } from '../../../src/daemon/containers/effective-process.js';
import { logSettings } from '../../../src/daemon/containers/log-settings.js';
import { statusText } from '../../../src/daemon/containers/status-text.js';
import { humanDuration } from '../../../src/util/human-duration.js';
import { freshState } from '../../../src/daemon/containers/record.js';
import { EventBus } from '../../../src/daemon/events.js';
import { daemonPaths } from '../../../src/daemon/paths.js';
import { LatestJsonFile, readJson, writeJsonAtomic } from '../../../src/daemon/state/json-file.js';
import { KeyedMutex } from '../../../src/daemon/state/mutex.js';
import { VolumeStore } from '../../../src/daemon/volumes/store.js';
import { EngineError } from '../../../src/contract/errors.js';
import type { ContainerSpec } from '../../../src/contract/engine.js';
import { projectDir } from '../../helpers/tmp.js';

test('state files are replaced whole and read back', async (t) => {
  const dir = projectDir(t, {});
  const file = join(dir, 'a', 'state.json');
  await writeJsonAtomic(file, { n: 1 });
  await writeJsonAtomic(file, { n: 2 });
  assert.deepEqual(await readJson(file), { n: 2 });
  assert.deepEqual(readdirSync(join(dir, 'a')), ['state.json'], 'no temporary left');
  assert.equal(await readJson(join(dir, 'missing.json')), null);
  writeFileSync(join(dir, 'bad.json'), '{');
  await assert.rejects(readJson(join(dir, 'bad.json')), /state file .*bad\.json is corrupt/);
});

test('a file saved from many places at once ends with the latest value, each save settling with its value or a later one on disk; after close nothing is written', async (t) => {
  const dir = projectDir(t, {});
  const path = join(dir, 'net.json');
  const file = new LatestJsonFile(path);
  const seen = new Map<number, number>();
  const saves = Array.from({ length: 20 }, (_, n) =>
    file.save({ n }).then(async () => {
      // Each save has settled only once a write begun after it has: the file holds its value or a later one.
      seen.set(n, ((await readJson<{ n: number }>(path)) as { n: number }).n);
    }),
  );
  await Promise.all(saves);
  assert.deepEqual(await readJson(path), { n: 19 });
  for (let n = 0; n < 20; n++) assert.ok((seen.get(n) ?? -1) >= n, `save ${n} settled with ${seen.get(n)} on disk`);
  assert.deepEqual(readdirSync(dir), ['net.json'], 'no temporary left');
  await file.close();
  await file.save({ n: 20 });
  assert.deepEqual(await readJson(path), { n: 19 }, 'a save after close writes nothing');
});

test('the mutex serialises one key and lets others run', async () => {
  const m = new KeyedMutex();
  const order: string[] = [];
  const slow = (tag: string, ms: number) => async () => {
    order.push(`${tag}+`);
    await new Promise((r) => setTimeout(r, ms));
    order.push(`${tag}-`);
  };
  await Promise.all([m.run('a', slow('a1', 30)), m.run('a', slow('a2', 1)), m.run('b', slow('b1', 1))]);
  assert.ok(order.indexOf('a1-') < order.indexOf('a2+'), order.join(' '));
  assert.ok(order.indexOf('b1-') < order.indexOf('a1-'), order.join(' '));
});

test('events: history since a time, label and type filters, live until aborted', async () => {
  const bus = new EventBus();
  bus.emit('container', 'create', 'c1', { app: 'x' });
  bus.emit('network', 'create', 'n1', {});
  const controller = new AbortController();
  const seen: string[] = [];
  const done = (async () => {
    for await (const e of bus.subscribe({ since: 0, labels: ['app=x'], types: ['container'], signal: controller.signal })) {
      seen.push(`${e.action}:${e.id}`);
      if (seen.length === 2) controller.abort();
    }
  })();
  bus.emit('container', 'start', 'c2', { app: 'y' });
  bus.emit('container', 'start', 'c1', { app: 'x' });
  await done;
  assert.deepEqual(seen, ['create:c1', 'start:c1']);
});

test('paths: the instance tag and cgroup parent follow the root', () => {
  const main = daemonPaths({});
  assert.equal(main.root, '/var/lib/flotilla');
  assert.equal(main.run, '/run/flotilla');
  assert.equal(main.cgroupParent, '/flotilla');
  const other = daemonPaths({ FLOTILLA_ROOT: '/tmp/x' });
  assert.equal(other.run, '/tmp/x/run');
  assert.match(other.instance, /^[0-9a-f]{4}$/);
  assert.equal(other.cgroupParent, `/flotilla-${other.instance}`);
});

test('paths inside an image never leave it, whatever its symlinks say', (t) => {
  const root = projectDir(t, {});
  mkdirSync(join(root, 'usr/share/data'), { recursive: true });
  symlinkSync('/usr/share', join(root, 'abs'));
  symlinkSync('../../../../..', join(root, 'usr/share/up'));
  symlinkSync('/etc', join(root, 'hostetc'));
  assert.equal(resolveInRoot(root, '/abs/data'), join(root, 'usr/share/data'));
  assert.equal(resolveInRoot(root, '/usr/share/up/usr'), join(root, 'usr'));
  assert.equal(resolveInRoot(root, '/hostetc/passwd'), null, 'the host /etc is not looked at');
  assert.equal(resolveInRoot(root, '/nope'), null);
});

const spec = (over: Partial<ContainerSpec>): ContainerSpec => ({ env: [], ...over }) as ContainerSpec;

test('entrypoint, command and environment merge with the image as Docker merges them', () => {
  const image = { Entrypoint: ['/init'], Cmd: ['serve'], Env: ['PATH=/bin', 'A=1'] };
  assert.deepEqual(effectiveProcess(spec({}), image), { entrypoint: ['/init'], cmd: ['serve'], env: ['PATH=/bin', 'A=1'] });
  assert.deepEqual(effectiveProcess(spec({ command: ['x'] }), image).cmd, ['x']);
  assert.deepEqual(effectiveProcess(spec({ entrypoint: ['sh'] }), image), { entrypoint: ['sh'], cmd: null, env: ['PATH=/bin', 'A=1'] });
  assert.deepEqual(effectiveProcess(spec({ entrypoint: [] }), image), { entrypoint: [], cmd: ['serve'], env: ['PATH=/bin', 'A=1'] });
  assert.deepEqual(effectiveProcess(spec({ env: ['A=2', 'B'] }), image).env, ['PATH=/bin', 'A=2', 'B']);
});

test('logging options', () => {
  assert.deepEqual(logSettings(spec({})), {});
  assert.equal(logSettings(spec({ logConfig: { type: 'none', config: {} } })), null);
  assert.deepEqual(logSettings(spec({ logConfig: { type: 'json-file', config: { 'max-size': '10m', 'max-file': '3' } } })), { maxSize: 10 * 1024 * 1024, maxFiles: 3 });
  assert.throws(() => logSettings(spec({ logConfig: { type: 'syslog', config: {} } })), /logging driver "syslog" is not available/);
  assert.throws(() => logSettings(spec({ logConfig: { type: 'local', config: { 'max-size': 'lots' } } })), /max-size: lots/);
});

test('status lines read as Docker writes them', () => {
  const now = Date.parse('2026-01-01T00:10:00Z');
  assert.equal(humanDuration(30_000), '30 seconds');
  assert.equal(humanDuration(60_000), 'About a minute');
  assert.equal(statusText(freshState(), now), 'Created');
  assert.equal(statusText({ ...freshState(), status: 'running', startedAt: '2026-01-01T00:09:57Z' }, now), 'Up 3 seconds');
  assert.equal(statusText({ ...freshState(), status: 'running', startedAt: '2026-01-01T00:05:00Z', health: { status: 'starting', failingStreak: 0, log: [] } }, now), 'Up 5 minutes (health: starting)');
  assert.equal(statusText({ ...freshState(), status: 'exited', exitCode: 3, finishedAt: '2026-01-01T00:08:00Z' }, now), 'Exited (3) 2 minutes ago');
});

test('volumes: create is idempotent, names are checked, in-use volumes stay, options refused', async (t) => {
  const root = projectDir(t, {});
  const store = new VolumeStore(daemonPaths({ FLOTILLA_ROOT: root }));
  await store.open();
  const v = await store.create({ name: 'proj_data', driverOpts: {}, labels: { a: 'b' } });
  assert.equal(v.mountpoint, join(root, 'volumes/proj_data/_data'));
  assert.deepEqual((await store.create({ name: 'proj_data', driverOpts: {}, labels: {} })).labels, { a: 'b' });
  const anon = await store.create({ name: '', driverOpts: {}, labels: {} }, true);
  assert.match(anon.name, /^[0-9a-f]{64}$/);
  assert.equal(store.isAnonymous(anon.name), true);
  await assert.rejects(store.create({ name: 'bad/name', driverOpts: {}, labels: {} }), /invalid characters/);
  await assert.rejects(store.create({ name: 'x', driver: 'nfs', driverOpts: {}, labels: {} }), /driver "nfs"/);
  await assert.rejects(store.create({ name: 'x', driverOpts: { type: 'tmpfs' }, labels: {} }), /driver options/);
  await assert.rejects(store.remove('proj_data', ['abc']), (e: unknown) => e instanceof EngineError && e.kind === 'conflict');
  await assert.rejects(store.remove('nope', []), (e: unknown) => e instanceof EngineError && e.kind === 'not-found');
  writeFileSync(join(store.dataDir('proj_data'), 'f'), 'x');
  const reopened = new VolumeStore(daemonPaths({ FLOTILLA_ROOT: root }));
  await reopened.open();
  assert.equal(readFileSync(join(reopened.dataDir('proj_data'), 'f'), 'utf8'), 'x');
  await reopened.remove('proj_data', []);
  assert.equal(reopened.get('proj_data'), null);
  assert.deepEqual(readdirSync(join(root, 'volumes')), [anon.name]);
});
