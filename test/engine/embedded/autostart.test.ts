/**
 * Opening the embedded engine when no daemon answers: as root, `flotilla daemon` is started (here
 * a stand-in script named by FLOTILLA_DAEMON_ENTRY, under a FLOTILLA_ROOT of its own) and waited
 * for; a daemon that dies or stays silent is reported on one line with its log's last lines; a
 * user who is not root is told so.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { daemonPaths } from '../../../src/daemon/paths.js';
import { DAEMON_ENTRY_VARIABLE, openEmbeddedEngine } from '../../../src/engine/embedded/index.js';
import { EngineError } from '../../../src/contract/errors.js';

const dirs: string[] = [];
const daemons: number[] = [];

after(() => {
  for (const pid of daemons) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A fresh state root, and an environment naming it and the stand-in daemon `source`. */
function setup(source: string): { env: Record<string, string>; root: string } {
  const root = mkdtempSync(join(tmpdir(), 'flotilla-auto-'));
  dirs.push(root);
  const entry = join(root, 'stand-in-daemon.mjs');
  writeFileSync(entry, source);
  return { root, env: { FLOTILLA_ROOT: root, [DAEMON_ENTRY_VARIABLE]: entry } };
}

async function refusal(p: Promise<unknown>): Promise<EngineError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof EngineError, `an EngineError, not ${String(e)}`);
    assert.equal(e.kind, 'unreachable');
    assert.ok(!e.message.includes('\n'), `one line: ${e.message}`);
    return e;
  }
  assert.fail('expected a failure');
}

const moduleUrl = (path: string) => JSON.stringify(new URL(path, import.meta.url).href);

/** Serves the in-memory backend on the daemon socket of FLOTILLA_ROOT, writing its pid file. */
const SERVING = `
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { daemonPaths } from ${moduleUrl('../../../src/daemon/paths.js')};
import { serveDaemon } from ${moduleUrl('../../../src/daemon/server.js')};
import { MemoryBackend } from ${moduleUrl('./memory-backend.js')};
const paths = daemonPaths(process.env);
mkdirSync(dirname(paths.pidFile), { recursive: true });
writeFileSync(paths.pidFile, process.pid + '\\n');
console.log('stand-in daemon ' + process.argv[2] + ' serving ' + paths.socket);
await serveDaemon(new MemoryBackend(), paths.socket);
`;

/** As `flotilla daemon` does: the pid-file lock first; a second daemon exits 0 without serving. */
const LOCKING = `
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { acquirePidLock } from ${moduleUrl('../../../src/daemon/lock.js')};
import { daemonPaths } from ${moduleUrl('../../../src/daemon/paths.js')};
import { serveDaemon } from ${moduleUrl('../../../src/daemon/server.js')};
import { MemoryBackend } from ${moduleUrl('./memory-backend.js')};
const paths = daemonPaths(process.env);
mkdirSync(dirname(paths.pidFile), { recursive: true });
const lock = await acquirePidLock(paths.pidFile);
if (!lock.acquired) {
  console.log('another daemon holds the lock');
  process.exit(0);
}
await sleep(300);
console.log('serving');
await serveDaemon(new MemoryBackend(), paths.socket);
`;

describe('embedded engine: autostart', () => {
  it('not root, and no daemon: says that root is needed, naming the socket', async () => {
    const { env, root } = setup('process.exit(3)');
    const e = await refusal(openEmbeddedEngine({ env, uid: 1000 }));
    assert.equal(
      e.message,
      `the embedded engine needs root; run with sudo or use --engine docker (no Flotilla daemon answers at ${daemonPaths(env).socket}, and only root can start one)`,
    );
    assert.ok(!existsSync(join(root, 'daemon.log')), 'nothing was started');
  });

  it('a daemon that exits at once: its status and the last lines of its own log, on one line', async () => {
    const { env, root } = setup(`
      console.log('flotilla daemon starting');
      console.error('flotilla daemon: cannot mount cgroup2 on /sys/fs/cgroup: permission denied');
      process.exit(1);
    `);
    writeFileSync(join(root, 'daemon.log'), 'an earlier daemon said this\n');
    const log = join(root, 'daemon.log');
    const e = await refusal(openEmbeddedEngine({ env, uid: 0 }));
    assert.equal(
      e.message,
      `the Flotilla daemon did not start (flotilla daemon exited with status 1); see its log, ${log}, which ends: ` +
        'flotilla daemon starting | flotilla daemon: cannot mount cgroup2 on /sys/fs/cgroup: permission denied',
    );
  });

  it('a daemon that crashes: the error, not the stack frames or the node version', async () => {
    const { env } = setup(`throw new Error('no runc in PATH');`);
    const e = await refusal(openEmbeddedEngine({ env, uid: 0 }));
    assert.match(e.message, /^the Flotilla daemon did not start \(flotilla daemon exited with status 1\); see its log, .*daemon\.log, which ends: .*Error: no runc in PATH$/);
  });

  it('a daemon that never answers: a bounded wait, naming the socket', async () => {
    // Exits 0, as a daemon that found another one holding the lock does; but nothing serves.
    const { env } = setup('process.exit(0)');
    const started = Date.now();
    const e = await refusal(openEmbeddedEngine({ env, uid: 0, startTimeoutMs: 300 }));
    assert.ok(Date.now() - started < 3000, 'gave up in time');
    assert.match(e.message, new RegExp(`^the Flotilla daemon did not start \\(no answer on ${daemonPaths(env).socket} after 0\\.3 s\\)`));
  });

  it('no daemon: starts one, in FLOTILLA_ROOT, and uses it; a second open uses the same one', async () => {
    const { env, root } = setup(SERVING);
    const paths = daemonPaths(env);
    const engine = await openEmbeddedEngine({ env, uid: 0 });
    const pid = Number(readFileSync(paths.pidFile, 'utf8'));
    daemons.push(pid);
    try {
      assert.equal(paths.socket, join(root, 'run', 'engine.sock'));
      assert.equal((await engine.version()).version, '0.1.0-memory');
      const again = await openEmbeddedEngine({ env, uid: 0 });
      try {
        assert.equal((await again.version()).version, '0.1.0-memory');
      } finally {
        again.close();
      }
      const log = readFileSync(paths.log, 'utf8');
      assert.equal(log, `stand-in daemon daemon serving ${paths.socket}\n`, 'started once, as `daemon`, its output in the log');
    } finally {
      engine.close();
    }
  });

  it('two CLIs starting a daemon at once: one daemon serves, the other exits, both CLIs use it', async () => {
    const { env } = setup(LOCKING);
    const paths = daemonPaths(env);
    const engines = await Promise.all([openEmbeddedEngine({ env, uid: 0 }), openEmbeddedEngine({ env, uid: 0 })]);
    daemons.push(Number(readFileSync(paths.pidFile, 'utf8')));
    try {
      for (const engine of engines) assert.equal((await engine.version()).version, '0.1.0-memory');
      const lines = readFileSync(paths.log, 'utf8').trimEnd().split('\n').sort();
      assert.deepEqual(lines, ['another daemon holds the lock', 'serving']);
    } finally {
      for (const engine of engines) engine.close();
    }
  });
});
