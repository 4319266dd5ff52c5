/**
 * Pushes to a real docker-registry (htpasswd auth): uncompressed layers go up gzip-compressed, the
 * digest returned is the registry's, a second push finds every layer there, another repository of
 * the same registry gets its layers by cross-repository mount, a large blob goes up in chunks,
 * and what was pushed pulls back into another store as the same image.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { ProgressEvent } from '../../../src/contract/engine.js';
import { RegistryClient } from '../../../src/daemon/registry/client.js';
import { pullImage } from '../../../src/daemon/registry/pull.js';
import { pushImage } from '../../../src/daemon/registry/push.js';
import { RegistryTransport } from '../../../src/daemon/registry/transport.js';
import { haveRegistry, startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { rejectsWith, rootfsOf, sandbox, stream } from '../images/fixtures.js';
import { dir, file, tar } from '../images/tarball.js';

function skip(t: TestContext): boolean {
  if (haveRegistry() && process.getuid?.() === 0) return false;
  if (process.env['FLOTILLA_CI'] === '1') assert.fail('docker-registry, curl and root are needed (scripts/install-deps)');
  t.skip('needs docker-registry, curl and root');
  return true;
}

function client(reg: TestRegistry): RegistryClient {
  return new RegistryClient(new RegistryTransport(), reg.host, { username: reg.user ?? '', password: reg.password ?? '' });
}

test('push: compressed layers, the registry digest, layers already there, a cross-repository mount, chunks; pulled back the same', async (t) => {
  if (skip(t)) return;
  const reg = await startRegistry(t, { auth: true });
  const sb = await sandbox(t);
  const big = randomBytes(400_000);
  const image = await sb.store.importRootfs(stream(tar([dir('app'), file('app/big', big), file('app/small', 'small')])), { reference: `${reg.host}/team/app:1`, config: { Cmd: ['sh'] } });

  const events: ProgressEvent[] = [];
  const digest = await pushImage(sb.store, client(reg), `${reg.host}/team/app:1`, { progress: (e) => events.push(e), chunkSize: 64 * 1024 });
  assert.equal(await client(reg).manifestDigest('team/app', '1'), digest, 'the digest is the registry’s');
  assert.deepEqual(events[0], { status: `The push refers to repository [${reg.host}/team/app]` });
  assert.ok(events.some((e) => e.status === 'Pushed'));
  assert.match(events.at(-1)?.status ?? '', new RegExp(`^1: digest: ${digest} size: \\d+$`));
  assert.ok((await sb.store.resolve(image.id))?.repoDigests.includes(`${reg.host}/team/app@${digest}`));

  // Again: nothing to upload, the same digest.
  const again: ProgressEvent[] = [];
  assert.equal(await pushImage(sb.store, client(reg), `${reg.host}/team/app:1`, { progress: (e) => again.push(e) }), digest);
  assert.ok(again.some((e) => e.status === 'Layer already exists'));
  assert.ok(!again.some((e) => e.status === 'Pushing'));

  // Another repository of the same registry: the layer is mounted, not uploaded.
  await sb.store.tag(image.id, `${reg.host}/other/app:2`);
  const other: ProgressEvent[] = [];
  await pushImage(sb.store, client(reg), `${reg.host}/other/app:2`, { progress: (e) => other.push(e) });
  assert.ok(other.some((e) => e.status === 'Mounted from team/app'), JSON.stringify(other));

  // Pulled back into another store: the same image, the same files.
  const sb2 = await sandbox(t);
  const back = await pullImage(sb2.store, client(reg), `${reg.host}/other/app:2`);
  assert.equal(back.id, image.id);
  assert.ok(readFileSync(join(rootfsOf(back), 'app/big')).equals(big));
  await rejectsWith(pushImage(sb.store, client(reg), `${reg.host}/team/missing:1`), 'not-found', /An image does not exist locally with the tag: 127\.0\.0\.1:\d+\/team\/missing/);
  const anonymous = new RegistryClient(new RegistryTransport(), reg.host, null);
  await rejectsWith(pushImage(sb.store, anonymous, `${reg.host}/team/app:1`), 'invalid', /unauthorized/);
});
