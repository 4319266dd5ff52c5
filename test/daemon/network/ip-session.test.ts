/** The daemon's long-lived `ip -batch`: each request gets its own outcome, failures do not end it, a dead ip is replaced. Root only. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { IpSession } from '../../../src/daemon/network/ip-session.js';
import { EngineError } from '../../../src/contract/errors.js';
import { requireRoot } from '../../helpers/root.js';

function linkState(name: string): string | null {
  const r = spawnSync('ip', ['-br', 'link', 'show', 'dev', name], { encoding: 'utf8' });
  return r.status === 0 ? (r.stdout.trim().split(/\s+/)[1] ?? '') : null;
}

/** A fresh bridge name, deleted after the test whatever happens. */
function linkName(t: TestContext): string {
  const name = `flipt${randomBytes(3).toString('hex')}`;
  t.after(() => void spawnSync('ip', ['link', 'del', 'dev', name], { stdio: 'ignore' }));
  return name;
}

function session(t: TestContext): IpSession {
  const s = new IpSession(10_000);
  t.after(() => s.close());
  return s;
}

test('runs commands, reports a failed one with ip’s message, and goes on', { timeout: 30_000 }, async (t) => {
  if (!requireRoot(t, ['ip'])) return;
  const ip = session(t);
  const name = linkName(t);
  await ip.run([`link add name ${name} type bridge`, `link set dev ${name} up`]);
  assert.notEqual(linkState(name), null, 'the link exists');
  assert.match(linkState(name) ?? '', /UP|UNKNOWN/);

  const e = await ip.run([`link set dev ${name}x up`]).then(
    () => assert.fail('a missing device must fail'),
    (err: unknown) => err,
  );
  assert.ok(e instanceof EngineError);
  assert.match(e.message, /Cannot find device/);

  await ip.run([`link set dev ${name} down`]);
  assert.equal(linkState(name), 'DOWN', 'the session still works after a failure');
  await ip.run([`link del dev ${name}`]);
  assert.equal(linkState(name), null);
});

test('requests sent at once each get their own outcome', { timeout: 30_000 }, async (t) => {
  if (!requireRoot(t, ['ip'])) return;
  const ip = session(t);
  const names = Array.from({ length: 8 }, () => linkName(t));
  const outcomes = await Promise.allSettled(
    names.flatMap((name) => [ip.run([`link add name ${name} type bridge`]), ip.run([`link set dev ${name}-missing up`]), ip.run([`link set dev ${name} up`])]),
  );
  const kinds = outcomes.map((o) => o.status);
  assert.deepEqual(kinds, names.flatMap(() => ['fulfilled', 'rejected', 'fulfilled']));
  for (const name of names) assert.notEqual(linkState(name), null, name);
  // A request whose first line fails still runs its other lines (-force), and is reported failed.
  const mixed = await ip.run([`link set dev nosuch${names[0]} up`, ...names.map((n) => `link del dev ${n}`)]).then(
    () => 'fulfilled',
    () => 'rejected',
  );
  assert.equal(mixed, 'rejected');
  for (const name of names) assert.equal(linkState(name), null, `${name} deleted`);
});

test('an ip that dies fails what is pending, and the next request starts a new one', { timeout: 30_000 }, async (t) => {
  if (!requireRoot(t, ['ip', 'pgrep'])) return;
  const ip = session(t);
  const name = linkName(t);
  await ip.run([`link add name ${name} type bridge`]);
  const pids = spawnSync('pgrep', ['-f', '^ip -o -force -batch -$', '-P', String(process.pid)], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean);
  assert.equal(pids.length, 1, `one ip child of this process: ${pids.join(' ')}`);
  process.kill(Number(pids[0]), 'SIGKILL');
  await new Promise((r) => setTimeout(r, 200));
  await ip.run([`link set dev ${name} up`]);
  assert.match(linkState(name) ?? '', /UP|UNKNOWN/);
  await ip.run([`link del dev ${name}`]);
  assert.equal(linkState(name), null);
});

test('a line that is not one command is refused before ip sees it', { timeout: 10_000 }, async (t) => {
  if (!requireRoot(t, ['ip'])) return;
  const ip = session(t);
  const name = linkName(t);
  await assert.rejects(ip.run([`link add name ${name} type bridge\nlink del dev lo`]), /not one command/);
  assert.equal(linkState(name), null);
});

test('a link made again under the same name (stale in ip’s name cache) is still found', { timeout: 30_000 }, async (t) => {
  if (!requireRoot(t, ['ip'])) return;
  const ip = session(t);
  const name = linkName(t);
  await ip.run([`link add name ${name} type bridge`, `link set dev ${name} up`]);
  // Behind the session's back: deleted and made again, with a new index.
  assert.equal(spawnSync('ip', ['link', 'del', 'dev', name]).status, 0);
  assert.equal(spawnSync('ip', ['link', 'add', 'name', name, 'type', 'bridge']).status, 0);
  assert.equal(linkState(name), 'DOWN');
  await ip.run([`link set dev ${name} up`]);
  assert.match(linkState(name) ?? '', /UP|UNKNOWN/);
});
