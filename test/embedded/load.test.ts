/**
 * The embedded engine under an artificial CPU load (two busy loops per CPU, started and killed by
 * this test): `up -d` of 200 services, then `down`, must leave nothing, and `down` must say "done"
 * only for what it removed (issue 15, item 3: on a loaded machine `down` once left containers
 * behind while reporting them removed, or failed with "did not exit after SIGKILL").
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { flotilla, type CliResult } from '../helpers/cli.js';
import { startCpuHog } from '../helpers/cpu-hog.js';
import { useTestDaemon } from '../helpers/embedded-daemon.js';
import { requireRoot } from '../helpers/root.js';
import { projectDir } from '../helpers/tmp.js';

const testDaemon = useTestDaemon();
const SERVICES = 200;

/**
 * Half the services exit on SIGTERM at once (their exits are then recorded while `down` waits),
 * half ignore it (as `sleep` does as PID 1) and are killed after the 1 s grace period.
 */
function compose(): string {
  let y = 'services:\n';
  for (let i = 0; i < SERVICES; i++) {
    const command = i % 2 === 0 ? '["sleep", "3600"]' : '["sh", "-c", "trap \\"exit 0\\" TERM; while :; do sleep 1; done"]';
    y += `  s${String(i).padStart(3, '0')}:\n    image: busybox:latest\n    command: ${command}\n`;
  }
  return y;
}

describe('embedded engine under CPU load', () => {
  it(`up -d and down of ${SERVICES} services leave nothing behind`, { timeout: 60 * 60_000 }, async (t) => {
    const d = testDaemon();
    if (!requireRoot(t) || !d) return;
    const project = `fltload${process.pid}`;
    const dir = projectDir(t, { 'compose.yaml': compose() }, project);
    const env = { ...d.env, FLOTILLA_ENGINE: 'embedded' };
    // Generous: at a load of 30 from other work on 2 cores, up took 6 minutes and down 16; on a
    // machine with only this test's load, a few minutes in all.
    const cli = (args: string[]): CliResult => flotilla(args, { cwd: dir, env, timeoutMs: 25 * 60_000 });
    const said = (r: CliResult): string => (r.status === null ? 'timed out after 25 minutes' : `exit ${r.status}`);
    const label = { 'com.docker.compose.project': project };
    const stopHog = startCpuHog(t);

    const up = cli(['up', '-d']);
    assert.equal(up.status, 0, `up -d (${said(up)}): ${up.stderr.slice(-2000)}`);
    assert.equal((await d.engine.listContainers({ labels: label, all: false })).length, SERVICES);

    const down = cli(['down', '-t', '1']);
    stopHog();
    const left = await d.engine.listContainers({ labels: label, all: true });
    assert.deepEqual(left.map((c) => `${c.name} ${c.state}`), [], `down (${said(down)}) said: ${down.stderr.slice(-2000)}`);
    assert.equal(down.status, 0, down.stderr.slice(-2000));
    assert.deepEqual(await d.engine.listNetworks(label), []);
    assert.deepEqual(readdirSync(d.paths.containers), []);
  });
});
