import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import {
  addressResponse,
  buildQuery,
  parseAnswer,
  parseQuery,
  readName,
  RCODE_NOERROR,
  RCODE_SERVFAIL,
  TYPE_A,
  TYPE_AAAA,
} from '../../../src/daemon/network/dns/codec.js';
import { Forwarder } from '../../../src/daemon/network/dns/forwarder.js';
import { Resolver, type NameSource } from '../../../src/daemon/network/dns/resolver.js';
import { DnsListener } from '../../../src/daemon/network/dns/server.js';
import { parseResolvConf, parseUpstream, type Upstream } from '../../../src/daemon/network/dns/upstreams.js';
import type { TestContext } from 'node:test';

/** A fake upstream on loopback: answers every A query with 192.0.2.77 (and counts them). */
async function fakeUpstream(t: TestContext, answer = true): Promise<{ port: number; queries: string[] }> {
  const socket = createSocket('udp4');
  const queries: string[] = [];
  socket.on('message', (msg, rinfo) => {
    const q = parseQuery(msg);
    queries.push(q.question?.name ?? '');
    if (answer) socket.send(addressResponse(msg, q, ['192.0.2.77'], 30), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  t.after(() => socket.close());
  return { port: socket.address().port, queries };
}

function source(names: Record<string, string[]>, upstreams: Upstream[] | null): NameSource {
  return { lookup: (_n, _c, name) => names[name] ?? null, upstreams: async () => upstreams };
}

test('codec: a query round-trips; names are read through compression pointers', () => {
  const q = buildQuery(0x1234, 'Web.Example.', TYPE_A);
  const parsed = parseQuery(q);
  assert.equal(parsed.id, 0x1234);
  assert.deepEqual(parsed.question, { name: 'Web.Example', type: TYPE_A, class: 1 });
  // A name "www" + pointer to "example" at offset 0.
  const msg = Buffer.concat([Buffer.from([7, ...Buffer.from('example'), 0]), Buffer.from([3, ...Buffer.from('www'), 0xc0, 0])]);
  assert.deepEqual(readName(msg, 9), { name: 'www.example', end: 15 });
  const loop = Buffer.from([0xc0, 0]);
  assert.throws(() => readName(loop, 0), /pointer loop/);
});

test('codec: an answer too big for UDP carries what fits and the TC flag', () => {
  const q = buildQuery(1, 'svc', TYPE_A);
  const addresses = Array.from({ length: 40 }, (_, i) => `10.0.0.${i + 1}`);
  const small = parseAnswer(addressResponse(q, parseQuery(q), addresses, 600, 512));
  assert.equal(small.truncated, true);
  assert.ok(small.addresses.length < 40 && small.addresses.length > 20);
  const full = parseAnswer(addressResponse(q, parseQuery(q), addresses, 600));
  assert.equal(full.truncated, false);
  assert.deepEqual(full.addresses, addresses);
});

test('resolver: known names (any case, trailing dot) rotate; AAAA is an empty NOERROR', async () => {
  const r = new Resolver(source({ web: ['10.0.0.2', '10.0.0.3', '10.0.0.4'] }, []), new Forwarder(500));
  const ask = async (name: string, type = TYPE_A) => parseAnswer((await r.answer('n', buildQuery(7, name, type), '10.0.0.9', 'udp'))!);
  const firsts: string[] = [];
  for (const name of ['web', 'WEB.', 'Web']) {
    const a = await ask(name);
    assert.equal(a.rcode, RCODE_NOERROR);
    assert.equal(a.authoritative, true);
    assert.deepEqual([...a.addresses].sort(), ['10.0.0.2', '10.0.0.3', '10.0.0.4']);
    firsts.push(a.addresses[0]!);
  }
  assert.deepEqual(firsts, ['10.0.0.2', '10.0.0.3', '10.0.0.4']);
  const aaaa = await ask('web', TYPE_AAAA);
  assert.equal(aaaa.rcode, RCODE_NOERROR);
  assert.equal(aaaa.answerCount, 0);
});

test('resolver: unknown names go to the upstream; none answering in time gives SERVFAIL; no upstream (internal) too', async (t) => {
  const up = await fakeUpstream(t);
  const r = new Resolver(source({}, [{ host: '127.0.0.1', port: up.port }]), new Forwarder(1000));
  const a = parseAnswer((await r.answer('n', buildQuery(9, 'example.test', TYPE_A), '10.0.0.9', 'udp'))!);
  assert.deepEqual(a.addresses, ['192.0.2.77']);
  assert.deepEqual(up.queries, ['example.test']);

  const silent = await fakeUpstream(t, false);
  const slow = new Resolver(source({}, [{ host: '127.0.0.1', port: silent.port }]), new Forwarder(1000));
  const started = Date.now();
  const s = parseAnswer((await slow.answer('n', buildQuery(10, 'example.test', TYPE_A), '10.0.0.9', 'udp'))!);
  assert.equal(s.rcode, RCODE_SERVFAIL);
  assert.ok(Date.now() - started >= 900, 'waited for the timeout');

  const none = new Resolver(source({}, null), new Forwarder(1000));
  assert.equal(parseAnswer((await none.answer('n', buildQuery(11, 'example.test', TYPE_A), '10.0.0.9', 'udp'))!).rcode, RCODE_SERVFAIL);
});

test('listener: UDP and TCP (several length-prefixed queries on one connection) on loopback', async (t) => {
  const r = new Resolver(source({ db: ['10.0.0.5'] }, []), new Forwarder(300));
  // A port of our own on loopback (port 53 needs root and is the daemon's).
  const probe = createServer();
  const port = await new Promise<number>((resolve) => probe.listen(0, '127.0.0.1', () => resolve((probe.address() as { port: number }).port)));
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const listener = new DnsListener('127.0.0.1', r.handler('n'), () => undefined, port);
  await listener.start();
  t.after(() => listener.close());

  const udp = createSocket('udp4');
  const udpAnswer = await new Promise<Buffer>((resolve) => {
    udp.on('message', (m) => resolve(m));
    udp.send(buildQuery(3, 'db', TYPE_A), port, '127.0.0.1');
  });
  udp.close();
  assert.deepEqual(parseAnswer(udpAnswer).addresses, ['10.0.0.5']);

  const { connect } = await import('node:net');
  const conn = connect({ host: '127.0.0.1', port });
  const frames = [buildQuery(4, 'db', TYPE_A), buildQuery(5, 'DB.', TYPE_AAAA)].map((q) => Buffer.concat([Buffer.from([0, q.length]), q]));
  conn.write(Buffer.concat(frames));
  const answers = await new Promise<Buffer[]>((resolve) => {
    let buf = Buffer.alloc(0);
    const out: Buffer[] = [];
    conn.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        out.push(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
      if (out.length === 2) resolve(out);
    });
  });
  conn.destroy();
  assert.deepEqual(answers.map((a) => [parseAnswer(a).id, parseAnswer(a).addresses]), [[4, ['10.0.0.5']], [5, []]]);
});

test('upstreams: resolv.conf parsing and "ip[:port]"', () => {
  assert.deepEqual(parseResolvConf('# c\nnameserver 10.255.255.53\nnameserver ::1\nsearch a.example b.example\noptions ndots:2 timeout:1\n'), {
    nameservers: ['10.255.255.53', '::1'], search: ['a.example', 'b.example'], options: ['ndots:2', 'timeout:1'],
  });
  assert.deepEqual(parseUpstream('10.0.0.1'), { host: '10.0.0.1', port: 53 });
  assert.deepEqual(parseUpstream('127.0.0.1:5353'), { host: '127.0.0.1', port: 5353 });
  assert.equal(parseUpstream('::1'), null);
});
