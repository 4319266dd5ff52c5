/**
 * Host commands are found in PATH once per name (commandPath), and run() spawns them by that
 * path; a name not found is not remembered, so a tool installed after the daemon started is found.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commandPath, run, CommandError } from '../../../src/daemon/command.js';

test('commandPath: the full path of a tool in PATH; null for one that is not there, found once installed', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'flt-command-'));
  const saved = process.env['PATH'];
  t.after(() => {
    process.env['PATH'] = saved;
    rmSync(dir, { recursive: true, force: true });
  });
  process.env['PATH'] = `${dir}:${saved ?? '/usr/bin:/bin'}`;
  const name = `flt-tool-${process.pid}`;
  assert.equal(commandPath(name), null);
  await assert.rejects(run([name]), (e: unknown) => e instanceof CommandError && e.message.endsWith(`${name} is not installed (not found in PATH)`));
  writeFileSync(join(dir, name), '#!/bin/sh\necho "ran $1"\n');
  chmodSync(join(dir, name), 0o755);
  assert.equal(commandPath(name), join(dir, name));
  assert.equal((await run([name, 'once'])).stdout, 'ran once\n');
  assert.match(commandPath('sh') ?? '', /^\/.*\/sh$/);
  assert.equal(commandPath('./relative/tool'), './relative/tool');
});
