/** --with-registry-auth's header: the Docker config's credentials for the image's registry. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { registryAuthFor, registryOf } from '../../src/engine/docker/registry-auth.js';
import { projectDir } from '../helpers/tmp.js';

const decode = (header: string) => JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as Record<string, string>;

test('the registry of an image: its first component when that is a host, else Docker Hub', () => {
  assert.equal(registryOf('busybox'), 'docker.io');
  assert.equal(registryOf('acme/app:1'), 'docker.io');
  assert.equal(registryOf('registry.example:5000/acme/app'), 'registry.example:5000');
  assert.equal(registryOf('localhost/app'), 'localhost');
});

test('credentials from the Docker config go in the header; none: an empty one', async (t) => {
  const home = projectDir(t, {
    '.docker/config.json': JSON.stringify({
      auths: {
        'registry.example:5000': { auth: Buffer.from('deployer:s3cret').toString('base64') },
        'https://index.docker.io/v1/': { identitytoken: 'tok' },
      },
    }),
  });
  assert.deepEqual(decode(await registryAuthFor('registry.example:5000/acme/app:1', { HOME: home })), {
    username: 'deployer',
    password: 's3cret',
    serveraddress: 'registry.example:5000',
  });
  assert.deepEqual(decode(await registryAuthFor('busybox', { HOME: home })), { identitytoken: 'tok', serveraddress: 'https://index.docker.io/v1/' });
  assert.deepEqual(decode(await registryAuthFor('other.example/x', { HOME: home })), {});
});
