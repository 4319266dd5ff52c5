/**
 * Images moving both ways between the embedded engine and dockerd, with layers that carry what
 * is easy to lose: a file capability (security.capability, a binary value), a binary user.*
 * attribute, setuid with an owner, a hard link, a long UTF-8 name, a whiteout and an opaque
 * directory.
 *  - Flotilla → dockerd: `flotilla image save` → `docker load`: the same image id (dockerd hashes
 *    every layer against the config), the same config and files, the capability there, and it runs.
 *  - dockerd → Flotilla: an image dockerd made itself (`docker import` with a capability, then two
 *    BuildKit steps deleting and replacing files) → `docker save` → `flotilla image load`: the
 *    same id, config and files, the capability in Flotilla's snapshot, and it runs.
 * Every dockerd image and container is named by the test and removed when it ends.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, chmodSync, closeSync, existsSync, linkSync, mkdirSync, mkdtempSync, openSync, readSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { FLOTILLA, assertCleanError } from '../helpers/cli.js';
import { DOCKER, buildkitFiles, requireBuildkit, walkTree, type FileRecord } from '../helpers/buildkit.js';
import { embeddedCli, succeeded } from '../helpers/embedded-cli.js';
import { useTestDaemon } from '../helpers/embedded-daemon.js';
import { busyboxRootfsTar, withImageView } from '../helpers/embedded-images.js';
import { requireRoot } from '../helpers/root.js';
import { projectDir } from '../helpers/tmp.js';

const testDaemon = useTestDaemon();
const cli = embeddedCli(testDaemon, 300_000);

const CAPABILITY = '0100000200040000000000000000000000000000'; // cap_net_bind_service+ep
const BINARY = '00ff0a3d8020';
const LONG = `${'ü'.repeat(40)}-${'x'.repeat(60)}`;

function sh(command: string, options: { cwd?: string } = {}): string {
  const r = spawnSync('sh', ['-c', command], { encoding: 'utf8', maxBuffer: 1 << 28, ...options });
  assert.equal(r.status, 0, `${command}: ${r.stderr}`);
  return r.stdout;
}

function docker(args: string[]): string {
  const r = spawnSync(DOCKER, args, { encoding: 'utf8', maxBuffer: 1 << 28, env: { ...process.env, DOCKER_BUILDKIT: '1' } });
  assert.equal(r.status, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function scratch(t: TestContext, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A layer tar made by GNU tar (not by Flotilla's writer) from a directory `fill` prepares. */
function gnuLayer(t: TestContext, fill: (dir: string) => void): string {
  const dir = scratch(t, 'flt-layer-src-');
  fill(dir);
  const out = join(scratch(t, 'flt-layer-'), 'layer.tar');
  sh(`tar --xattrs --xattrs-include='*' --numeric-owner -C '${dir}' -cf '${out}' $(ls -A '${dir}')`);
  return out;
}

/** The second layer: what is hard to carry (see the file's comment); the busybox applet vi whited out. */
function hardLayer(dir: string): void {
  mkdirSync(join(dir, 'opt/t'), { recursive: true });
  writeFileSync(join(dir, 'opt/t/cap'), 'binds low ports\n');
  sh(`setfattr -n security.capability -v 0x${CAPABILITY} opt/t/cap && setfattr -n user.blob -v 0x${BINARY} opt/t/cap`, { cwd: dir });
  writeFileSync(join(dir, 'opt/t/suid'), 'suid\n');
  chownSync(join(dir, 'opt/t/suid'), 1234, 5678);
  chmodSync(join(dir, 'opt/t/suid'), 0o4755);
  linkSync(join(dir, 'opt/t/suid'), join(dir, 'opt/t/hard'));
  writeFileSync(join(dir, 'opt/t', LONG), 'long name\n');
  mkdirSync(join(dir, 'var/keep'), { recursive: true });
  writeFileSync(join(dir, 'var/keep/old'), 'old\n');
  mkdirSync(join(dir, 'bin'));
  writeFileSync(join(dir, 'bin/.wh.vi'), '');
}

/** The third layer: var/keep made opaque (its old file hidden), a new file in it. */
function opaqueLayer(dir: string): void {
  mkdirSync(join(dir, 'var/keep'), { recursive: true });
  writeFileSync(join(dir, 'var/keep/.wh..wh..opq'), '');
  writeFileSync(join(dir, 'var/keep/new'), 'new\n');
}

const CONFIG = { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'FOO=bar'], Cmd: ['sh', '-c', 'echo config-cmd'], WorkingDir: '/opt/t', Labels: { 'org.example.test': 'save-load' }, ExposedPorts: { '8080/tcp': {} }, User: '0' };

/** A `docker save`-shaped archive of busybox + the two layers, made with sha256sum and GNU tar. */
async function handMadeArchive(t: TestContext, tag: string): Promise<string> {
  const dir = scratch(t, 'flt-archive-');
  const layers = [await busyboxRootfsTar(), gnuLayer(t, hardLayer), gnuLayer(t, opaqueLayer)];
  const names: string[] = [];
  const diffIds: string[] = [];
  for (const [i, l] of layers.entries()) {
    const hex = sh(`sha256sum '${l}'`).split(' ')[0] ?? '';
    mkdirSync(join(dir, `l${i}`));
    sh(`cp '${l}' '${join(dir, `l${i}`, 'layer.tar')}'`);
    names.push(`l${i}/layer.tar`);
    diffIds.push(`sha256:${hex}`);
  }
  const config = JSON.stringify({ architecture: 'amd64', os: 'linux', created: '2024-05-01T00:00:00Z', config: CONFIG, rootfs: { type: 'layers', diff_ids: diffIds } });
  writeFileSync(join(dir, 'config.json'), config);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify([{ Config: 'config.json', RepoTags: [tag], Layers: names }]));
  const out = join(scratch(t, 'flt-archive-out-'), 'image.tar');
  sh(`tar -C '${dir}' -cf '${out}' .`);
  return out;
}

/** What a script prints in a one-off container of `image` on the embedded engine. */
function runHere(t: TestContext, image: string, script: string): string {
  const dir = projectDir(t, { 'compose.yaml': `services:\n  probe:\n    image: ${image}\n` }, `flt-saveload-${randomBytes(3).toString('hex')}`);
  return succeeded(cli(dir, ['run', '--rm', '-T', 'probe', 'sh', '-c', script]), `run in ${image}`);
}

function runThere(image: string, script: string): string {
  return docker(['run', '--rm', image, 'sh', '-c', script]);
}

/** Lines of files, as walkTree records them, that are not a container's own. */
function described(files: Map<string, FileRecord>): string[] {
  const skip = /^(dev|proc|sys)(\/|$)|^etc\/(hostname|hosts|resolv\.conf|mtab)$|^\.dockerenv$/;
  return [...files].filter(([p]) => !skip.test(p)).map(([p, r]) => `${p} ${r.type} ${r.mode.toString(8)} ${r.uid}:${r.gid} ${r.content ?? ''}`);
}

function assertSameFiles(ours: Map<string, FileRecord>, theirs: Map<string, FileRecord>): void {
  const a = described(ours);
  const b = described(theirs);
  assert.deepEqual({ onlyOurs: a.filter((l) => !b.includes(l)), onlyTheirs: b.filter((l) => !a.includes(l)) }, { onlyOurs: [], onlyTheirs: [] });
  assert.ok(a.length > 250, `the comparison covered the whole image (${a.length} paths)`);
}

/** The security.capability value of `path` in dockerd's image, read from `docker export`. */
function capabilityThere(image: string, path: string): string {
  const name = `flt-saveload-export-${randomBytes(4).toString('hex')}`;
  docker(['create', '--name', name, image, 'true']);
  const dir = mkdtempSync(join(tmpdir(), 'flt-export-'));
  try {
    sh(`'${DOCKER}' export '${name}' | tar --xattrs --xattrs-include='*' -x -C '${dir}' '${path}'`);
    return sh(`getfattr --only-values -n security.capability -e hex '${join(dir, path)}' | od -An -tx1 | tr -d ' \\n'`);
  } finally {
    spawnSync(DOCKER, ['rm', '-f', name]);
    rmSync(dir, { recursive: true, force: true });
  }
}

const PROBE = `id -u; pwd; echo "$FOO"; ls /bin/vi 2>&1 || true; ls /var/keep; stat -c '%a %u %g %h' /opt/t/suid /opt/t/hard; cat '/opt/t/${LONG}'`;
const EXPECTED = `0\n/opt/t\nbar\nls: /bin/vi: No such file or directory\nnew\n4755 1234 5678 2\n4755 1234 5678 2\nlong name\n`;

function ready(t: TestContext): boolean {
  return requireRoot(t, ['runc', 'conmon', 'setfattr', 'getfattr', 'tar', 'script']) && requireBuildkit(t) && testDaemon() !== undefined;
}

describe('image save and load with dockerd', () => {
  it('Flotilla → docker load: same id, config and files, the capability kept, and it runs there', async (t) => {
    if (!ready(t)) return;
    const daemon = testDaemon()!;
    const tag = `flt-saveload-${randomBytes(4).toString('hex')}:1`;
    const cwd = scratch(t, 'flt-saveload-cwd-');
    const loaded = succeeded(cli(cwd, ['image', 'load', '-i', await handMadeArchive(t, tag)]), 'image load');
    assert.equal(loaded, `Loaded image: ${tag}\n`);
    assert.equal(runHere(t, tag, PROBE), EXPECTED);
    const ours = (JSON.parse(succeeded(cli(cwd, ['image', 'inspect', tag]), 'inspect')) as { Id: string; Config: Record<string, unknown>; RootFS: { Layers: string[] } }[])[0]!;

    const archive = join(cwd, 'saved.tar');
    assert.equal(succeeded(cli(cwd, ['image', 'save', '-o', archive, tag]), 'image save'), '');
    assert.deepEqual(readdirSync(cwd), ['saved.tar'], 'no temporary left beside it');
    t.after(() => void spawnSync(DOCKER, ['image', 'rm', tag]));
    assert.match(docker(['load', '-i', archive]), new RegExp(`Loaded image: ${tag}\\n`));
    const theirs = (JSON.parse(docker(['image', 'inspect', tag])) as { Id: string; Config: Record<string, unknown>; RootFS: { Layers: string[] } }[])[0]!;
    // dockerd hashed every layer against the config's diff ids: equal ids, equal bytes.
    assert.equal(theirs.Id, ours.Id);
    assert.deepEqual(theirs.RootFS.Layers, ours.RootFS.Layers);
    for (const key of Object.keys(CONFIG)) assert.deepEqual(theirs.Config[key], (CONFIG as Record<string, unknown>)[key], `Config.${key}`);
    assert.equal(runThere(tag, PROBE), EXPECTED);
    assertSameFiles(withImageView(daemon.paths.images, ours.Id, (root) => walkTree(root)), buildkitFiles(tag));
    assert.equal(capabilityThere(tag, 'opt/t/cap'), CAPABILITY);
    // Saved again by dockerd, the second layer is the very tar GNU tar wrote (its user.* attribute included).
    const again = join(cwd, 'again.tar');
    docker(['save', '-o', again, tag]);
    const [, second] = (JSON.parse(sh(`tar -xOf '${again}' manifest.json`)) as { Layers: string[] }[])[0]!.Layers;
    assert.equal(`sha256:${sh(`tar -xOf '${again}' '${second}' | sha256sum`).split(' ')[0]}`, ours.RootFS.Layers[1]);
    assert.match(sh(`tar -xOf '${again}' '${second}' | tar --xattrs --xattrs-include='*' -tvvf - opt/t/cap`), /x: 6 user\.blob/);
  });

  it('docker save of an image dockerd made → Flotilla: same id, config and files, the capability in the snapshot, and it runs here', async (t) => {
    if (!ready(t)) return;
    const daemon = testDaemon()!;
    const suffix = randomBytes(4).toString('hex');
    const base = `flt-saveload-base-${suffix}:1`;
    const built = `flt-saveload-built-${suffix}:1`;
    const cwd = scratch(t, 'flt-saveload-cwd-');
    // The base: busybox with a capability, imported by dockerd from a GNU tar.
    const root = scratch(t, 'flt-saveload-root-');
    sh(`tar -x --numeric-owner -p -C '${root}' -f '${await busyboxRootfsTar()}'`);
    mkdirSync(join(root, 'opt'), { recursive: true });
    writeFileSync(join(root, 'opt/cap'), 'cap\n');
    sh(`setfattr -n security.capability -v 0x${CAPABILITY} opt/cap`, { cwd: root });
    t.after(() => void spawnSync(DOCKER, ['image', 'rm', built, base]));
    sh(`tar --xattrs --xattrs-include='*' --numeric-owner -C '${root}' -c . | '${DOCKER}' import --change 'CMD ["sh"]' - ${base}`);
    // Two BuildKit steps: files deleted (whiteouts), a directory replaced, setuid, a hard link.
    const context = projectDir(t, {
      Dockerfile: [
        `FROM ${base}`,
        'RUN rm /bin/vi && mkdir -p /var/keep && echo old > /var/keep/old',
        `RUN rm -rf /var/keep && mkdir /var/keep && echo new > /var/keep/new && mkdir -p /opt/t && echo suid > /opt/t/suid && chown 1234:5678 /opt/t/suid && chmod 4755 /opt/t/suid && ln /opt/t/suid /opt/t/hard && echo 'long name' > '/opt/t/${LONG}'`,
        'ENV FOO=bar',
        'WORKDIR /opt/t',
        'LABEL org.example.test=save-load',
        'EXPOSE 8080',
        'USER 0',
        'CMD ["sh", "-c", "echo config-cmd"]',
        '',
      ].join('\n'),
    });
    docker(['build', '--progress=plain', '-t', built, context]);
    const theirs = (JSON.parse(docker(['image', 'inspect', built])) as { Id: string; Config: Record<string, unknown>; RootFS: { Layers: string[] } }[])[0]!;
    assert.ok(theirs.RootFS.Layers.length >= 3, `${theirs.RootFS.Layers.length} layers`);

    const archive = join(cwd, 'from-docker.tar');
    docker(['save', '-o', archive, built]);
    const loaded = succeeded(cli(cwd, ['image', 'load', '-i', archive]), 'image load');
    assert.equal(loaded, `Loaded image: ${built}\n`);
    const ours = (JSON.parse(succeeded(cli(cwd, ['image', 'inspect', built]), 'inspect')) as { Id: string; Config: Record<string, unknown>; RootFS: { Layers: string[] } }[])[0]!;
    assert.equal(ours.Id, theirs.Id);
    assert.deepEqual(ours.RootFS.Layers, theirs.RootFS.Layers);
    for (const key of ['Env', 'Cmd', 'WorkingDir', 'Labels', 'ExposedPorts', 'User']) assert.deepEqual(ours.Config[key], theirs.Config[key], `Config.${key}`);
    assert.equal(runHere(t, built, PROBE), EXPECTED);
    assert.equal(runThere(built, PROBE), EXPECTED);
    withImageView(daemon.paths.images, ours.Id, (view) => {
      assertSameFiles(walkTree(view), buildkitFiles(built));
      assert.equal(sh(`getfattr --only-values -n security.capability '${join(view, 'opt/cap')}' | od -An -tx1 | tr -d ' \\n'`), CAPABILITY);
    });
  });

  it('image save: an unknown image or an unwritable place is one error and leaves no file; a damaged layer fails the save and leaves no file; never to a terminal', async (t) => {
    if (!requireRoot(t, ['runc', 'conmon', 'script']) || testDaemon() === undefined) return;
    const daemon = testDaemon()!;
    const cwd = scratch(t, 'flt-saveload-cwd-');
    assertCleanError(cli(cwd, ['image', 'save', '-o', 'out.tar', 'busybox:latest', 'no-such-image:1']), /^ERROR: no such image: no-such-image:1\n$/);
    assertCleanError(cli(cwd, ['image', 'save', '-o', 'missing/dir/out.tar', 'busybox:latest']), /^ERROR: \/.*\/missing\/dir\/out\.tar: no such file or directory\n$/);
    assert.deepEqual(readdirSync(cwd), []);

    // A name alone saves every tag of its repository; an id saves the image without a name.
    const id = (JSON.parse(succeeded(cli(cwd, ['image', 'inspect', 'busybox:latest']), 'inspect')) as { Id: string }[])[0]!.Id;
    succeeded(cli(cwd, ['image', 'tag', 'busybox:latest', 'flt-saveload-multi:a']), 'tag');
    succeeded(cli(cwd, ['image', 'tag', 'busybox:latest', 'flt-saveload-multi:b']), 'tag');
    succeeded(cli(cwd, ['image', 'save', '-o', 'multi.tar', 'flt-saveload-multi', id.slice(7, 19)]), 'save');
    const multi = JSON.parse(sh(`tar -xOf '${join(cwd, 'multi.tar')}' manifest.json`)) as { Config: string; RepoTags: string[]; Layers: string[] }[];
    assert.deepEqual(
      multi.map((m) => [m.Config, m.RepoTags, m.Layers.length]),
      [[`blobs/sha256/${id.slice(7)}`, ['flt-saveload-multi:a', 'flt-saveload-multi:b'], 1]],
    );

    // To standard output, but not to a terminal.
    const piped = spawnSync('sh', ['-c', `'${FLOTILLA}' image save busybox:latest | tar -t`], { cwd, encoding: 'utf8', env: { ...daemon.env, FLOTILLA_ENGINE: 'embedded' } });
    assert.equal(piped.status, 0, piped.stderr);
    assert.match(piped.stdout, /^manifest\.json$/m);
    const tty = spawnSync('script', ['-qec', `'${FLOTILLA}' image save busybox:latest`, '/dev/null'], { cwd, encoding: 'utf8', env: { ...daemon.env, FLOTILLA_ENGINE: 'embedded' } });
    assert.match(tty.stdout, /ERROR: cowardly refusing to save to a terminal: use the -o flag or redirect/);

    // A layer whose stored blob was damaged after it was verified: the save fails naming it.
    const rootfs = scratch(t, 'flt-saveload-damaged-');
    mkdirSync(join(rootfs, 'fs'));
    writeFileSync(join(rootfs, 'fs', 'data'), randomBytes(4096));
    sh(`tar -C '${join(rootfs, 'fs')}' -cf '${join(rootfs, 'rootfs.tar')}' data`);
    const imported = succeeded(cli(cwd, ['image', 'import', join(rootfs, 'rootfs.tar'), 'flt-saveload-damaged:1']), 'import').trim();
    const record = JSON.parse(sh(`cat '${join(daemon.paths.images, 'index.json')}'`)) as { images: Record<string, { layers: { digest: string }[] }> };
    const blob = join(daemon.paths.images, 'blobs', 'sha256', record.images[imported]!.layers[0]!.digest.slice(7));
    const fd = openSync(blob, 'r+');
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, 1000);
    writeSync(fd, Buffer.from([(byte[0] ?? 0) ^ 0xff]), 0, 1, 1000);
    closeSync(fd);
    const damaged = cli(cwd, ['image', 'save', '-o', 'damaged.tar', 'flt-saveload-damaged:1']);
    assertCleanError(damaged, /^ERROR: layer 1 of flt-saveload-damaged:1: the stored blob sha256:[0-9a-f]{64} no longer holds layer sha256:[0-9a-f]{64}; the store is damaged/);
    assert.equal(existsSync(join(cwd, 'damaged.tar')), false);
    assert.deepEqual(readdirSync(cwd).sort(), ['multi.tar']);
  });
});
