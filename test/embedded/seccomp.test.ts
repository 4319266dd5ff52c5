/**
 * The default seccomp profile in a real container (issue 15, item 8): an allow-list as Docker's,
 * so calls outside it fail (io_uring_setup succeeded under the old deny-list), the calls Docker
 * allows work (ptrace on kernels >= 4.8 among them), and /sys/fs/cgroup is read-only. A static
 * probe built here with the machine's gcc makes the calls; the same probe under
 * `seccomp=unconfined` shows the kernel itself would have let the refused ones through.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import type { ContainerSpec, Engine, LogChunk } from '../../src/contract/engine.js';
import { removeAnyDepth } from '../helpers/deep-tree.js';
import { useTestDaemon } from '../helpers/embedded-daemon.js';
import { requireRoot } from '../helpers/root.js';
import { containerSpec } from '../engine/contract.js';

const testDaemon = useTestDaemon();
const SOURCE = new URL('../../../test/embedded/fixtures/syscall-probe.c', import.meta.url).pathname;
const EPERM = 1;
const ENOSYS = 38;

function buildProbe(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'flt-probe-'));
  t.after(() => removeAnyDepth(dir));
  const out = join(dir, 'probe');
  const r = spawnSync('gcc', ['-static', '-O1', '-o', out, SOURCE], { encoding: 'utf8' });
  assert.equal(r.status, 0, `gcc: ${r.error?.message ?? r.stderr}`);
  return out;
}

async function runToEnd(engine: Engine, t: TestContext, spec: ContainerSpec): Promise<string> {
  const id = await engine.createContainer(spec);
  t.after(() => engine.removeContainer(id, { force: true, volumes: true }).catch(() => undefined));
  await engine.startContainer(id);
  assert.equal(await engine.waitContainer(id), 0, `${spec.name} exited non-zero`);
  let out = '';
  for await (const chunk of engine.containerLogs(id, { follow: false, timestamps: false }) as AsyncIterable<LogChunk>) out += chunk.data.toString();
  return out;
}

/** The probe's lines as call -> errno (0: it worked). */
async function probe(engine: Engine, t: TestContext, binary: string, name: string, securityOpt: string[]): Promise<Map<string, number>> {
  const out = await runToEnd(engine, t, containerSpec(name, { command: ['/probe'], securityOpt, mounts: [{ type: 'bind', source: binary, target: '/probe', readOnly: true }] }));
  return new Map(out.trim().split('\n').map((l) => [l.split(' ')[0]!, Number(l.split(' ')[1])]));
}

describe('seccomp and /sys/fs/cgroup in a container', () => {
  it('refuses what Docker refuses, allows what it allows', async (t) => {
    const d = testDaemon();
    if (!requireRoot(t) || !d) return;
    const binary = buildProbe(t);
    const confined = await probe(d.engine, t, binary, `flt-seccomp-default-${process.pid}`, []);
    const free = await probe(d.engine, t, binary, `flt-seccomp-unconfined-${process.pid}`, ['seccomp=unconfined']);

    const refused = ['io_uring_setup', 'keyctl', 'add_key', 'userfaultfd', 'socket_vsock', 'socket_alg', 'personality_bad', 'mount', 'bpf', 'perf_event_open', 'unshare_net', 'unshare_user'];
    for (const call of refused) assert.equal(confined.get(call), EPERM, `${call} under the default profile`);
    assert.equal(confined.get('clone3'), ENOSYS, 'clone3 gets ENOSYS so that libc falls back to clone');
    for (const call of ['socket_inet', 'socket_unix', 'personality_query', 'getrandom', 'io_setup', 'chroot', 'memfd_create', 'ptrace_traceme', 'fork']) {
      assert.equal(confined.get(call), 0, `${call} under the default profile`);
    }
    // The kernel itself lets these through: the profile is what refuses them.
    for (const call of ['io_uring_setup', 'keyctl', 'add_key', 'personality_bad']) assert.equal(free.get(call), 0, `${call} unconfined`);
    assert.notEqual(free.get('socket_alg'), EPERM, 'socket(AF_ALG) unconfined');
  });

  it('mounts every cgroup hierarchy under /sys/fs/cgroup read-only', async (t) => {
    const d = testDaemon();
    if (!requireRoot(t) || !d) return;
    // Each mount at or under /sys/fs/cgroup: its point, its options, its filesystem type.
    const script = [
      `awk '$5 ~ "^/sys/fs/cgroup" { for (i = 7; i <= NF; i++) if ($i == "-") { print "mount", $5, $6, $(i + 1); break } }' /proc/self/mountinfo`,
      'for dir in /sys/fs/cgroup /sys/fs/cgroup/*/; do mkdir "$dir/flt-probe" 2>/dev/null && echo "made $dir"; done',
      'true',
    ].join('; ');
    const out = await runToEnd(d.engine, t, containerSpec(`flt-cgroupfs-${process.pid}`, { command: ['sh', '-c', script] }));
    const mounts = out.split('\n').filter((l) => l.startsWith('mount ')).map((l) => l.split(' '));
    const hierarchies = mounts.filter(([, , , type]) => type === 'cgroup' || type === 'cgroup2');
    assert.ok(hierarchies.length > 0, `no cgroup filesystem under /sys/fs/cgroup: ${out}`);
    for (const [, point, options] of hierarchies) assert.ok(options!.split(',').includes('ro'), `${point} is mounted ${options}`);
    // On cgroup v1, runc (1.1, as under Docker) leaves the tmpfs holding the hierarchies writable;
    // no hierarchy is.
    const made = out.split('\n').filter((l) => l.startsWith('made ')).map((l) => l.slice(5).replace(/\/$/, ''));
    const hierarchyPoints = new Set(hierarchies.map(([, point]) => point));
    assert.deepEqual(made.filter((dir) => hierarchyPoints.has(dir)), []);
  });
});
