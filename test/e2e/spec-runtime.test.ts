/**
 * The Compose Specification keys the engines act on (issue 14), on dockerd and (run again with
 * FLOTILLA_E2E_ENGINE=embedded) on the embedded engine: what `up` warns it does not act on,
 * provider services left out, pids limits, post_start/pre_stop hooks, `cp`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chownSync, existsSync, mkdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { packTar, type PackItem } from '../../src/util/tar-pack.js';
import { assertCleanFailure, E2E_ENGINE, e2eProject, SERVE } from './lib.js';

test('up warns once per key it does not act on, at the key, and leaves provider services out', (t) => {
  const p = e2eProject(t, 'spec', {
    'compose.yaml': `services:
  web:
    image: busybox:latest
    command: ${SERVE}
    depends_on:
      llm:
        condition: service_started
    develop:
      watch:
        - path: ./src
          action: sync
          target: /src
    models: [m]
    deploy:
      resources:
        limits:
          pids: 37
  llm:
    provider:
      type: model
      options:
        model: ai/smollm2
models:
  m:
    model: ai/smollm2
`,
  });
  if (!p) return;
  const r = p.ok(['up', '-d'], { timeoutMs: 180_000 });
  const warnings = r.stderr.split('\n').filter((l) => l.startsWith('WARNING:'));
  // Services in dependency order (llm first), each one's keys in a fixed order.
  assert.deepEqual(warnings, [
    'WARNING: compose.yaml:19:5: services.llm.provider: service "llm" has a provider: Flotilla does not run provider services, so up leaves it out',
    'WARNING: compose.yaml:13:5: services.web.models: models are not run by Flotilla: the service gets no model endpoints',
  ]);
  assert.deepEqual(p.running(), [p.c('web')], 'the provider service has no container');
  const pids = p.ok(['exec', '-T', 'web', 'sh', '-c', 'cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max']).stdout.trim();
  assert.equal(pids, '37', 'deploy.resources.limits.pids is the container\'s pids limit');
});

test('post_start and pre_stop hooks run in the container with their user, working_dir, environment and privileges; a failing post_start fails the start', (t) => {
  const p = e2eProject(t, 'hooks', {
    'compose.yaml': `services:
  web:
    image: busybox:latest
    command: ${SERVE}
    volumes: ["./out:/out"]
    post_start:
      - command: ["sh", "-c", "echo \\"$$GREETING $$(id -u) $$(pwd)\\" > /tmp/hook1; echo hook ran"]
        user: "65534"
        working_dir: /etc
        environment:
          GREETING: hello
    pre_stop:
      - command: ["sh", "-c", "echo $$WHO > /out/stopped"]
        environment: [WHO=pre_stop]
  priv:
    image: busybox:latest
    command: ${SERVE}
    post_start:
      - command: sh -c "grep CapEff /proc/self/status > /tmp/hook2"
        privileged: true
  bad:
    image: busybox:latest
    command: ${SERVE}
    post_start:
      - command: ["sh", "-c", "exit 3"]
`,
    'out/.keep': '',
  });
  if (!p) return;
  const r = p.ok(['up', '-d', 'web'], { timeoutMs: 180_000 });
  assert.match(r.stderr, new RegExp(`${p.c('web')} -> hook ran\\n`), 'a hook\'s output is shown with its container');
  assert.equal(p.ok(['exec', '-T', 'web', 'cat', '/tmp/hook1']).stdout, 'hello 65534 /etc\n');

  const priv = p.flotilla(['up', '-d', 'priv']);
  if (priv.status === 0) {
    const privileged = p.ok(['exec', '-T', 'priv', 'cat', '/tmp/hook2']).stdout.trim();
    const plain = p.ok(['exec', '-T', 'priv', 'grep', 'CapEff', '/proc/self/status']).stdout.trim();
    assert.match(privileged, /^CapEff:\s+[0-9a-f]+$/);
    assert.notEqual(privileged, plain, 'the privileged hook has more capabilities than a plain exec');
  } else {
    // dockerd 20.10 with this host's runc refuses any privileged exec into an unprivileged
    // container (`docker exec --privileged` fails the same way): the refusal shows the hook
    // asked for privileges, which a plain exec would not.
    assert.equal(E2E_ENGINE, 'docker', priv.stderr);
    assert.match(priv.stderr, /unable to apply caps: operation not permitted[\s\S]*priv post_start hook exited with status 126/);
  }
  p.ok(['rm', '-f', '-s', 'priv']);

  p.ok(['stop', 'web']);
  assert.equal(readFileSync(join(p.dir, 'out', 'stopped'), 'utf8'), 'pre_stop\n', 'pre_stop ran before the stop');
  assert.deepEqual(p.running(), []);

  const failed = p.flotilla(['up', '-d', 'bad']);
  assert.equal(failed.status, 1, failed.stderr);
  assert.match(failed.stderr, /ERROR: for .*bad.*: bad post_start hook exited with status 3/);
});

test('secrets and configs from content and environment are written into the containers; an unset variable is refused before anything is made', (t) => {
  const p = e2eProject(t, 'files', {
    'compose.yaml': `services:
  web:
    image: busybox:latest
    command: ${SERVE}
    secrets:
      - token
      - source: token
        target: nested/token
        uid: "65534"
        gid: "65534"
        mode: 0400
    configs:
      - greeting
      - source: fromenv
        target: /etc/app/fromenv.conf
secrets:
  token:
    environment: SPEC_TOKEN
configs:
  greeting:
    content: |
      hello \${WHO}
  fromenv:
    environment: SPEC_CONFIG
`,
    '.env': 'WHO=world\nSPEC_CONFIG=from the .env file\n',
  });
  if (!p) return;
  const refused = p.flotilla(['up', '-d']);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /^ERROR: compose\.yaml:6:9: services\.web\.secrets\[0\]: environment variable "SPEC_TOKEN" required by secret "token" is not set/m);
  assert.deepEqual([...p.containers().keys()], [], 'nothing was created');

  p.ok(['up', '-d'], { env: { SPEC_TOKEN: 's3cret' }, timeoutMs: 180_000 });
  const show = (path: string) => p.ok(['exec', '-T', 'web', 'sh', '-c', `stat -c '%a %u:%g' ${path}; cat ${path}`]).stdout;
  assert.equal(show('/run/secrets/token'), '444 0:0\ns3cret');
  assert.equal(show('/run/secrets/nested/token'), '400 65534:65534\ns3cret');
  assert.equal(show('/greeting'), '444 0:0\nhello world\n');
  assert.equal(show('/etc/app/fromenv.conf'), '444 0:0\nfrom the .env file');
});

/** A tar of the given entries (the test's own crafted archives). */
async function tarOf(items: PackItem[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of packTar(items)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

test('cp copies files and folders both ways through the engine, with docker cp\'s placement, --index, -L and -a, and never outside the container', async (t) => {
  const p = e2eProject(t, 'cp', {
    'compose.yaml': `services:
  web:
    image: busybox:latest
    command: ["sh", "-c", "mkdir -p /d && echo x > /d/x && ln -sf /etc/hostname /d/l && ln -sfn /d /dl && ln -sfn /etc /tmp/etclink && echo \\"$$HOSTNAME\\" > /data/who && trap 'exit 0' TERM; sleep 600 & wait"]
    user: "0"
    scale: 2
    volumes: ["data:/data"]
  nobody:
    image: busybox:latest
    command: ${SERVE}
    user: "65534"
volumes:
  data:
`,
    'src/sub/a': 'in a sub folder\n',
    'f': 'hello\n',
  });
  if (!p) return;
  p.ok(['up', '-d'], { timeoutMs: 180_000 });
  chownSync(join(p.dir, 'f'), 1234, 2345);
  const sh = (service: string, script: string, index = 1) => p.ok(['exec', '-T', '--index', String(index), service, 'sh', '-c', script]).stdout;

  // Into every container of the service (a volume too); a directory destination takes the
  // source's name, a new path is the source renamed, "/." copies the contents.
  p.ok(['cp', 'f', 'web:/tmp/']);
  p.ok(['cp', 'src/.', 'web:/data/newdir']);
  p.ok(['cp', '--index', '2', 'f', 'web:/tmp/only2']);
  p.ok(['cp', 'f', 'nobody:/tmp/plain']);
  p.ok(['cp', '-a', 'f', 'nobody:/tmp/archived']);
  const listing = 'cd /tmp && ls f; test -e only2 && echo only2 || echo no only2; stat -c %u:%g f; cat f; find /data/newdir | sort';
  const copied = '1234:2345\nhello\n/data/newdir\n/data/newdir/sub\n/data/newdir/sub/a\n';
  assert.equal(sh('web', listing, 1), `f\nno only2\n${copied}`);
  assert.equal(sh('web', listing, 2), `f\nonly2\n${copied}`, '--index 2: only the second container');
  assert.equal(sh('nobody', 'stat -c %u:%g /tmp/plain /tmp/archived'), '1234:2345\n65534:65534\n', '-a: the container user owns the files');

  // Out of the first container (a volume's file included), by the same rules.
  p.ok(['cp', 'web:/data/who', 'who']);
  assert.equal(readFileSync(join(p.dir, 'who'), 'utf8'), sh('web', 'cat /data/who', 1));
  p.ok(['cp', 'web:/d', 'out1']);
  mkdirSync(join(p.dir, 'out2'));
  p.ok(['cp', 'web:/d/.', 'out2']);
  p.ok(['cp', 'web:/dl', 'out3']);
  p.ok(['cp', '-L', 'web:/dl', 'out4']);
  for (const dir of ['out1', 'out2', 'out4']) {
    assert.equal(readFileSync(join(p.dir, dir, 'x'), 'utf8'), 'x\n', dir);
    assert.equal(readlinkSync(join(p.dir, dir, 'l')), '/etc/hostname', dir);
  }
  assert.equal(readlinkSync(join(p.dir, 'out3')), '/d', 'a symlink is copied as a link without -L');
  assert.equal(statSync(join(p.dir, 'out1', 'x')).uid, process.getuid?.(), 'files copied out belong to the user running cp');
  assertCleanFailure(p.flotilla(['cp', 'web:/d/x', 'out5/']), /^ERROR: destination directory .*out5\/ does not exist$/m);
  assertCleanFailure(p.flotilla(['cp', 'web:/nope', 'x']), /^ERROR: Could not find the file \/nope in container /m);
  assertCleanFailure(p.flotilla(['cp', 'web:/d', 'f']), /^ERROR: cannot copy a directory to the file .*\/f$/m);
  const raw = p.flotilla(['cp', 'web:/d/x', '-']);
  assert.equal(raw.status, 0, raw.stderr);
  assert.match(raw.stdout, /^x\0/, 'DEST "-" writes the tar to stdout');

  // A symlink in the container leads only within the container; an archive cannot climb out.
  const mark = `flotilla-cp-${p.name}`;
  p.ok(['cp', 'f', `web:/tmp/etclink/${mark}`]);
  assert.ok(!existsSync(`/etc/${mark}`), 'nothing was written to the host\'s /etc');
  const climbing = await tarOf([{ entry: { name: `../../../../../../tmp/${mark}`, type: 'file', mode: 0o644, mtime: 0, size: 3 }, body: Buffer.from('no\n') }]);
  const climbed = p.flotilla(['cp', '-', 'web:/tmp'], { input: climbing.toString('latin1') });
  // dockerd extracts it chrooted into the container; the embedded engine refuses the name.
  if (E2E_ENGINE === 'embedded') assertCleanFailure(climbed, /^ERROR: .*climbs above the extraction directory/m);
  assert.ok(!existsSync(`/tmp/${mark}`), 'a climbing entry is not written outside');
  const viaLink = await tarOf([
    { entry: { name: 'evil', type: 'symlink', mode: 0o777, mtime: 0, linkName: '/' } },
    { entry: { name: `evil/tmp/${mark}`, type: 'file', mode: 0o644, mtime: 0, size: 3 }, body: Buffer.from('in\n') },
  ]);
  p.ok(['cp', '-', 'web:/d'], { input: viaLink.toString('latin1') });
  assert.ok(!existsSync(`/tmp/${mark}`), 'a link in the archive leads only within the container');
  assert.equal(sh('web', `cat /etc/${mark} /tmp/${mark}`), 'hello\nin\n', 'both landed in the container');
});

test('healthcheck.start_interval paces the checks of the start period on the embedded engine; dockerd 20.10 (API 1.41) is refused as Compose v2 refuses it', (t) => {
  const p = e2eProject(t, 'startint', {
    'compose.yaml': `services:
  web:
    image: busybox:latest
    command: ${SERVE}
    healthcheck:
      test: ["CMD", "true"]
      interval: 1h
      start_period: 1h
      start_interval: 1s
`,
  });
  if (!p) return;
  const r = p.flotilla(['up', '-d', '--wait', '--wait-timeout', '120'], { timeoutMs: 180_000 });
  if (E2E_ENGINE === 'docker') {
    assertCleanFailure(r, /can't set healthcheck\.start_interval as feature require Docker Engine v25 or later \(the engine speaks API 1\.4[0-3]\)/);
    return;
  }
  // With only `interval`, the first check would come an hour after the start.
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /start_interval/, 'no "not acted on" warning any more');
  assert.equal(p.inspect(p.c('web')).State.Health?.Status, 'healthy');
});
