/**
 * Compose v2's commands and flags (issue 14), on dockerd and (FLOTILLA_E2E_ENGINE=embedded) on
 * the embedded engine: `ls` finding projects by their containers' labels.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { FLOTILLA } from '../helpers/cli.js';
import { Background, SERVE, dockerOnly, e2eProject, lines, poll, sleep } from './lib.js';

const TWO_SERVICES = `services:
  a:
    image: busybox:latest
    command: ${SERVE}
  b:
    image: busybox:latest
    command: ["true"]
`;

test('ls: projects by label, with status counts and config files; --all, -q, --format json, --filter name=', async (t) => {
  const p = e2eProject(t, 'ls', { 'compose.yml': TWO_SERVICES });
  if (!p) return;
  p.ok(['up', '-d']);
  await poll('b to exit', () => p.inspect(p.c('b')).State.Status === 'exited');
  const file = join(p.dir, 'compose.yml');
  const only = `name=^${p.name}$`;

  // Without --all only running containers count.
  // Columns as Compose v2's tabwriter pads them: the widest cell plus 3, at least 20.
  const column = (cells: string[]) => Math.max(20, ...cells.map((c) => c.length + 3));
  const row = (cells: string[], widths: number[]) => cells.map((c, i) => (i < widths.length ? c.padEnd(widths[i] as number) : c)).join('');
  assert.equal(
    p.ok(['ls', '--filter', only]).stdout,
    `${row(['NAME', 'STATUS', 'CONFIG FILES'], [column([p.name]), 20])}\n${row([p.name, 'running(1)', file], [column([p.name]), 20])}\n`,
  );
  assert.equal(
    p.ok(['ls', '-a', '--filter', only]).stdout,
    `${row(['NAME', 'STATUS', 'CONFIG FILES'], [column([p.name]), 24])}\n${row([p.name, 'exited(1), running(1)', file], [column([p.name]), 24])}\n`,
  );

  assert.deepEqual(JSON.parse(p.ok(['ls', '--all', '--format', 'json', '--filter', only]).stdout), [{ Name: p.name, Status: 'exited(1), running(1)', ConfigFiles: file }]);
  assert.ok(lines(p.ok(['ls', '-q']).stdout).includes(p.name), 'the unfiltered list has the project');
  // A regular expression finds names; a literal that is no valid expression matches only itself.
  assert.deepEqual(lines(p.ok(['ls', '-q', '--filter', `name=${p.name.slice(-8)}`]).stdout), [p.name]);
  assert.deepEqual(lines(p.ok(['ls', '-q', '--filter', 'name=(unclosed']).stdout), []);

  p.ok(['stop']);
  assert.deepEqual(lines(p.ok(['ls', '-q', '--filter', only]).stdout), [], 'a stopped project is left out without --all');
  assert.deepEqual(JSON.parse(p.ok(['ls', '-a', '--format', 'json', '--filter', only]).stdout), [{ Name: p.name, Status: 'exited(2)', ConfigFiles: file }]);
  p.ok(['down']);
  assert.deepEqual(JSON.parse(p.ok(['ls', '-a', '--format', 'json', '--filter', only]).stdout), []);

  const bad = p.flotilla(['ls', '--filter', 'status=running']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /^ERROR: invalid filter 'status=running'/);
  const format = p.flotilla(['ls', '--format', 'yaml']);
  assert.equal(format.status, 1);
  assert.match(format.stderr, /--format must be table or json/);
});

test('ps --status (repeatable), --no-trunc, --orphans', async (t) => {
  const p = e2eProject(t, 'ps', { 'compose.yml': TWO_SERVICES });
  if (!p) return;
  p.ok(['up', '-d']);
  await poll('b to exit', () => p.inspect(p.c('b')).State.Status === 'exited');
  const names = (args: string[]) => lines(p.ok(['ps', ...args]).stdout).slice(2).map((l) => l.split(/\s+/)[0]);

  assert.deepEqual(names(['--status', 'running']), [p.c('a')]);
  assert.deepEqual(names(['--status', 'exited']), [p.c('b')]);
  assert.deepEqual(names(['--status', 'running', '--status', 'exited']), [p.c('a'), p.c('b')]);
  assert.deepEqual(names(['--status', 'paused']), []);
  assert.deepEqual(lines(p.ok(['ps', '--services', '--status', 'exited']).stdout), ['b']);
  assert.deepEqual(lines(p.ok(['ps', '-q', '--status', 'running']).stdout), [p.containers().get(p.c('a'))]);
  const bad = p.flotilla(['ps', '--status', 'sleeping']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /invalid --status "sleeping"/);

  const full = "sh -c trap 'exit 0' TERM; sleep 600 & wait";
  assert.ok(p.ok(['ps', '--no-trunc', 'a']).stdout.includes(full), 'the whole command');
  assert.ok(!p.ok(['ps', 'a']).stdout.includes(full), 'cut to 30 characters by default');
  assert.match(p.ok(['ps', 'a']).stdout, /sh -c trap 'exit 0' TERM;  \.\.\./);

  // b is no longer in the file: an orphan, listed only with --orphans.
  p.write('compose.yml', `services:\n  a:\n    image: busybox:latest\n    command: ${SERVE}\n`);
  assert.deepEqual(names([]), [p.c('a')]);
  assert.deepEqual(names(['--no-orphans']), [p.c('a')]);
  assert.deepEqual(names(['--orphans']), [p.c('a'), p.c('b')]);
  assert.deepEqual(names(['--orphans', '--status', 'exited']), [p.c('b')]);
});

test('logs --since/--until (timestamps, Unix seconds, durations) and --index', async (t) => {
  const p = e2eProject(t, 'logtime', {
    'compose.yml': `services:
  w:
    image: busybox:latest
    command: ["sh", "-c", "trap 'exit 0' TERM; echo early; sleep 3; echo late; sleep 600 & wait"]
    scale: 2
`,
  });
  if (!p) return;
  p.ok(['up', '-d']);
  await poll('both lines of both', () => (p.ok(['logs']).stdout.match(/late/g) ?? []).length === 2, 60_000);
  const stamps = new Map(lines(p.ok(['logs', '-t', '--no-log-prefix', '--index', '1', 'w']).stdout).map((l) => [l.split(' ')[1], l.split(' ')[0] as string]));
  const early = Date.parse(stamps.get('early') ?? '');
  const late = Date.parse(stamps.get('late') ?? '');
  assert.ok(late - early >= 2500, `the lines are 3 s apart: ${JSON.stringify([...stamps])}`);
  const iso = (ms: number) => new Date(ms).toISOString();
  const text = (args: string[]) => lines(p.ok(['logs', '--no-log-prefix', '--index', '1', ...args, 'w']).stdout);

  assert.deepEqual(text(['--since', iso(early + 1000)]), ['late']);
  assert.deepEqual(text(['--until', iso(late - 1000)]), ['early']);
  assert.deepEqual(text(['--since', iso(early - 1000), '--until', iso(late + 1000)]), ['early', 'late']);
  assert.deepEqual(text(['--since', String((early + 1000) / 1000)]), ['late'], 'Unix seconds');
  assert.deepEqual(text(['--since', '1h']), ['early', 'late'], 'a duration back from now');
  assert.deepEqual(text(['--until', '1h']), []);
  assert.deepEqual(text(['--since', '2013-01-02T13:23:37Z']), ['early', 'late']);
  assert.deepEqual(text(['--since', iso(early + 1000), '--tail', '5']), ['late'], 'with --tail');

  // --index: that container's output only, prefixed with its name.
  const second = lines(p.ok(['logs', '--index', '2', 'w']).stdout);
  assert.deepEqual(second, ['w_2  | early', 'w_2  | late']);
  const noService = p.flotilla(['logs', '--index', '2']);
  assert.equal(noService.status, 1);
  assert.match(noService.stderr, /--index requires one service to be selected/);
  const bad = p.flotilla(['logs', '--since', 'yesterday']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /^ERROR: invalid value for --since: "yesterday"/);
});

test('up --attach/--no-attach, --timestamps, --abort-on-container-failure', async (t) => {
  const p = e2eProject(t, 'upattach', {
    'compose.yml': `services:
  fails:
    image: busybox:latest
    command: ["sh", "-c", "echo from-fails; sleep 2; exit 3"]
  serves:
    image: busybox:latest
    command: ["sh", "-c", "trap 'exit 0' TERM; echo from-serves; sleep 600 & wait"]
  quiet:
    image: busybox:latest
    command: ["sh", "-c", "echo from-quiet"]
    profiles: [once]
`,
  });
  if (!p) return;
  const r = p.flotilla(['up', '--attach', 'fails', '--timestamps', '--abort-on-container-failure'], { timeoutMs: 90_000 });
  assert.equal(r.status, 3, `the failed container's code\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /^fails_1 +\| \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z from-fails$/m, r.stdout);
  assert.doesNotMatch(r.stdout, /from-serves/, 'serves is not attached');
  assert.deepEqual(p.running(), [], 'every container stopped');

  // Not attached to quiet: its output is not shown; up ends when the attached container exits.
  const once = p.flotilla(['--profile', 'once', 'up', '--no-attach', 'quiet', '--no-attach', 'serves', 'quiet', 'fails'], { timeoutMs: 90_000 });
  assert.equal(once.status, 0, once.stderr);
  assert.match(once.stdout, /from-fails/);
  assert.doesNotMatch(once.stdout, /from-quiet/);
  assert.match(p.ok(['--profile', 'once', 'logs', 'quiet']).stdout, /from-quiet/, 'quiet did run');

  const both = p.flotilla(['up', '--abort-on-container-exit', '--abort-on-container-failure']);
  assert.equal(both.status, 1);
  assert.match(both.stderr, /cannot be combined/);
  const detached = p.flotilla(['up', '-d', '--attach', 'fails']);
  assert.equal(detached.status, 1);
  assert.match(detached.stderr, /-d cannot be combined with --attach/);
  const unknown = p.flotilla(['up', '--attach', 'nosuch']);
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /no such service: nosuch/);
});

test('up --pull always|missing|never', (t) => {
  const missing = `flotilla-e2e-nosuch-${process.pid}:1`;
  const p = e2eProject(t, 'uppull', {
    'compose.yml': `services:
  a:
    image: busybox:latest
    command: ${SERVE}
  b:
    image: ${missing}
    profiles: [missing]
`,
  });
  if (!p) return;
  assert.match(p.ok(['up', '--dry-run', '--pull', 'always']).stdout, /pull busybox:latest for a/);
  assert.doesNotMatch(p.ok(['up', '--dry-run', '--pull', 'missing']).stdout, /pull busybox/);
  assert.doesNotMatch(p.ok(['up', '--dry-run']).stdout, /pull busybox/);
  const never = p.flotilla(['--profile', 'missing', 'up', '-d', '--pull', 'never']);
  assert.equal(never.status, 1);
  assert.match(never.stderr, new RegExp(`service "b" needs the image ${missing}, which is not on the engine, and --pull never was given`));
  assert.deepEqual([...p.containers().keys()], [], 'nothing was created');
  const bad = p.flotilla(['up', '--pull', 'sometimes']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /invalid --pull "sometimes"/);
});

test('up --wait: a one-shot dependency waited for with service_completed_successfully is done when it exits 0; --wait-timeout', async (t) => {
  const p = e2eProject(t, 'upwait', {
    'compose.yml': `services:
  init:
    image: busybox:latest
    command: ["sh", "-c", "sleep 1"]
  app:
    image: busybox:latest
    command: ${SERVE}
    depends_on:
      init:
        condition: service_completed_successfully
  never:
    image: busybox:latest
    command: ${SERVE}
    profiles: [slow]
    healthcheck:
      test: ["CMD", "false"]
      interval: 1s
      retries: 1000
`,
  });
  if (!p) return;
  const r = p.flotilla(['up', '--wait'], { timeoutMs: 90_000 });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.equal(p.inspect(p.c('init')).State.ExitCode, 0);
  assert.deepEqual(p.running(), [p.c('app')]);

  const slow = p.flotilla(['--profile', 'slow', 'up', '--wait-timeout', '3', 'never'], { timeoutMs: 90_000 });
  assert.equal(slow.status, 1, `${slow.stdout}\n${slow.stderr}`);
  assert.match(slow.stderr, /application not healthy after 3s/);
  const bad = p.flotilla(['up', '--wait-timeout', 'soon']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /invalid --wait-timeout "soon"/);
});

test('wait SERVICE...: the exit status of the containers; --down-project', async (t) => {
  const p = e2eProject(t, 'wait', {
    'compose.yml': `services:
  a:
    image: busybox:latest
    command: ["sh", "-c", "sleep 10; exit 5"]
  b:
    image: busybox:latest
    command: ${SERVE}
`,
  });
  if (!p) return;
  p.ok(['up', '-d']);
  const ids = p.containers();
  const a = p.flotilla(['wait', 'a'], { timeoutMs: 60_000 });
  assert.equal(a.status, 5, `${a.stdout}\n${a.stderr}`);
  assert.equal(a.stdout, `container "${ids.get(p.c('a'))}" exited with status code 5\n`);
  const none = p.flotilla(['wait', 'a']);
  assert.equal(none.status, 1);
  assert.match(none.stderr, new RegExp(`no containers for project "${p.name}"`));

  const waiting = p.spawn(['wait', '--down-project', 'b']);
  await sleep(1000);
  assert.equal(waiting.exitCode, undefined, 'still waiting while b runs');
  p.ok(['stop', 'b']);
  assert.equal(await waiting.exit(60_000), 0, waiting.output);
  assert.equal(waiting.stdout, `container "${ids.get(p.c('b'))}" exited with status code 0\n`);
  await poll('the project taken down', () => p.containers().size === 0 && p.networks().length === 0);
  const usage = p.flotilla(['wait']);
  assert.equal(usage.status, 1);
});

test("attach: a running container's output from now on, and its exit status", async (t) => {
  const p = e2eProject(t, 'attach', {
    'compose.yml': `services:
  ticker:
    image: busybox:latest
    command: ["sh", "-c", "trap 'exit 3' TERM; i=0; while :; do echo tick$$i; i=$$((i+1)); sleep 1 & wait; done"]
`,
  });
  if (!p) return;
  p.ok(['up', '-d']);
  const attached = p.spawn(['attach', 'ticker']);
  await attached.waitFor(/tick\d+\n/, 60_000);
  p.ok(['stop', 'ticker']);
  assert.equal(await attached.exit(60_000), 3, attached.output);
  assert.doesNotMatch(attached.stdout, /^tick0$/m, 'output from the attach on, not the earlier lines');
  const none = p.flotilla(['attach', 'ticker']);
  assert.equal(none.status, 1);
  assert.match(none.stderr, /no running container for service ticker with index 1/);
  const keys = p.flotilla(['attach', '--detach-keys', 'ctrl-', 'ticker']);
  assert.equal(keys.status, 1);
  assert.match(keys.stderr, /invalid --detach-keys "ctrl-"/);
});

// dockerd closes a StdinOnce container's stdin whenever an attach without a TTY ends, detached or
// not (as `docker attach` does): the detach keys are for TTY containers.
test('attach: stdin to the container, and the detach keys leave it running (dockerd)', async (t) => {
  if (!dockerOnly(t, "the embedded engine attaches a running container's output only")) return;
  const p = e2eProject(t, 'attachin', {
    'compose.yml': `services:
  echoer:
    image: busybox:latest
    stdin_open: true
    tty: true
    command: ["sh", "-c", "while read l; do echo got:$$l; [ $$l = quit ] && exit 7; done"]
`,
  });
  if (!p) return;
  p.ok(['up', '-d']);
  const detached = p.flotilla(['attach', 'echoer'], { input: 'one\n\x10\x11' });
  assert.equal(detached.status, 0, detached.stderr);
  const custom = p.flotilla(['attach', '--detach-keys', 'ctrl-x,q', 'echoer'], { input: 'two\n\x18q' });
  assert.equal(custom.status, 0, custom.stderr);
  assert.deepEqual(p.running(), [p.c('echoer')], 'still running after detaching');
  // stdin kept open: at its end dockerd stops sending the output (as with `docker attach`).
  const child = spawn(FLOTILLA, ['-p', p.name, 'attach', 'echoer'], { cwd: p.dir, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: p.dir, FLOTILLA_ENGINE: 'docker' } });
  const attached = new Background(child);
  t.after(() => attached.kill('SIGKILL'));
  child.stdin.write('quit\n');
  assert.equal(await attached.exit(60_000), 7, attached.output);
  assert.match(attached.stdout, /got:quit/);
  // What was typed before each detach reached the container.
  assert.match(p.ok(['logs', '--no-log-prefix', 'echoer']).stdout, /got:one[\s\S]*got:two/);
});

test('--dry-run before any state-changing command prints the plan and changes nothing', async (t) => {
  const p = e2eProject(t, 'dryrun', { 'compose.yml': TWO_SERVICES });
  if (!p) return;
  assert.match(p.ok(['--dry-run', 'up', '-d']).stdout, /^create network .*_default: not on the engine$/m);
  assert.deepEqual([...p.containers().keys()], [], 'up --dry-run created nothing');
  assert.deepEqual(p.networks(), []);

  p.ok(['up', '-d']);
  await poll('b to exit', () => p.inspect(p.c('b')).State.Status === 'exited');
  const before = p.containers();
  const networks = p.networks();
  const same = () => {
    assert.deepEqual(p.containers(), before, 'the same containers');
    assert.deepEqual(p.running(), [p.c('a')], 'a still runs');
    assert.deepEqual(p.networks(), networks);
  };
  assert.match(p.ok(['--dry-run', 'stop']).stdout, new RegExp(`^stop ${p.c('a')}: `, 'm'));
  same();
  assert.match(p.ok(['--dry-run', 'kill']).stdout, new RegExp(`^kill ${p.c('a')}: `, 'm'));
  assert.match(p.ok(['--dry-run', 'restart', 'a']).stdout, new RegExp(`^restart ${p.c('a')}: `, 'm'));
  assert.match(p.ok(['--dry-run', 'pause']).stdout, new RegExp(`^pause ${p.c('a')}: `, 'm'));
  assert.match(p.ok(['--dry-run', 'up', '-d', '--force-recreate']).stdout, new RegExp(`^recreate ${p.c('a')}: `, 'm'));
  assert.match(p.ok(['--dry-run', 'create', '--force-recreate', 'b']).stdout, new RegExp(`^recreate ${p.c('b')}: `, 'm'));
  assert.match(p.ok(['--dry-run', 'scale', 'a=2']).stdout, new RegExp(`^create ${p.c('a', 2)}: `, 'm'));
  assert.match(p.ok(['--dry-run', 'rm', '-f']).stdout, new RegExp(`^remove ${p.c('b')}: `, 'm'));
  const down = p.ok(['--dry-run', 'down']).stdout;
  assert.match(down, new RegExp(`^remove ${p.c('a')}: `, 'm'));
  assert.match(down, /^remove network .*_default: /m);
  same();

  assert.match(p.ok(['--dry-run', 'pull']).stdout, /^pull busybox:latest for a: --dry-run, not pulled$/m);
  same();
  const attach = p.flotilla(['--dry-run', 'attach', 'a']);
  assert.equal(attach.status, 1);
  assert.match(attach.stderr, /^ERROR: --dry-run is not supported by attach/);
  same();
});

test('--progress plain|json|quiet', (t) => {
  const p = e2eProject(t, 'progress', { 'compose.yml': TWO_SERVICES });
  if (!p) return;
  const json = p.ok(['--progress', 'json', 'up', '-d']);
  const events = lines(json.stderr).map((l) => JSON.parse(l) as Record<string, string>);
  assert.deepEqual(events.filter((e) => e['id'] === `Creating ${p.c('a')}`).map((e) => e['status']), ['working', 'done'], json.stderr);
  assert.deepEqual(events.filter((e) => e['id'] === `Creating ${p.c('b')}`).map((e) => e['status']), ['working', 'done'], json.stderr);
  assert.equal(p.ok(['--progress', 'quiet', 'stop']).stderr, '');
  assert.match(p.ok(['--progress', 'plain', 'start']).stderr, /^Starting a \.\.\. done$/m);
  const bad = p.flotilla(['--progress', 'fancy', 'ps']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /fancy/);
});

test('stats: CPU %, memory use / limit, I/O and pids of the running containers; --no-stream, --format json, -a', async (t) => {
  const p = e2eProject(t, 'stats', {
    'compose.yml': `services:
  spin:
    image: busybox:latest
    command: ["sh", "-c", "trap 'exit 0' TERM; while :; do :; done"]
    cpus: 0.2
    mem_limit: 64m
  idle:
    image: busybox:latest
    command: ${SERVE}
  once:
    image: busybox:latest
    command: ["true"]
`,
  });
  if (!p) return;
  p.ok(['up', '-d']);
  await poll('once to exit', () => p.inspect(p.c('once')).State.Status === 'exited');
  const ids = p.containers();
  const readings = lines(p.ok(['stats', '--no-stream', '--format', 'json']).stdout).map((l) => JSON.parse(l) as Record<string, string>);
  assert.deepEqual(readings.map((r) => r['Name']).sort(), [p.c('idle'), p.c('spin')]);
  const spin = readings.find((r) => r['Name'] === p.c('spin')) ?? {};
  assert.equal(spin['ID'], ids.get(p.c('spin'))?.slice(0, 12));
  assert.match(spin['MemUsage'] ?? '', /^\d+(\.\d+)?(B|KiB|MiB) \/ 64MiB$/);
  assert.match(spin['MemPerc'] ?? '', /^\d+\.\d\d%$/);
  assert.ok(Number.parseFloat(spin['CPUPerc'] ?? '') > 0.5, `the spinning container uses CPU: ${spin['CPUPerc']}`);
  assert.ok(Number.parseFloat(spin['CPUPerc'] ?? '') <= 30, `within its 0.2 CPU: ${spin['CPUPerc']}`);
  assert.match(spin['NetIO'] ?? '', /^\d+(\.\d+)?(B|kB|MB) \/ \d+(\.\d+)?(B|kB|MB)$/);
  assert.match(spin['BlockIO'] ?? '', /^\d+(\.\d+)?(B|kB|MB) \/ \d+(\.\d+)?(B|kB|MB)$/);
  assert.ok(Number(spin['PIDs']) >= 1, `pids: ${spin['PIDs']}`);

  const table = lines(p.ok(['stats', '--no-stream', '-a', '--no-trunc']).stdout);
  assert.match(table[0] ?? '', /^CONTAINER ID +NAME +CPU % +MEM USAGE \/ LIMIT +MEM % +NET I\/O +BLOCK I\/O +PIDS$/);
  const once = table.find((l) => l.includes(p.c('once'))) ?? '';
  assert.match(once, new RegExp(`^${ids.get(p.c('once'))} +${p.c('once')} +0\\.00% +0B / 0B +0\\.00% +0B / 0B +0B / 0B +0$`), 'a stopped container with -a');

  const streaming = p.spawn(['stats', '--format', 'json', 'idle']);
  await streaming.waitFor(new RegExp(`${p.c('idle')}[^\\n]*\\n[^\\n]*${p.c('idle')}`), 60_000);
  streaming.kill('SIGINT');
  assert.equal(await streaming.exit(30_000), 0, streaming.output);
  const bad = p.flotilla(['stats', '--format', 'csv']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--format must be table or json/);
});
