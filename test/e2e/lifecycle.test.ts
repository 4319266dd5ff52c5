/**
 * The container commands against dockerd, on one running project: ps (the table docker-compose
 * prints, -q, -a, --services, --format json), port, top, images, stop, start, restart, kill -s,
 * pause and unpause, events --json, rm -f -s -v.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { E2E_ENGINE, e2eProject, lines, poll, sleep } from './lib.js';

/**
 * `top` output with the C column (CPU use, which changes from one call to the next) blanked and
 * the columns' padding, which follows the widest value, made single spaces.
 */
function withoutCpuColumn(out: string): string {
  let inTable = false;
  return out
    .split('\n')
    .map((line) => {
      const fields = line.trim().split(/\s+/);
      if (/^UID\s+PID\s+PPID\s+C\s/.test(line.trim())) inTable = true;
      else if (line.trim() === '') inTable = false;
      else if (inTable && /^-+$/.test(line.trim())) return '-';
      else if (inTable && fields.length >= 8) fields[3] = '*';
      return inTable ? fields.join(' ') : line;
    })
    .join('\n');
}

const FILE = `services:
  web:
    image: busybox:latest
    command: httpd -f -p 8080
    ports: ["127.0.0.1::8080"]
    stop_signal: SIGKILL
  worker:
    image: busybox:latest
    command: ["sh", "-c", "trap 'exit 7' USR1; trap 'exit 0' TERM; echo worker up; while :; do sleep 1 & wait; done"]
    volumes: [/scratch]
    depends_on: [web]
`;

test('container commands on a running project', async (t) => {
  const p = e2eProject(t, 'life', { 'compose.yml': FILE });
  if (!p) return;
  p.ok(['up', '-d']);
  const web = p.c('web');
  const worker = p.c('worker');

  await t.test('ps prints docker-compose\'s table; -q, --services, --format json', () => {
    const ps = p.ok(['ps']);
    const [header, rule, ...rows] = ps.stdout.trimEnd().split('\n');
    assert.match(header ?? '', /^\s+Name\s+Command\s+State\s+Ports\s*$/);
    assert.match(rule ?? '', /^-+$/);
    assert.equal(rows.length, 2);
    assert.match(rows[0] ?? '', new RegExp(`^${web}\\s+httpd -f -p 8080\\s+Up\\s+127\\.0\\.0\\.1:\\d+->8080/tcp`));
    assert.match(rows[1] ?? '', new RegExp(`^${worker}\\s+sh -c trap 'exit 7' USR1; +\\.\\.\\.\\s+Up`));
    if (E2E_ENGINE === 'docker') assert.equal(ps.stdout, p.compose(['ps']).stdout, 'byte for byte what docker-compose prints');

    const ids = p.containers();
    assert.deepEqual(lines(p.ok(['ps', '-q']).stdout), [ids.get(web), ids.get(worker)]);
    assert.deepEqual(lines(p.ok(['ps', '--services']).stdout), ['web', 'worker']);
    const json = JSON.parse(p.ok(['ps', '--format', 'json']).stdout) as Record<string, unknown>[];
    assert.deepEqual(json.map((c) => [c['Name'], c['Service'], c['State'], c['ID']]), [
      [web, 'web', 'Up', ids.get(web)],
      [worker, 'worker', 'Up', ids.get(worker)],
    ]);
  });

  await t.test('port prints the published address, as docker-compose does', () => {
    const port = p.ok(['port', 'web', '8080']).stdout;
    assert.match(port, /^127\.0\.0\.1:\d+\n$/);
    if (E2E_ENGINE === 'docker') assert.equal(port, p.compose(['port', 'web', '8080']).stdout);
    assert.equal(p.ok(['port', 'web', '9999']).stdout, '\n', 'an unpublished port prints an empty line');
    const missing = p.flotilla(['port', '--index', '2', 'web', '8080']);
    assert.equal(missing.status, 1);
  });

  await t.test('top lists the processes of each container', () => {
    const top = p.ok(['top', 'web']).stdout;
    assert.match(top, new RegExp(`^${web}\\n`));
    assert.match(top, /UID\s+PID\s+PPID/);
    assert.match(top, /httpd -f -p 8080/);
    if (E2E_ENGINE === 'docker') assert.equal(withoutCpuColumn(top), withoutCpuColumn(p.compose(['top', 'web']).stdout));
    const both = p.ok(['top']).stdout;
    assert.match(both, new RegExp(`^${web}\\n(.+\\n)+\\n${worker}\\n(.+\\n)+$`), 'one block per container, an empty line between');
  });

  await t.test('images lists each container\'s image like docker-compose', () => {
    const images = p.ok(['images']).stdout;
    assert.match(images, /Container\s+Repository\s+Tag\s+Image Id\s+Size/);
    assert.match(images, new RegExp(`${web}\\s+busybox\\s+latest\\s+[0-9a-f]{12}\\s+\\S+ [kM]?B`));
    if (E2E_ENGINE === 'docker') assert.equal(images, p.compose(['images']).stdout);
    const id = p.imageId('busybox:latest').replace(/^sha256:/, '');
    assert.deepEqual(lines(p.ok(['images', '-q']).stdout), [id]);
  });

  await t.test('stop and start', () => {
    const stop = p.ok(['stop', '-t', '0', 'worker']);
    assert.match(stop.stderr, new RegExp(`Stopping ${worker} \\.\\.\\. done`));
    assert.equal(p.inspect(worker).State.Running, false);
    assert.equal(p.inspect(web).State.Running, true, 'stop worker leaves web running');
    assert.match(p.ok(['ps']).stdout, new RegExp(`${worker} .* Exit 0`));
    const start = p.ok(['start', 'worker']);
    assert.match(start.stderr, /Starting worker \.\.\. done/);
    assert.equal(p.inspect(worker).State.Running, true);
  });

  await t.test('restart', () => {
    const before = p.inspect(worker).State.StartedAt;
    const r = p.ok(['restart', '-t', '0', 'worker']);
    assert.match(r.stderr, new RegExp(`Restarting ${worker} \\.\\.\\. done`));
    const after = p.inspect(worker);
    assert.equal(after.State.Running, true);
    assert.notEqual(after.State.StartedAt, before);
  });

  await t.test('pause and unpause', () => {
    p.ok(['pause', 'web']);
    assert.equal(p.inspect(web).State.Paused, true);
    assert.match(p.ok(['ps']).stdout, new RegExp(`${web} .* Paused `));
    assert.equal(p.flotilla(['pause', 'web']).status, 1, 'nothing left to pause');
    p.ok(['unpause', 'web']);
    assert.equal(p.inspect(web).State.Paused, false);
    assert.equal(p.inspect(web).State.Running, true);
  });

  await t.test('kill -s sends the signal', async () => {
    const r = p.ok(['kill', '-s', 'SIGUSR1', 'worker']);
    assert.match(r.stderr, new RegExp(`Killing ${worker} \\.\\.\\. done`));
    await poll('worker to exit', () => !p.inspect(worker).State.Running, 15_000);
    assert.equal(p.inspect(worker).State.ExitCode, 7, 'the trap for USR1 ran');
    assert.equal(p.inspect(web).State.Running, true);
    p.ok(['start', 'worker']);
  });

  await t.test('events --json reports the stop and start of a service', async () => {
    const events = p.spawn(['events', '--json', 'worker']);
    // Once events are flowing (a restart seen), stop and start the service.
    await poll('the event stream', async () => {
      p.ok(['restart', '-t', '0', 'worker']);
      await sleep(200);
      return /"action":"start"/.test(events.stdout);
    }, 30_000, 0);
    const seen = events.stdout.length;
    p.ok(['stop', '-t', '0', 'worker']);
    p.ok(['start', 'worker']);
    await poll('stop and start events', () => /"action":"stop"/.test(events.stdout.slice(seen)) && /"action":"start"/.test(events.stdout.slice(seen)), 15_000);
    const parsed = lines(events.stdout.slice(seen)).map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const e of parsed) {
      assert.equal(e['service'], 'worker');
      assert.equal(e['type'], 'container');
      assert.equal(e['id'], p.containers().get(worker));
      assert.match(String(e['time']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    }
    const actions = parsed.map((e) => e['action']);
    assert.ok(actions.indexOf('stop') < actions.lastIndexOf('start'), actions.join(' '));
    events.kill('SIGINT');
    assert.equal(await events.exit(10_000), 0);
  });

  await t.test('ps -a adds stopped one-off containers', () => {
    // docker-compose's one-off on dockerd (Flotilla sees the other tool's containers); Flotilla's own elsewhere.
    const run = E2E_ENGINE === 'docker' ? p.compose(['run', '-T', 'web', 'true']) : p.flotilla(['run', '-T', 'web', 'true']);
    assert.equal(run.status, 0, run.stderr);
    const oneOff = [...p.containers().keys()].find((n) => n.startsWith(`${p.name}_web_run_`));
    assert.ok(oneOff, 'a one-off container was made');
    assert.doesNotMatch(p.ok(['ps']).stdout, /_web_run_/);
    const all = p.ok(['ps', '-a']).stdout;
    assert.match(all, new RegExp(`^${oneOff}\\s+true\\s+Exit 0`, 'm'));
    if (E2E_ENGINE === 'docker') assert.equal(all, p.compose(['ps', '-a']).stdout);
    p.removeContainer(oneOff);
  });

  await t.test('rm -f -s -v stops and removes a service\'s containers and their anonymous volumes', () => {
    const volumes = p.mountedVolumes();
    assert.equal(volumes.length, 1);
    const r = p.ok(['rm', '-f', '-s', '-v', 'worker']);
    assert.match(r.stdout, new RegExp(`Going to remove ${worker}`));
    assert.deepEqual([...p.containers().keys()], [web]);
    assert.deepEqual(p.existingVolumes(volumes), [], 'the anonymous volume went with it');
    const none = p.ok(['rm', '-f', 'worker']);
    assert.match(none.stdout, /No stopped containers/);
  });

  await t.test('rm without -f asks, and removes nothing without an answer', () => {
    p.ok(['stop', 'web']);
    const r = p.ok(['rm', 'web']);
    assert.match(r.stdout, /Are you sure\? \[yN\]/);
    assert.ok(p.containers().has(web));
  });
});
