/** resolve, list, tag, remove (docker rmi semantics) and addImage, and what survives a reopen. */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { ImagesPort } from '../../../src/daemon/containers/collaborators.js';
import type { ImageStoreLike } from '../../../src/daemon/engine.js';
import type { ImageStore, StoredImage } from '../../../src/daemon/images/store.js';
import { configBytes, diffId, dockerArchive, rejectsWith, sandbox, stream, rootfsOf } from './fixtures.js';
import { file, tar } from './tarball.js';

const notUsed = (): boolean => false;

/** A small image with its own content (and so its own id), tagged as given. */
async function add(store: ImageStore, name: string, tags: string[], created = '2024-01-01T00:00:00Z'): Promise<StoredImage> {
  const layer = tar([file(name, name)]);
  return store.addImage(configBytes({ layers: [layer], created }), [stream(layer)], tags);
}

test('the store is what the daemon engine and the container manager take', async (t) => {
  const { store } = await sandbox(t);
  // Type-level: these assignments fail to compile when the interfaces and the store drift apart.
  const engineSide: ImageStoreLike = store;
  const managerSide: ImagesPort = store;
  const img = await add(store, 'port', ['port:1']);
  assert.deepEqual((await engineSide.resolve('port:1'))?.layers, img.layers);
  assert.deepEqual((await managerSide.resolve('docker.io/library/port:1'))?.config, { Env: ['PATH=/bin'], Cmd: ['sh'] });
  assert.deepEqual((await engineSide.list()).map((i) => i.id), [img.id]);
});

test('resolve: names the way Docker reads them, ids in full or by a prefix of 12 or more', async (t) => {
  const { store } = await sandbox(t);
  const bb = await add(store, 'bb', ['busybox:latest', 'team/app:1', '127.0.0.1:5000/x/y:2']);
  const hex = bb.id.slice(7);
  for (const ref of ['busybox', 'busybox:latest', 'docker.io/busybox', 'docker.io/library/busybox:latest', 'index.docker.io/library/busybox', 'library/busybox', 'team/app:1', 'docker.io/team/app:1', '127.0.0.1:5000/x/y:2', bb.id, hex, hex.slice(0, 12), `sha256:${hex.slice(0, 12)}`, hex.slice(0, 30)]) {
    assert.equal((await store.resolve(ref))?.id, bb.id, ref);
  }
  for (const ref of ['busybox:1', 'team/app', hex.slice(0, 11), `sha256:${hex.slice(0, 11)}`, `${'0'.repeat(64)}`, 'nothing']) {
    assert.equal(await store.resolve(ref), null, ref);
  }
  await rejectsWith(store.resolve('Busybox'), 'invalid', /^invalid reference format: "Busybox": repository name must be lowercase$/);
  // A name is tried before an id prefix, as Docker does.
  const other = await add(store, 'other', []);
  await store.tag(other.id, hex.slice(0, 12));
  assert.equal((await store.resolve(hex.slice(0, 12)))?.id, other.id);
  assert.equal((await store.resolve(`sha256:${hex.slice(0, 12)}`))?.id, bb.id);
});

test('list: every image, untagged ones too, newest first', async (t) => {
  const { store } = await sandbox(t);
  const old = await add(store, 'old', ['old:1'], '2020-01-01T00:00:00Z');
  const mid = await add(store, 'mid', [], '2022-01-01T00:00:00Z');
  const neu = await add(store, 'new', ['new:1', 'new:2'], '2024-01-01T00:00:00Z');
  assert.deepEqual((await store.list()).map((i) => [i.id, i.repoTags]), [[neu.id, ['new:1', 'new:2']], [mid.id, []], [old.id, ['old:1']]]);
});

test('tag: a tag moves to its new image; the old image keeps its other tags, or becomes untagged', async (t) => {
  const { store } = await sandbox(t);
  const a = await add(store, 'a', ['app:1', 'app:stable']);
  const b = await add(store, 'b', ['other:1']);
  await store.tag('other:1', 'docker.io/library/app:stable');
  assert.deepEqual((await store.resolve(a.id))?.repoTags, ['app:1']);
  assert.deepEqual((await store.resolve(b.id))?.repoTags, ['app:stable', 'other:1']);
  await store.tag(b.id.slice(7, 19), 'app:1');
  assert.deepEqual((await store.resolve(a.id))?.repoTags, []);
  assert.equal((await store.list()).length, 2, 'an untagged image stays');
  await rejectsWith(store.tag('missing:1', 'x:1'), 'not-found', /^no such image: missing:1$/);
  await rejectsWith(store.tag('app:1', `x@sha256:${'a'.repeat(64)}`), 'invalid', /is a digest reference; a tag is needed here/);
  await rejectsWith(store.tag('app:1', 'X'), 'invalid', /^invalid reference format: "X"/);
});

test('remove by name: untags; deletes with the last name; an image in use needs force and is then only untagged', async (t) => {
  const sb = await sandbox(t);
  const { store } = sb;
  const img = await add(store, 'img', ['img:1', 'img:2']);
  assert.deepEqual(await store.remove('img:1', { force: false, inUse: notUsed }), { untagged: ['img:1'], deleted: [] });
  assert.deepEqual((await store.resolve(img.id))?.repoTags, ['img:2']);
  assert.deepEqual(await store.remove('docker.io/library/img:2', { force: false, inUse: notUsed }), { untagged: ['img:2'], deleted: [img.id] });
  assert.equal(await store.resolve(img.id), null);
  // Its config, layer blob and snapshot went with it.
  assert.deepEqual(readdirSync(join(sb.paths.images, 'blobs', 'sha256')), []);
  assert.deepEqual(readdirSync(join(sb.paths.images, 'snapshots')), []);

  const used = await add(store, 'used', ['used:1']);
  const asked: string[] = [];
  const inUse = (id: string): boolean => {
    asked.push(id);
    return id === used.id;
  };
  await rejectsWith(store.remove('used:1', { force: false, inUse }), 'conflict', new RegExp(`^unable to remove repository reference "used:1" \\(must force\\) - image ${used.id.slice(7, 19)} is used by a container$`));
  assert.deepEqual(asked, [used.id]);
  assert.deepEqual((await store.resolve('used:1'))?.id, used.id);
  assert.deepEqual(await store.remove('used:1', { force: true, inUse }), { untagged: ['used:1'], deleted: [] });
  assert.deepEqual((await store.resolve(used.id))?.repoTags, []);
  assert.ok(used.layers.every((l) => existsSync(l)), 'the layers of an image in use stay');
  await rejectsWith(store.remove('used:1', { force: true, inUse }), 'not-found', /^no such image: used:1$/);

  // A pulled image's digest reference goes with the last tag of its repository, as in Docker;
  // a tag of another repository keeps the image.
  const digest = `sha256:${'d'.repeat(64)}`;
  const layer = tar([file('pulled', 'pulled')]);
  const pulled = await store.addImage(configBytes({ layers: [layer] }), [stream(layer)], ['pulled:1', 'pulled:2', 'other:1'], { repoDigests: [`pulled@${digest}`] });
  assert.deepEqual(await store.remove('pulled:1', { force: false, inUse: notUsed }), { untagged: ['pulled:1'], deleted: [] });
  assert.deepEqual(await store.remove('pulled:2', { force: false, inUse: notUsed }), { untagged: ['pulled:2', `pulled@${digest}`], deleted: [] });
  assert.deepEqual([(await store.resolve(pulled.id))?.repoTags, (await store.resolve(pulled.id))?.repoDigests], [['other:1'], []]);
  const again = await store.addImage(configBytes({ layers: [layer] }), [stream(layer)], ['pulled:1'], { repoDigests: [`pulled@${digest}`] });
  assert.deepEqual(await store.remove('other:1', { force: false, inUse: notUsed }), { untagged: ['other:1'], deleted: [] });
  assert.deepEqual(await store.remove('pulled:1', { force: false, inUse: notUsed }), { untagged: ['pulled:1', `pulled@${digest}`], deleted: [again.id] });
  assert.equal(await store.resolve(`pulled@${digest}`), null);
});

test('remove by id: names in one repository go with it; several repositories need force; an image in use cannot be forced', async (t) => {
  const { store } = await sandbox(t);
  const one = await add(store, 'one', ['repo:1', 'repo:2']);
  assert.deepEqual(await store.remove(one.id.slice(7, 19), { force: false, inUse: notUsed }), { untagged: ['repo:1', 'repo:2'], deleted: [one.id] });

  const two = await add(store, 'two', ['a:1', 'b:1']);
  await rejectsWith(store.remove(two.id, { force: false, inUse: notUsed }), 'conflict', new RegExp(`^unable to delete ${two.id.slice(7, 19)} \\(must be forced\\) - image is referenced in multiple repositories$`));
  assert.deepEqual((await store.resolve(two.id))?.repoTags, ['a:1', 'b:1']);
  assert.deepEqual(await store.remove(two.id, { force: true, inUse: notUsed }), { untagged: ['a:1', 'b:1'], deleted: [two.id] });

  const busy = await add(store, 'busy', ['busy:1']);
  for (const force of [false, true]) {
    await rejectsWith(store.remove(busy.id, { force, inUse: () => true }), 'conflict', /^unable to delete [0-9a-f]{12} \(cannot be forced\) - image is used by a container; remove the container first$/);
  }
  assert.deepEqual((await store.resolve(busy.id))?.repoTags, ['busy:1']);

  const bare = await add(store, 'bare', []);
  assert.deepEqual(await store.remove(`sha256:${bare.id.slice(7)}`, { force: false, inUse: notUsed }), { untagged: [], deleted: [bare.id] });
  await rejectsWith(store.remove(bare.id, { force: false, inUse: notUsed }), 'not-found', /^no such image: sha256:/);
});

test('addImage: gzip and plain layers checked against diff_ids, digests recorded, known images not read again', async (t) => {
  const sb = await sandbox(t);
  const { store } = sb;
  const l1 = gzipSync(tar([file('a', 'a')]));
  const l2 = tar([file('b', 'b')]);
  const config = configBytes({ layers: [l1, l2] });
  const digest = `sha256:${'c'.repeat(64)}`;
  const image = await store.addImage(config, [stream(l1), stream(l2)], ['docker.io/library/pulled'], { repoDigests: [`pulled@${digest}`] });
  assert.deepEqual([image.repoTags, image.repoDigests], [['pulled:latest'], [`pulled@${digest}`]]);
  assert.equal((await store.resolve(`docker.io/library/pulled@${digest}`))?.id, image.id);
  assert.deepEqual(readdirSync(rootfsOf(image)).sort(), ['a', 'b']);
  // The same config again: its layers are not read (these would fail if they were).
  const poisoned = (): Readable =>
    new Readable({
      read() {
        this.destroy(new Error('read a layer of a known image'));
      },
    });
  const again = await store.addImage(config, [poisoned(), poisoned()], ['pulled:2']);
  assert.equal(again.id, image.id);
  assert.deepEqual(again.repoTags, ['pulled:2', 'pulled:latest']);
  await rejectsWith(store.addImage(configBytes({ layers: [l2], diffIds: [diffId(l1)] }), [stream(l2)], ['x:1']), 'invalid', /^layer 1 of x:1: its content is sha256:[0-9a-f]{64}, but the image config says sha256:[0-9a-f]{64}$/);
  await rejectsWith(store.addImage(Buffer.from('[]'), [], []), 'invalid', /: the image config is not a JSON object$/);
  await rejectsWith(store.addImage(config, [], ['x:1'], { repoDigests: ['x:1'] }), 'invalid', /^x:1 is not a digest reference/);
  // Removing the last tag of the repository takes the digest reference along with the image.
  await store.remove('pulled:2', { force: false, inUse: notUsed });
  assert.deepEqual(await store.remove('pulled', { force: false, inUse: notUsed }), { untagged: ['pulled:latest', `pulled@${digest}`], deleted: [image.id] });
  assert.equal(await store.resolve(`pulled@${digest}`), null);
});

test('a reopened store has the same images, names and index.json', async (t) => {
  const sb = await sandbox(t);
  const a = await add(sb.store, 'a', ['keep:1']);
  const b = await add(sb.store, 'b', []);
  await sb.store.tag('keep:1', 'keep:2');
  const refs = readFileSync(join(sb.paths.images, 'index.json'), 'utf8');
  const index = JSON.parse(refs) as { version: number; images: Record<string, unknown>; tags: unknown; digests: unknown };
  assert.deepEqual([index.version, Object.keys(index.images), index.tags, index.digests], [2, [a.id, b.id].sort(), { 'keep:1': a.id, 'keep:2': a.id }, {}]);
  const again = await sb.reopen();
  assert.deepEqual(await again.list(), await sb.store.list());
  assert.equal(readFileSync(join(sb.paths.images, 'index.json'), 'utf8'), refs, 'open() rewrites nothing');
});

test('concurrent tags, imports and loads are serialised into index.json', async (t) => {
  const sb = await sandbox(t);
  const base = await add(sb.store, 'base', ['base:1']);
  await Promise.all([
    ...Array.from({ length: 20 }, (_, i) => sb.store.tag('base:1', `many:${i}`)),
    ...Array.from({ length: 5 }, (_, i) => add(sb.store, `c${i}`, [`conc:${i}`])),
    ...Array.from({ length: 2 }, (_, i) => sb.store.importRootfs(stream(tar([file(`imp${i}`, `${i}`)])), { reference: `imp:${i}` })),
    sb.store.load(stream(dockerArchive([{ layers: [tar([file('loaded', 'l')])], tags: ['loaded:1'] }]))),
  ]);
  const reopened = await sb.reopen();
  assert.equal((await reopened.resolve(base.id))?.repoTags.length, 21);
  assert.equal((await reopened.list()).length, 9);
  for (const ref of ['conc:4', 'imp:0', 'imp:1', 'loaded:1']) assert.ok(await reopened.resolve(ref), ref);
  assert.deepEqual(readdirSync(sb.paths.images).filter((n) => n.startsWith('.tmp-')), []);
});
