/**
 * A bad daemon.json stops the daemon's start before it touches anything: the swarm node's
 * settings are read with the registry's, first, and the error names the file and the key.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assembleDaemon } from '../../../src/daemon/assemble.js';
import { daemonPaths } from '../../../src/daemon/paths.js';
import { EngineError } from '../../../src/contract/errors.js';

for (const [key, value, message] of [
  ['node-labels', '["zone=eu"]', /daemon\.json: node-labels: an object of string values is expected$/],
  ['labels', '["no-equals-sign"]', /daemon\.json: labels: a list of "key=value" strings is expected$/],
  ['insecure-registries', '"r:5000"', /daemon\.json: insecure-registries: a list of host\[:port\] or CIDR strings is expected$/],
  ['image-limits', '{"max-image-size": "lots"}', /daemon\.json: image-limits\.max-image-size: a size of at least 1 byte \(bytes, or a number with k, m or g\), not "lots"$/],
  ['image-limits', '{"max-path-length": 8192}', /daemon\.json: image-limits\.max-path-length: a number of bytes from 1 to 4096 \(Linux's PATH_MAX\), not 8192$/],
  ['image-limits', '{"max-image-szie": "1g"}', /daemon\.json: image-limits\.max-image-szie: not a limit \(known: max-image-size, /],
  ['image-limits', '"1g"', /daemon\.json: image-limits: an object is expected/],
] as const) {
  test(`daemon.json with a bad ${key} (${value}): one error naming file and key, nothing made under the root`, async (t) => {
    const root = mkdtempSync(join(tmpdir(), 'flotilla-daemon-json-'));
    t.after(() => rmSync(root, { recursive: true, force: true }));
    writeFileSync(join(root, 'daemon.json'), `{"${key}": ${value}}\n`);
    const paths = daemonPaths({ FLOTILLA_ROOT: root, HOME: root });
    await assert.rejects(
      assembleDaemon(paths, () => undefined, () => undefined),
      (e: unknown) => e instanceof EngineError && message.test(e.message) && e.message.startsWith(join(root, 'daemon.json')),
    );
    assert.deepEqual(readdirSync(root), ['daemon.json']);
  });
}

test('a damaged swarm store stops the start the same way: one error naming the file, nothing else made', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'flotilla-daemon-swarm-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'swarm'));
  // Two records: the first with a checksum that does not match, the second intact.
  const good = '{"index":2,"ops":[]}';
  const line = (crc: string, json: string) => `${crc} ${json}\n`;
  writeFileSync(join(root, 'swarm', 'log'), line('00000000', '{"index":1,"ops":[]}') + line(crc32(good).toString(16).padStart(8, '0'), good));
  const paths = daemonPaths({ FLOTILLA_ROOT: root, HOME: root });
  await assert.rejects(
    assembleDaemon(paths, () => undefined, () => undefined),
    (e: unknown) => e instanceof EngineError && e.message.startsWith(`the swarm store ${join(root, 'swarm', 'log')} is damaged at byte 0 `),
  );
  assert.deepEqual(readdirSync(root), ['swarm']);
});

test('daemon.json that is not an object (a list, null): one error naming the file, nothing made', async (t) => {
  for (const text of ['[]', 'null', '"x"']) {
    const root = mkdtempSync(join(tmpdir(), 'flotilla-daemon-json-'));
    t.after(() => rmSync(root, { recursive: true, force: true }));
    writeFileSync(join(root, 'daemon.json'), `${text}\n`);
    const paths = daemonPaths({ FLOTILLA_ROOT: root, HOME: root });
    await assert.rejects(
      assembleDaemon(paths, () => undefined, () => undefined),
      (e: unknown) => e instanceof EngineError && e.message === `${join(root, 'daemon.json')}: an object of settings is expected`,
    );
    assert.deepEqual(readdirSync(root), ['daemon.json']);
  }
});
