/**
 * The daemon's socket: mode 0660 and root's (when serving as root), no TCP port, a stale socket
 * file replaced, and anything else at its path (another daemon, a plain file) left alone with a
 * clear refusal.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { serveDaemon } from '../../../src/daemon/server.js';
import { EmbeddedEngine } from '../../../src/engine/embedded/client.js';
import { MemoryBackend } from './memory-backend.js';

describe('embedded engine RPC: the daemon socket', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'flotilla-sock-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is mode 0660, root-owned when the daemon is root, and removed on close', async () => {
    const socket = join(dir, 'run', 'engine.sock');
    const server = await serveDaemon(new MemoryBackend(), socket, { log: () => {} });
    const engine = new EmbeddedEngine(socket);
    try {
      const stat = lstatSync(socket);
      assert.ok(stat.isSocket());
      assert.equal(stat.mode & 0o777, 0o660);
      if (process.getuid?.() === 0) assert.deepEqual([stat.uid, stat.gid], [0, 0]);
      assert.equal(typeof (await engine.version()).version, 'string');
    } finally {
      engine.close();
      await server.close(0);
    }
    assert.throws(() => lstatSync(socket), /ENOENT/);
  });

  it('listens on no TCP port', async () => {
    const socket = join(dir, 'tcp', 'engine.sock');
    const server = await serveDaemon(new MemoryBackend(), socket, { log: () => {} });
    try {
      const ours = new Set(
        readdirSync('/proc/self/fd').map((fd) => {
          try {
            return /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`))?.[1];
          } catch {
            return undefined;
          }
        }),
      );
      for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
        const listening = readFileSync(table, 'utf8')
          .split('\n')
          .slice(1)
          .map((row) => row.trim().split(/\s+/))
          // st (the 4th column) 0A is LISTEN; the inode is the 10th.
          .filter((cols) => cols[3] === '0A' && ours.has(cols[9]));
        assert.deepEqual(listening, [], `no listening socket of this process in ${table}`);
      }
    } finally {
      await server.close(0);
    }
  });

  it('replaces a socket file nothing answers on', async () => {
    const socket = join(dir, 'stale.sock');
    // A process that listens and exits without closing leaves its socket file behind.
    const left = spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(socket)}, () => process.exit(0))`]);
    assert.equal(left.status, 0);
    assert.ok(lstatSync(socket).isSocket(), 'a stale socket file');
    const server = await serveDaemon(new MemoryBackend(), socket, { log: () => {} });
    const engine = new EmbeddedEngine(socket);
    try {
      assert.equal(typeof (await engine.version()).version, 'string');
    } finally {
      engine.close();
      await server.close(0);
    }
  });

  it('refuses a socket another process answers on, and a path that is not a socket', async () => {
    const socket = join(dir, 'taken.sock');
    const other: Server = createServer((c) => c.destroy());
    await new Promise<void>((resolve) => other.listen(socket, resolve));
    try {
      await assert.rejects(serveDaemon(new MemoryBackend(), socket, { log: () => {} }), {
        message: `cannot serve on ${socket}: another daemon answers on it`,
      });
      assert.ok(lstatSync(socket).isSocket(), 'left in place');
    } finally {
      await new Promise((resolve) => other.close(resolve));
    }
    const plain = join(dir, 'plain');
    writeFileSync(plain, 'data');
    await assert.rejects(serveDaemon(new MemoryBackend(), plain, { log: () => {} }), {
      message: `cannot serve on ${plain}: it exists and is not a socket`,
    });
    assert.ok(lstatSync(plain).isFile(), 'left in place');
  });
});
