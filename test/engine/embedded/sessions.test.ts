/**
 * Exec and attach sessions over one bidirectional call: stdin and its end, resizes answered (and
 * refused) in order, output on both streams or merged by a TTY, the exit code, detached execs,
 * and closing a session (the daemon closes its side).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ExecSpec, StreamSession } from '../../../src/contract/engine.js';
import { EngineError } from '../../../src/contract/errors.js';
import { sparseSpec } from './fixtures.js';
import { eventually, sharedRig } from './harness.js';

const base: ExecSpec = { command: [], env: [], privileged: false, tty: false, attachStdin: false, detach: false };

async function finish(session: StreamSession): Promise<{ stdout: string; stderr: string; code: number }> {
  let stdout = '';
  let stderr = '';
  for await (const chunk of session.output) {
    if (chunk.stream === 'stdout') stdout += chunk.data.toString();
    else stderr += chunk.data.toString();
  }
  return { stdout, stderr, code: await session.exitCode() };
}

describe('embedded engine RPC: exec and attach', () => {
  const rig = sharedRig();

  async function running(name: string): Promise<string> {
    const { engine } = rig();
    const id = await engine.createContainer({ ...sparseSpec(name), command: ['sleep'] });
    await engine.startContainer(id);
    return id;
  }

  it('exec: both streams and the exit code; no input without attachStdin', async () => {
    const { engine, backend } = rig();
    const id = await running('exec-plain');
    const session = await engine.exec(id, { ...base, command: ['print', 'hello'] });
    assert.equal(session.input, null);
    assert.deepEqual(await finish(session), { stdout: 'hello\n', stderr: 'err\n', code: 0 });
    await eventually('the daemon to close its session', () => backend.open.sessions === 0);
  });

  it('exec: stdin in pieces, its end, and the exit code the end causes', async () => {
    const { engine, backend } = rig();
    const id = await running('exec-stdin');
    const session = await engine.exec(id, { ...base, command: ['upper', '2'], attachStdin: true });
    assert.ok(session.input);
    const output = finish(session);
    session.input.write('shout ');
    session.input.write(Buffer.from('louder\n'));
    session.input.end('and stop\n');
    assert.deepEqual(await output, { stdout: 'SHOUT LOUDER\nAND STOP\n', stderr: '', code: 2 });
    await eventually('the daemon to close its session', () => backend.open.sessions === 0);
  });

  it('exec: a megabyte of input and of output through one session', async () => {
    const { engine } = rig();
    const id = await running('exec-big');
    const session = await engine.exec(id, { ...base, command: ['echo-stdin', '0'], attachStdin: true });
    const input = Buffer.alloc(1 << 20, 'abcdefgh');
    const output = finish(session);
    session.input!.end(input);
    const result = await output;
    assert.equal(result.stdout, input.toString());
    assert.equal(result.code, 0);
  });

  it('exec with a TTY: resizes reach the process in order, one stream, and a refused resize says why', async () => {
    const { engine, backend } = rig();
    const id = await running('exec-tty');
    const session = await engine.exec(id, { ...base, command: ['report-size'], tty: true, attachStdin: true });
    await assert.rejects(session.resize(0, 80), (e: unknown) => e instanceof EngineError && e.kind === 'invalid' && e.message === 'bad terminal size 0x80');
    await session.resize(40, 100);
    assert.deepEqual(await finish(session), { stdout: '40 100\n', stderr: '', code: 0 });
    await assert.rejects(session.resize(50, 120), (e: unknown) => e instanceof EngineError && e.kind === 'conflict', 'no resizing an ended session');

    const merged = await engine.exec(id, { ...base, command: ['print', 'tty'], tty: true });
    assert.deepEqual(await finish(merged), { stdout: 'tty\nerr\n', stderr: '', code: 0 });
    await eventually('the daemon to close its sessions', () => backend.open.sessions === 0);
  });

  it('exec detached: no output, no input, the exit code later', async () => {
    const { engine } = rig();
    const id = await running('exec-detached');
    const session = await engine.exec(id, { ...base, command: ['exit', '4'], detach: true, attachStdin: true });
    assert.equal(session.input, null);
    assert.equal(await session.exitCode(), 4);
    assert.deepEqual(await finish(session), { stdout: '', stderr: '', code: 4 });
  });

  it('the exit code without reading the output first; output read afterwards is all there', async () => {
    const { engine } = rig();
    const id = await running('exec-unread');
    const session = await engine.exec(id, { ...base, command: ['print', 'kept'] });
    assert.equal(await session.exitCode(), 0);
    assert.deepEqual(await finish(session), { stdout: 'kept\n', stderr: 'err\n', code: 0 });
  });

  it('closing a session mid-way: the output ends quietly and the daemon closes its side', async () => {
    const { engine, backend } = rig();
    const id = await running('exec-close');
    const session = await engine.exec(id, { ...base, command: ['echo-stdin'], attachStdin: true });
    session.input!.write('partial\n');
    const iterator = session.output[Symbol.asyncIterator]();
    assert.equal((await iterator.next()).value?.data.toString(), 'partial\n');
    await eventually('the session to be open on the daemon', () => backend.open.sessions === 1);
    session.close();
    assert.equal((await iterator.next()).done, true);
    await eventually('the daemon to close its session', () => backend.open.sessions === 0);
    session.close();
  });

  it('attach before start: output from the start, input, and the exit code', async () => {
    const { engine, backend } = rig();
    const id = await engine.createContainer({ ...sparseSpec('attach'), openStdin: true, command: ['upper', '3'] });
    const session = await engine.attachContainer(id, { stdin: true, tty: false });
    assert.deepEqual(backend.received.get('attachContainer'), [id, { stdin: true, tty: false }]);
    await engine.startContainer(id);
    const output = finish(session);
    session.input!.end('quiet\n');
    assert.deepEqual(await output, { stdout: 'QUIET\n', stderr: '', code: 3 });
    assert.equal((await engine.inspectContainer(id))?.state.status, 'exited');

    const tty = await engine.createContainer({ ...sparseSpec('attach-tty'), tty: true, command: ['print', 'tty'] });
    const ttySession = await engine.attachContainer(tty, { stdin: false, tty: true });
    assert.equal(ttySession.input, null);
    await engine.startContainer(tty);
    assert.deepEqual(await finish(ttySession), { stdout: 'tty\nerr\n', stderr: '', code: 0 });
    await eventually('the daemon to close its sessions', () => backend.open.sessions === 0);
  });
});
