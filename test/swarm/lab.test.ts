/**
 * scripts/swarm-lab leaves nothing behind: after `down` (also of a lab whose node crashed and was
 * started again, and of a lab whose owner died, by `gc`), no process, cgroup, mount or file of it
 * remains. Only the lab's own traces are looked for: other work on the machine may change the rest.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { LAB_SCRIPT, requireLab, startLab, type SwarmLab } from '../helpers/swarm-lab.js';

function labProcesses(dir: string): number[] {
  const found: number[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/environ`, 'latin1').includes(`FLOTILLA_LAB_PART=${dir}`)) found.push(Number(pid));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

function labCgroups(dir: string): string[] {
  const id = dir.split('/').pop()?.replace(/[^A-Za-z0-9_-]/g, '-') ?? '';
  const out: string[] = [];
  for (const h of readdirSync('/sys/fs/cgroup')) {
    const base = `/sys/fs/cgroup/${h}`;
    try {
      for (const d of readdirSync(base)) if (d.startsWith(`${id}-n`)) out.push(`${base}/${d}`);
    } catch {
      // not a directory
    }
  }
  return out;
}

function traces(dir: string): string[] {
  return [
    ...labProcesses(dir).map((p) => `process ${p}`),
    ...labCgroups(dir),
    ...readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(dir)),
    ...(existsSync(dir) ? [dir] : []),
  ];
}

test('a lab is a working swarm; down leaves no trace, even after a node crashed and came back; gc removes only orphaned labs', { timeout: 400_000 }, (t) => {
  if (!requireLab(t)) return;
  let lab: SwarmLab | undefined;
  let orphan: SwarmLab | undefined;
  try {
    lab = startLab(2);
    orphan = startLab(1);
    assert.ok(labProcesses(lab.dir).length > 0, 'the lab runs');
    const nodes = lab.docker(['node', 'ls', '--format', '{{.Hostname}} {{.Status}}']);
    assert.equal(nodes.stdout.trim().split('\n').sort().join(','), 'node1 Ready,node2 Ready');
    assert.equal(lab.script(['kill', '2']).status, 0);
    assert.equal(lab.script(['start', '2']).status, 0);
    assert.equal(lab.docker(['version'], { node: 2 }).status, 0);

    // An owner that is no process at all: gc removes that lab, and leaves the one whose owner lives.
    writeFileSync(`${orphan.dir}/owner`, '999999999 1\n');
    const gc = spawnSync(LAB_SCRIPT, ['gc'], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(gc.status, 0, gc.stderr);
    assert.match(gc.stderr, new RegExp(`removing ${orphan.dir} \\(its owner has gone\\)`));
    assert.deepEqual(traces(orphan.dir), []);
    assert.equal(lab.docker(['version']).status, 0, 'a lab whose owner lives is left alone');

    lab.down();
    assert.deepEqual(traces(lab.dir), []);
  } finally {
    lab?.down();
    orphan?.down();
  }
});
