/**
 * The order of work on a project, on the engine: a failed start skips exactly the services that
 * depend on it (transitively) and nothing else; down, stop and restart stop dependants before
 * what they depend on. Each container notes when it receives SIGTERM in a file shared with the
 * test, so the order is the one the engine saw.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertCleanFailure, e2eProject, lines, SERVE } from './lib.js';

const noting = (name: string) => `["sh", "-c", "trap 'echo ${name} >> /order/log; exit 0' TERM; sleep 600 & wait"]`;

const CHAIN = `services:
  a:
    image: busybox:latest
    command: ${noting('a')}
    volumes: ["./order:/order"]
  b:
    image: busybox:latest
    command: ${noting('b')}
    volumes: ["./order:/order"]
    depends_on: [a]
  c:
    image: busybox:latest
    command: ${noting('c')}
    volumes: ["./order:/order"]
    depends_on: [b]
  d:
    image: busybox:latest
    command: ${noting('d')}
    volumes: ["./order:/order"]
`;

test('a failed start skips exactly its dependants, which are reported; the other services start', (t) => {
  const p = e2eProject(t, 'skip', {
    'compose.yml': `services:
  a:
    image: busybox:latest
    command: ["/no/such/program"]
  b:
    image: busybox:latest
    command: ${SERVE}
    depends_on: [a]
  c:
    image: busybox:latest
    command: ${SERVE}
    depends_on: [b]
  d:
    image: busybox:latest
    command: ${SERVE}
  e:
    image: busybox:latest
    command: ${SERVE}
    depends_on: [d]
`,
  });
  if (!p) return;
  const r = p.flotilla(['up', '-d'], { timeoutMs: 120_000 });
  assertCleanFailure(r, new RegExp(`ERROR: for ${p.c('a')}: cannot start service a`));
  for (const s of ['b', 'c']) assert.match(r.stderr, new RegExp(`ERROR: for ${p.c(s)}: not done, because creating ${p.c('a')} failed`), r.stderr);
  for (const s of ['b', 'c']) assert.match(r.stderr, new RegExp(`Creating ${p.c(s)} \\.\\.\\. skipped`), r.stderr);
  assert.match(r.stderr, /Encountered errors while bringing up the project/);
  assert.deepEqual(p.running(), [p.c('d'), p.c('e')].sort(), 'd and e started');
  assert.deepEqual([...p.containers().keys()].sort(), [p.c('a'), p.c('d'), p.c('e')].sort(), 'b and c were never created');
  assert.equal(lines(r.stderr).filter((l) => l.startsWith('ERROR: for ')).length, 3, r.stderr);
});

function order(dir: string): string[] {
  const log = readFileSync(join(dir, 'order', 'log'), 'utf8');
  writeFileSync(join(dir, 'order', 'log'), '');
  return lines(log);
}

function assertBefore(seen: string[], first: string, then: string, what: string): void {
  assert.ok(seen.includes(first) && seen.includes(then), `${what}: both stopped: ${seen.join(', ')}`);
  assert.ok(seen.indexOf(first) < seen.indexOf(then), `${what}: ${first} stops before ${then}: ${seen.join(', ')}`);
}

test('stop, restart and down stop dependants first (the reverse of the dependency order)', (t) => {
  const p = e2eProject(t, 'order', { 'compose.yml': CHAIN });
  if (!p) return;
  mkdirSync(join(p.dir, 'order'));
  writeFileSync(join(p.dir, 'order', 'log'), '');
  p.ok(['up', '-d']);
  for (const [args, what] of [[['stop'], 'stop'], [['start'], ''], [['restart'], 'restart'], [['down'], 'down']] as const) {
    p.ok([...args], { timeoutMs: 120_000 });
    if (what === '') continue;
    const seen = order(p.dir);
    assert.deepEqual([...seen].sort(), ['a', 'b', 'c', 'd'], `${what}: every container got SIGTERM once`);
    assertBefore(seen, 'c', 'b', what);
    assertBefore(seen, 'b', 'a', what);
  }
});
