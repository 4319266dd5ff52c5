/**
 * `flotilla watch` and `up --watch` (develop.watch, issue 14) on dockerd and (run again with
 * FLOTILLA_E2E_ENGINE=embedded) on the embedded engine: one project, one watcher at a time, each
 * a child process killed when the test ends. Edits are made on the host and looked for in the
 * containers through `flotilla exec`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '../helpers/wait.js';
import { docker, E2E_ENGINE, e2eProject, SERVE, type Background, type E2EProject } from './lib.js';

const COMPOSE = `services:
  web:
    image: busybox:latest
    command: ${SERVE}
    volumes: ["./out:/out"]
    develop:
      watch:
        - path: ./src
          action: sync
          target: /app
          ignore: ["*.log"]
          initial_sync: true
        - path: ./hooked
          action: sync+exec
          target: /hooked
          exec:
            command: ["sh", "-c", "echo \\"$$WHO $$(pwd) $$(cat in.txt)\\" > /out/exec-ran"]
            working_dir: /hooked
            environment:
              WHO: watcher
        - path: ./restart.txt
          action: restart
  built:
    build: ./ctx
    command: ${SERVE}
    develop:
      watch:
        - path: ./ctx
          action: rebuild
`;

/** What a shell script prints in the service's container (one exec: each costs a CLI start). */
function sh(p: E2EProject, service: string, script: string): string {
  return p.ok(['exec', '-T', service, 'sh', '-c', script]).stdout;
}

/** Each path's content, or "-" when it does not exist. */
const SHOW = (...paths: string[]) => paths.map((f) => `if [ -e ${f} ]; then cat ${f}; else echo -; fi`).join('; ');

function hostFile(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

async function until(bg: Background, what: string, probe: () => boolean): Promise<void> {
  await waitFor(what, () => {
    if (bg.exitCode !== undefined) throw new Error(`the watcher exited (${bg.exitCode}):\n${bg.output}`);
    return probe();
  }, 90_000, 200).catch((e: Error) => {
    throw new Error(`${e.message}\nwatcher output:\n${bg.output}`);
  });
}

test('watch syncs edits (ignores honoured, deletions removed), runs sync+exec, restarts and rebuilds; up --watch syncs too', async (t) => {
  const p = e2eProject(t, 'watch', {
    'compose.yaml': COMPOSE,
    'src/a.txt': 'one\n',
    'src/skip.log': 'ignored\n',
    'hooked/in.txt': 'first\n',
    'restart.txt': '0\n',
    'ctx/Dockerfile': 'FROM busybox:latest\nCOPY v.txt /v.txt\n',
    'ctx/v.txt': 'v1\n',
    'out/.keep': '',
  });
  if (!p) return;
  if (E2E_ENGINE === 'docker') t.after(() => docker(['rmi', '-f', `${p.name}_built`], true));
  const ran = join(p.dir, 'out', 'exec-ran');

  const bg = p.spawn(['watch']);
  await bg.waitFor(/^Watch enabled$/m, 180_000);
  assert.equal(sh(p, 'web', SHOW('/app/a.txt', '/app/skip.log')), 'one\n-\n', 'initial_sync copied the file and left the ignored one out');

  // One batch: sync (an edit, a new directory, an ignored file) and sync+exec, whose command runs
  // after the files are synced, with its environment and working_dir.
  p.write('src/a.txt', 'two\n');
  mkdirSync(join(p.dir, 'src', 'sub'));
  p.write('src/sub/new.txt', 'new\n');
  p.write('src/other.log', 'ignored\n');
  p.write('hooked/in.txt', 'second\n');
  await until(bg, 'the sync+exec command to run', () => hostFile(ran) === 'watcher /hooked second\n');
  assert.equal(sh(p, 'web', SHOW('/app/a.txt', '/app/sub/new.txt', '/app/other.log')), 'two\nnew\n-\n', 'edits synced, the ignored file not');
  await bg.waitFor(/^Syncing service "web" after \d+ changes were detected$/m);

  // One batch: a deletion synced, then the restart (the same container, started again).
  const before = p.inspect(p.c('web'));
  rmSync(join(p.dir, 'src', 'sub'), { recursive: true });
  p.write('restart.txt', '1\n');
  await until(bg, 'web restarted', () => p.inspect(p.c('web')).State.StartedAt !== before.State.StartedAt);
  assert.equal(p.inspect(p.c('web')).Id, before.Id, 'restart keeps the container');
  assert.equal(sh(p, 'web', SHOW('/app/sub', '/app/a.txt')), '-\ntwo\n', 'the deleted directory is gone from the container');
  await bg.waitFor(/^service\(s\) \["web"\] restarted$/m);

  // rebuild: a new image, and the service recreated from it.
  const builtBefore = p.inspect(p.c('built')).Id;
  assert.equal(sh(p, 'built', 'cat /v.txt'), 'v1\n');
  p.write('ctx/v.txt', 'v2\n');
  // A recreate renames the old container before it makes the new one: the name may be missing meanwhile.
  const recreated = () => {
    const id = p.containers().get(p.c('built'));
    return id !== undefined && id !== builtBefore && p.running().includes(p.c('built'));
  };
  await until(bg, 'built recreated', recreated);
  assert.equal(sh(p, 'built', 'cat /v.txt'), 'v2\n', 'the new container runs the rebuilt image');
  await bg.waitFor(/^service\(s\) \["built"\] successfully built$/m);

  bg.kill('SIGTERM');
  assert.equal(await bg.exit(30_000), 0, bg.output);
  assert.match(bg.stdout, /^Watch disabled$/m);
  assert.deepEqual(p.running(), [p.c('built'), p.c('web')].sort(), 'watch leaves the containers running');

  // up --watch: attached, acting on changes, until interrupted (which stops the services).
  const upWatch = p.spawn(['up', '--watch', 'web']);
  await upWatch.waitFor(/^Watch enabled$/m, 120_000);
  p.write('hooked/in.txt', 'third\n');
  await until(upWatch, 'up --watch to sync and exec', () => hostFile(ran) === 'watcher /hooked third\n');
  upWatch.kill('SIGINT');
  assert.equal(await upWatch.exit(60_000), 0, upWatch.output);
  assert.deepEqual(p.running(), [p.c('built')], 'Ctrl-C stopped the attached service');
});

test('watch refuses a project without develop.watch and up --watch with -d, changing nothing', (t) => {
  const p = e2eProject(t, 'watch-none', { 'compose.yaml': `services:\n  web:\n    image: busybox:latest\n    command: ${SERVE}\n` });
  if (!p) return;
  const none = p.flotilla(['watch']);
  assert.equal(none.status, 1, none.stderr);
  assert.match(none.stderr, /none of the selected services is configured for watch, consider setting a 'develop' section/);
  const detached = p.flotilla(['up', '-d', '--watch']);
  assert.equal(detached.status, 1, detached.stderr);
  assert.match(detached.stderr, /-d and --wait cannot be combined with --watch/);
  assert.deepEqual(p.running(), []);
});
