/**
 * src/engine/docker/stream-get.ts against Node's own HTTP server on a unix socket: the chunked
 * coding undone whatever the chunk sizes and however the reads split them, plain bodies, error
 * statuses as the engine's errors, aborts, and an engine that is not there.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { EngineError } from '../../src/contract/errors.js';
import { ChunkedDecoder, streamGet } from '../../src/engine/docker/stream-get.js';

async function all(source: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of source) parts.push(p);
  return Buffer.concat(parts);
}

async function serve(t: { after: (fn: () => Promise<void> | void) => void }, handler: Parameters<typeof createServer>[1]) {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-stream-get-'));
  const socketPath = join(dir, 'engine.sock');
  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  t.after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });
  return { address: `unix://${socketPath}`, transport: 'unix' as const, socketPath };
}

test('ChunkedDecoder: the data back, for every way of splitting the encoding into reads', () => {
  const pieces = ['a', 'line of text\n', '', 'x'.repeat(300), 'é and more bytes\n'].filter((p) => p !== '');
  const encoded = Buffer.concat([
    ...pieces.map((p) => Buffer.concat([Buffer.from(`${Buffer.byteLength(p).toString(16)}${p.length > 100 ? ';ext=1' : ''}\r\n`), Buffer.from(p), Buffer.from('\r\n')])),
    Buffer.from('0\r\n\r\n'),
  ]);
  const expected = Buffer.from(pieces.join(''));
  for (let cut = 0; cut <= encoded.length; cut++) {
    for (const step of [1, 7, encoded.length]) {
      const d = new ChunkedDecoder();
      const out: Buffer[] = [d.push(encoded.subarray(0, cut))];
      for (let i = cut; i < encoded.length; i += step) out.push(d.push(encoded.subarray(i, i + step)));
      assert.deepEqual(Buffer.concat(out), expected, `cut at ${cut}, then reads of ${step}`);
      assert.equal(d.done, true);
    }
  }
  assert.throws(() => new ChunkedDecoder().push(Buffer.from('zz\r\nabc\r\n')), /malformed chunked encoding/);
});

test('streamGet: a chunked body of many small writes, with status and headers', async (t) => {
  const lines = Array.from({ length: 5000 }, (_, i) => `line ${i}\n`);
  const endpoint = await serve(t, (req, res) => {
    assert.equal(req.url, '/v1.41/containers/abc/logs?stdout=1');
    res.writeHead(200, { 'Content-Type': 'application/vnd.docker.multiplexed-stream' });
    for (const l of lines) res.write(l);
    res.end();
  });
  const r = await streamGet(endpoint, '/v1.41/containers/abc/logs?stdout=1');
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/vnd.docker.multiplexed-stream');
  assert.equal(r.headers['transfer-encoding'], 'chunked');
  assert.equal((await all(r.body)).toString(), lines.join(''));
});

test('streamGet: a body with a length, and one read to the end of the connection', async (t) => {
  const endpoint = await serve(t, (req, res) => {
    if (req.url === '/length') {
      res.writeHead(200, { 'Content-Length': '11' });
      res.end('hello world');
    } else {
      res.socket?.end('HTTP/1.0 200 OK\r\nX-Kind: close\r\n\r\nuntil the end');
    }
  });
  assert.equal((await all((await streamGet(endpoint, '/length')).body)).toString(), 'hello world');
  const closed = await streamGet(endpoint, '/close');
  assert.equal(closed.headers['x-kind'], 'close');
  assert.equal((await all(closed.body)).toString(), 'until the end');
});

test('streamGet: an error status is the engine error it names', async (t) => {
  const endpoint = await serve(t, (_req, res) => {
    res.writeHead(404, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ message: 'No such container: abc' }));
  });
  await assert.rejects(streamGet(endpoint, '/v1.41/containers/abc/logs'), (e: unknown) => {
    assert.ok(e instanceof EngineError);
    assert.equal(e.kind, 'not-found');
    assert.match(e.message, /No such container: abc/);
    return true;
  });
});

test('streamGet: an abort ends a stream that would never end', async (t) => {
  const endpoint = await serve(t, (_req, res) => {
    res.writeHead(200);
    res.write('first\n');
  });
  const abort = new AbortController();
  const r = await streamGet(endpoint, '/follow', abort.signal);
  const seen: string[] = [];
  for await (const part of r.body) {
    seen.push(part.toString());
    abort.abort();
  }
  assert.deepEqual(seen, ['first\n']);
});

test('streamGet: no engine at the socket is an unreachable engine, naming it', async () => {
  const socketPath = join(tmpdir(), `flotilla-no-engine-${process.pid}.sock`);
  await assert.rejects(streamGet({ address: `unix://${socketPath}`, transport: 'unix', socketPath }, '/x'), (e: unknown) => {
    assert.ok(e instanceof EngineError);
    assert.equal(e.kind, 'unreachable');
    assert.ok(e.message.includes(socketPath), e.message);
    return true;
  });
});

test('streamGet: a tcp endpoint with an IPv6 address (kept in brackets by the endpoint)', async (t) => {
  const server = createServer((_req, res) => res.end('over ipv6'));
  await new Promise<void>((resolve) => server.listen(0, '::1', resolve));
  t.after(() => new Promise((resolve) => server.close(resolve)));
  const { port } = server.address() as AddressInfo;
  const r = await streamGet({ address: `tcp://[::1]:${port}`, transport: 'http', host: '[::1]', port }, '/x');
  assert.equal((await all(r.body)).toString(), 'over ipv6');
});

/** A TCP server that answers every connection with `reply` (its sockets destroyed at the end). */
async function rawServer(t: { after: (fn: () => Promise<void>) => void }, reply: string): Promise<{ address: string; port: number }> {
  const sockets = new Set<import('node:net').Socket>();
  const server = createTcpServer((socket) => {
    sockets.add(socket);
    socket.end(reply);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  const { port } = server.address() as AddressInfo;
  return { address: `tcp://127.0.0.1:${port}`, port };
}

test('streamGet: an answer that breaks HTTP is an engine error, not an unreachable engine', async (t) => {
  const broken = await rawServer(t, 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n');
  const r = await streamGet({ address: broken.address, transport: 'http', host: '127.0.0.1', port: broken.port }, '/x');
  await assert.rejects(all(r.body), (e: unknown) => {
    assert.ok(e instanceof EngineError);
    assert.equal(e.kind, 'engine');
    assert.ok(e.message.includes(broken.address), e.message);
    assert.match(e.message, /malformed chunked encoding \(chunk size "zz"\)/);
    return true;
  });
  const other = await rawServer(t, 'SSH-2.0-OpenSSH\r\n\r\n');
  await assert.rejects(
    streamGet({ address: other.address, transport: 'http', host: '127.0.0.1', port: other.port }, '/x'),
    /answered outside HTTP\/1\.1: not HTTP\/1\.1: "SSH-2\.0-OpenSSH"/,
  );
});
