/**
 * `flotilla image build` on the embedded engine, as a user meets it: every filesystem instruction
 * carried out in real containers, the layer cache (an unchanged rebuild finds every step and
 * gives the same image; a changed file misses from the COPY that reads it), errors located as
 * Dockerfile:LINE with nothing tagged, and the image's files compared with what dockerd's
 * BuildKit makes of the same context.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { assertCleanError } from '../helpers/cli.js';
import { embeddedCli, succeeded } from '../helpers/embedded-cli.js';
import { buildkitBuild, buildkitBusybox, buildkitFiles, DOCKER, requireBuildkit, walkTree, type FileRecord } from '../helpers/buildkit.js';
import { useTestDaemon } from '../helpers/embedded-daemon.js';
import { withImageView } from '../helpers/embedded-images.js';
import { requireRoot } from '../helpers/root.js';
import { projectDir } from '../helpers/tmp.js';

const testDaemon = useTestDaemon();

const cli = embeddedCli(testDaemon, 300_000);
const ok = succeeded;

/** Runs `sh -c script` in a one-off container of `image`; its output. */
function inImage(dir: string, image: string, script: string): string {
  writeFileSync(join(dir, 'compose.yaml'), `services:\n  probe:\n    image: ${image}\n`);
  return ok(cli(dir, ['-p', 'buildprobe', 'run', '--rm', '-T', 'probe', 'sh', '-c', script]), `run in ${image}`);
}

const ALL_STEPS = `FROM busybox:latest AS base
ARG GREETING=hello
WORKDIR /app
COPY *.txt ./
COPY --chown=nobody:nogroup --chmod=700 tools/ /opt/tools/
ADD archive.tar.gz /unpacked/
COPY <<EOF /app/heredoc.conf
greeting=\${GREETING}
EOF
RUN <<SCRIPT
set -e
echo "$GREETING from RUN" > /app/run.txt
rm /app/b.txt
SCRIPT
RUN --mount=type=cache,target=/cache echo cached-data > /cache/x && cp /cache/x /app/from-cache.txt
FROM busybox:latest
COPY --from=base /app/ /srv/
ENV MODE=production
CMD ["cat", "/srv/run.txt"]
`;

function allStepsContext(t: Parameters<typeof projectDir>[0]): string {
  const dir = projectDir(t, { Dockerfile: ALL_STEPS, 'a.txt': 'A\n', 'b.txt': 'B\n', 'skip.md': 'no\n', 'tools/run.sh': '#!/bin/sh\necho tool\n', 'tools/lib/x': 'x\n' });
  const src = join(dir, '..', 'archive-src');
  mkdirSync(join(src, 'inner'), { recursive: true });
  writeFileSync(join(src, 'inner', 'file'), 'from the archive\n');
  const tar = spawnSync('tar', ['-czf', join(dir, 'archive.tar.gz'), '-C', src, '--owner=0', '--group=0', 'inner']);
  assert.equal(tar.status, 0, String(tar.stderr));
  return dir;
}

/** The image's files as a container sees them. */
function flattened(id: string): Map<string, FileRecord> {
  return withImageView(testDaemon()!.paths.images, id, (root) => walkTree(root));
}

/**
 * Builds `dockerfile` in `dir` with dockerd's BuildKit (BASE: busybox under a name of the test's)
 * and with the embedded engine (BASE: busybox:latest, the same image), and asserts the two
 * flattened filesystems are equal: paths, types, modes, owners, contents, link targets.
 */
async function compareWithBuildkit(t: Parameters<typeof projectDir>[0], dir: string, dockerfile: string): Promise<Map<string, FileRecord>> {
  writeFileSync(join(dir, 'Dockerfile'), dockerfile);
  const theirs = buildkitBuild(t, dir, { args: { BASE: buildkitBusybox(t) } });
  assert.ok(theirs.ok, theirs.ok ? '' : theirs.error);
  const ours = ok(cli(dir, ['image', 'build', '-q', '.']), 'build').trim();
  const mine = flattened(ours);
  const SKIP = /^(dev|proc|sys)(\/|$)|^etc\/(hostname|hosts|resolv\.conf|mtab)$|^\.dockerenv$/;
  const describe = (m: Map<string, FileRecord>) =>
    [...m]
      .filter(([p]) => !SKIP.test(p))
      .map(([p, r]) => `${p} ${r.type} ${r.mode.toString(8)} ${r.uid}:${r.gid} ${r.content ?? ''}`)
      .join('\n');
  const ourLines = describe(mine).split('\n');
  const theirLines = describe(buildkitFiles(theirs.id)).split('\n');
  const onlyOurs = ourLines.filter((l) => !theirLines.includes(l));
  const onlyTheirs = theirLines.filter((l) => !ourLines.includes(l));
  assert.deepEqual({ onlyOurs, onlyTheirs }, { onlyOurs: [], onlyTheirs: [] });
  assert.ok(ourLines.length > 100, 'the comparison covered the whole image');
  return mine;
}

describe('image build on the embedded engine', () => {
  it('carries out every instruction, then rebuilds from the cache exactly as far as nothing changed', (t) => {
    if (!requireRoot(t)) return;
    const dir = allStepsContext(t);
    const first = cli(dir, ['image', 'build', '-t', 'flt-build-all:1', '.']);
    const id = ok(first, 'first build').trim();
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    assert.doesNotMatch(first.stderr, /CACHED/);
    const files = inImage(dir, 'flt-build-all:1', 'cd /srv && ls -n . /opt 2>&1; cat a.txt run.txt heredoc.conf from-cache.txt; echo MODE=$MODE');
    assert.match(files, /a\.txt/);
    assert.doesNotMatch(files, /b\.txt|skip\.md/, 'rm in RUN and the *.txt wildcard');
    assert.match(files, /hello from RUN/);
    assert.match(files, /greeting=hello/);
    assert.match(files, /cached-data/);
    assert.match(files, /MODE=production/, 'ENV is in the image config');

    const again = cli(dir, ['image', 'build', '-t', 'flt-build-all:1', '.']);
    assert.equal(ok(again, 'cached rebuild').trim(), id, 'an unchanged rebuild makes the same image');
    const steps = again.stderr.split('\n').filter((l) => /^#\d+ \[/.test(l)).length;
    const cached = again.stderr.split('\n').filter((l) => /^#\d+ CACHED$/.test(l)).length;
    assert.equal(cached, steps, again.stderr);
    assert.ok(steps >= 8, again.stderr);

    writeFileSync(join(dir, 'tools', 'run.sh'), '#!/bin/sh\necho changed\n');
    const changed = cli(dir, ['image', 'build', '-t', 'flt-build-all:1', '.']);
    // The last stage copies only /app from the first, which did not change: the same image.
    assert.equal(ok(changed, 'rebuild after a change').trim(), id);
    const lines = changed.stderr.split('\n');
    const stepOf = (pattern: RegExp) => lines.findIndex((l) => pattern.test(l));
    const cachedAfter = (i: number) => lines[i + 1] === lines[i]!.replace(/ \[.*$/, ' CACHED');
    assert.ok(cachedAfter(stepOf(/\] WORKDIR \/app$/)), changed.stderr);
    assert.ok(cachedAfter(stepOf(/\] COPY \*\.txt/)), changed.stderr);
    assert.ok(!cachedAfter(stepOf(/\] COPY --chown/)), 'the COPY that reads the changed file runs again');
    assert.ok(!cachedAfter(stepOf(/\] RUN --mount/)), 'and so does every step after it');
  });

  it('owners, modes, archives and wildcards as BuildKit makes them', async (t) => {
    if (!requireRoot(t) || !requireBuildkit(t)) return;
    const dir = allStepsContext(t);
    symlinkSync('a.txt', join(dir, 'link'));
    chmodSync(join(dir, 'tools', 'run.sh'), 0o755);
    const mine = await compareWithBuildkit(t, dir, `ARG BASE=busybox:latest
FROM \${BASE}
WORKDIR /app
COPY *.txt ./
COPY --chown=nobody:nogroup --chmod=700 tools/ /opt/tools/
COPY --chown=1234 a.txt /owned/deep/a.txt
ADD archive.tar.gz /unpacked/
COPY tools /copied-dir
COPY link /link-copy
RUN mkdir -p /made/sub && echo x > /made/sub/f && chmod 640 /made/sub/f && ln -s sub/f /made/l && rm -f /bin/vi && rm -rf /home
`);
    // not vacuous: the comparison saw what the steps made
    assert.equal(mine.get('opt/tools/run.sh')?.uid, 65534);
    assert.equal(mine.get('opt/tools/run.sh')?.mode, 0o700);
    assert.equal(mine.get('owned/deep/a.txt')?.gid, 1234);
    assert.equal(mine.get('unpacked/inner/file')?.type, 'file');
    assert.equal(mine.get('made/l')?.content, 'sub/f');
    assert.equal(mine.has('bin/vi') || mine.has('home'), false);
  });

  it('stages, users, opaque directories and repeated copies as BuildKit makes them', async (t) => {
    if (!requireRoot(t) || !requireBuildkit(t)) return;
    const dir = allStepsContext(t);
    const mine = await compareWithBuildkit(t, dir, `ARG BASE=busybox:latest
FROM \${BASE} AS first
RUN mkdir -p /data/keep /data/drop && echo k > /data/keep/k && echo d > /data/drop/d \\
 && echo 'app:x:1500:1500::/home/app:/bin/sh' >> /etc/passwd && echo 'app:x:1500:' >> /etc/group && mkdir -p /home/app && chown app:app /home/app
USER app
WORKDIR /home/app/work
RUN echo mine > own.txt
FROM \${BASE}
COPY --from=first /data /data
COPY --from=first /home/app /home/app
RUN rm -rf /data/drop && mkdir /data/drop && echo new > /data/drop/n
RUN rm -rf /usr && mkdir /usr && echo fresh > /usr/only
RUN --mount=type=bind,from=first,source=/data/keep,target=/mnt cp /mnt/k /from-bind
ADD a.txt /added/
COPY tools/ /opt/
COPY tools/ /opt/
`);
    assert.equal(mine.get('home/app/work/own.txt')?.uid, 1500);
    assert.equal(mine.has('data/drop/d'), false);
    assert.equal(mine.has('usr/bin'), false);
    assert.equal(mine.get('from-bind')?.type, 'file');
  });

  it('runs a container of an image with the same layer twice, built here or by BuildKit', (t) => {
    if (!requireRoot(t) || !requireBuildkit(t)) return;
    const dockerfile = `ARG BASE=busybox:latest
FROM \${BASE}
COPY a.txt /a.txt
RUN rm /a.txt && echo between > /between
COPY a.txt /a.txt
COPY a.txt /a.txt
CMD ["sh", "-c", "cat /a.txt /between"]
`;
    const dir = projectDir(t, { Dockerfile: dockerfile, 'a.txt': 'A\n' });
    const repeated = (layers: string[]) => layers.length === 5 && layers[1] === layers[3] && layers[3] === layers[4] && layers[2] !== layers[1];
    const ours = ok(cli(dir, ['image', 'build', '-q', '-t', 'flt-build-twice:ours', '.']), 'build').trim();
    const inspected = JSON.parse(ok(cli(dir, ['image', 'inspect', ours]), 'inspect')) as { RootFS: { Layers: string[] } }[];
    assert.ok(repeated(inspected[0]!.RootFS.Layers), `the image repeats a layer apart: ${inspected[0]!.RootFS.Layers.join(' ')}`);

    const theirs = buildkitBuild(t, dir, { args: { BASE: buildkitBusybox(t) } });
    assert.ok(theirs.ok, theirs.ok ? '' : theirs.error);
    assert.ok(repeated(theirs.inspect.RootFS.Layers ?? []), `BuildKit's image repeats a layer apart: ${(theirs.inspect.RootFS.Layers ?? []).join(' ')}`);
    const archive = join(dir, '..', 'buildkit-image.tar');
    const saved = spawnSync(DOCKER, ['save', '-o', archive, theirs.tag], { encoding: 'utf8' });
    assert.equal(saved.status, 0, saved.stderr);
    ok(cli(dir, ['image', 'load', '-q', '-i', archive]), 'load');

    for (const image of ['flt-build-twice:ours', theirs.tag]) {
      const out = inImage(dir, image, 'cat /a.txt /between');
      assert.equal(out, 'A\nbetween\n', image);
    }
  });

  it('RUN <<EOF with a shebang runs the body with the interpreter it names, as BuildKit\'s frontend does', (t) => {
    if (!requireRoot(t)) return;
    // awk would be a syntax error to sh: only the shebang makes this step pass. The body reaches
    // the interpreter as a file, /dev/pipes/<name>, which stays out of the layer.
    const dir = projectDir(t, {
      Dockerfile: 'FROM busybox:latest\nUSER nobody\nRUN <<EOF\n#!/bin/awk -f\nBEGIN { print "awk ran" > "/tmp/awk.txt" }\nEOF\nUSER root\nRUN <<-EOT\n\t#!/bin/sh -e\n\techo "$0 $HOME" > /tmp/sh.txt\n\tEOT\nRUN <<EOF\n#!/bin/sh\necho failing; exit 4\nEOF\n',
    });
    const failed = cli(dir, ['image', 'build', '-q', '.']);
    assertCleanError(failed, /Dockerfile:12: RUN: executor failed running \[\/bin\/sh -c \/dev\/pipes\/EOF\]: exit code: 4; last output: failing/);
    writeFileSync(join(dir, 'Dockerfile'), readFileSync(join(dir, 'Dockerfile'), 'utf8').replace('exit 4', 'echo ok > /tmp/third.txt'));
    const id = ok(cli(dir, ['image', 'build', '-q', '.']), 'build').trim();
    const files = flattened(id);
    const contents = withImageView(testDaemon()!.paths.images, id, (root) => ['awk', 'sh', 'third'].map((n) => readFileSync(join(root, 'tmp', `${n}.txt`), 'utf8')));
    assert.deepEqual(contents, ['awk ran\n', '/dev/pipes/EOT /root\n', 'ok\n']);
    assert.equal(files.get('tmp/awk.txt')?.uid, 65534, 'run as USER nobody');
    assert.deepEqual([...files.keys()].filter((p) => p.startsWith('dev/')), [], 'no /dev/pipes in the image');
  });

  it('locates errors as Dockerfile:LINE, shows a failing RUN\'s output and exit code, and tags nothing', (t) => {
    if (!requireRoot(t)) return;
    const dir = projectDir(t, { 'a.txt': 'a\n', Dockerfile: 'FROM busybox:latest\nCOPY a.txt /\nRUN echo some-output; \\\n    exit 3\n' });
    const failed = cli(dir, ['image', 'build', '-t', 'flt-build-fail:1', '.']);
    assert.equal(failed.status, 1);
    assert.match(failed.stderr, /some-output/);
    assert.match(failed.stderr, /ERROR: Dockerfile:3: RUN: executor failed running \[\/bin\/sh -c echo some-output; +exit 3\]: exit code: 3/);
    assert.doesNotMatch(ok(cli(dir, ['image', 'ls']), 'image ls'), /flt-build-fail/);

    writeFileSync(join(dir, 'Dockerfile'), 'FROM busybox:latest\n\nCOPY ../outside /x\n');
    assertCleanError(cli(dir, ['image', 'build', '-q', '-t', 'flt-build-fail:1', '.']), /^ERROR: Dockerfile:3: COPY: forbidden path outside the build context: \.\.\/outside$/m);
    writeFileSync(join(dir, 'Dockerfile'), 'FROM busybox:latest\nCOPY missing.txt /x\n');
    assertCleanError(cli(dir, ['image', 'build', '-q', '.']), /^ERROR: Dockerfile:2: COPY: missing\.txt: no such file or directory$/m);
    writeFileSync(join(dir, 'Dockerfile'), 'FROM busybox:latest\nENV A=${B-x}\n');
    assertCleanError(cli(dir, ['image', 'build', '-q', '.']), /^ERROR: Dockerfile:2: ENV: failed to process "\$\{B-x\}": missing ':' in substitution$/m);
    // A base image the engine lacks is pulled; a registry that cannot be reached fails the FROM.
    writeFileSync(join(dir, 'Dockerfile'), 'FROM 127.0.0.1:1/no-such-image-here:1\n');
    assertCleanError(cli(dir, ['image', 'build', '-q', '.']), /^ERROR: Dockerfile:1: FROM: 127\.0\.0\.1:1\/no-such-image-here:1: .*(refused|connect)/im);
    assert.doesNotMatch(ok(cli(dir, ['image', 'ls']), 'image ls'), /flt-build-fail/);
  });
});
