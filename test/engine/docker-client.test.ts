/**
 * The connection to the engine, against fake engines: DOCKER_HOST / -H forms, TLS with
 * DOCKER_TLS_VERIFY and DOCKER_CERT_PATH, version negotiation, keep-alive, error mapping.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { DockerEngine } from '../../src/engine/docker/index.js';
import { resolveEndpoint } from '../../src/engine/docker/endpoint.js';
import { EngineError } from '../../src/contract/errors.js';
import { projectDir } from '../helpers/tmp.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

function fakeEngine(apiVersion: string, routes: Record<string, Handler> = {}): Handler & { paths: string[] } {
  const paths: string[] = [];
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    paths.push(`${req.method} ${req.url}`);
    const path = (req.url ?? '').replace(/\?.*$/, '');
    const route = routes[`${req.method} ${path.replace(/^\/v[\d.]+/, '')}`];
    if (path === '/version') {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ Version: '99.0.0', ApiVersion: apiVersion, MinAPIVersion: '1.12', Os: 'linux', Arch: 'amd64' }));
    } else if (route) {
      route(req, res);
    } else {
      res.statusCode = 404;
      res.end(JSON.stringify({ message: `page not found: ${path}` }));
    }
  };
  return Object.assign(handler, { paths });
}

async function listen(t: TestContext, server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  server.unref();
  return (server.address() as AddressInfo).port;
}

test('resolveEndpoint: unix sockets, tcp, defaults, refusals', () => {
  assert.deepEqual(resolveEndpoint({ env: {} }), { address: 'unix:///var/run/docker.sock', transport: 'unix', socketPath: '/var/run/docker.sock' });
  assert.equal(resolveEndpoint({ env: { DOCKER_HOST: 'unix:///tmp/d.sock' } }).socketPath, '/tmp/d.sock');
  assert.equal(resolveEndpoint({ host: 'unix:///run/x.sock', env: { DOCKER_HOST: 'tcp://1.2.3.4:2375' } }).socketPath, '/run/x.sock', '-H wins');
  assert.deepEqual(resolveEndpoint({ env: { DOCKER_HOST: 'tcp://10.0.0.2:2375' } }), { address: 'tcp://10.0.0.2:2375', transport: 'http', host: '10.0.0.2', port: 2375 });
  assert.equal(resolveEndpoint({ host: 'example.org', env: {} }).address, 'tcp://example.org:2375');
  assert.equal(resolveEndpoint({ host: 'tcp://example.org', env: { DOCKER_TLS_VERIFY: '0' } }).transport, 'http');
  for (const bad of ['ssh://user@host', 'npipe:////./pipe/docker', 'tcp://[bad']) {
    assert.throws(() => resolveEndpoint({ host: bad, env: {} }), (e: unknown) => e instanceof EngineError && e.kind === 'unreachable', bad);
  }
  assert.throws(
    () => resolveEndpoint({ host: 'tcp://example.org', env: { DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: '/nonexistent' } }),
    (e: unknown) => e instanceof EngineError && e.kind === 'unreachable' && /ca\.pem/.test(e.message),
  );
});

test('tcp: negotiates the version once, caps it, reuses one connection', async (t) => {
  const fake = fakeEngine('1.99', {
    'GET /containers/json': (_req, res) => res.end('[]'),
    'POST /containers/x/start': (_req, res) => {
      res.statusCode = 304;
      res.end();
    },
  });
  const server = createHttpServer(fake);
  let connections = 0;
  server.on('connection', () => connections++);
  const port = await listen(t, server);
  const engine = new DockerEngine({ env: { DOCKER_HOST: `tcp://127.0.0.1:${port}` } });
  t.after(() => engine.close());
  assert.deepEqual(await engine.version(), { engine: 'docker', version: '99.0.0', apiVersion: '1.47', os: 'linux', arch: 'amd64' });
  for (let i = 0; i < 5; i++) await engine.listContainers({ labels: { a: 'b', c: true }, all: true });
  await engine.startContainer('x');
  assert.equal(fake.paths.filter((p) => p === 'GET /version').length, 1);
  const list = fake.paths.find((p) => p.startsWith('GET /v1.47/containers/json'));
  assert.equal(list, `GET /v1.47/containers/json?all=1&filters=${encodeURIComponent('{"label":["a=b","c"]}')}`);
  assert.equal(connections, 1, 'one keep-alive connection');
});

test('an engine older than API 1.25 is refused', async (t) => {
  const port = await listen(t, createHttpServer(fakeEngine('1.24')));
  const engine = new DockerEngine({ host: `tcp://127.0.0.1:${port}`, env: {} });
  t.after(() => engine.close());
  await assert.rejects(engine.listImages(), (e: unknown) => e instanceof EngineError && /speaks API 1\.24/.test(e.message));
});

test('HTTP errors become engine-neutral kinds with the engine\'s message', async (t) => {
  const answer = (status: number, message: string): Handler => (_req, res) => {
    res.statusCode = status;
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ message }));
  };
  const port = await listen(
    t,
    createHttpServer(
      fakeEngine('1.41', {
        'POST /containers/a/start': answer(500, 'driver failed programming external connectivity: Bind for 0.0.0.0:80 failed: port is already allocated'),
        'POST /containers/b/start': answer(409, 'container is paused'),
        'POST /containers/c/start': answer(400, 'bad parameter'),
        'POST /containers/d/start': answer(500, 'something else'),
        'POST /containers/e/start': (_req, res) => {
          res.statusCode = 502;
          res.end('plain text failure');
        },
      }),
    ),
  );
  const engine = new DockerEngine({ host: `127.0.0.1:${port}`, env: {} });
  t.after(() => engine.close());
  const cases: [string, string, RegExp][] = [
    ['a', 'resource', /port is already allocated$/],
    ['b', 'conflict', /^container is paused$/],
    ['c', 'invalid', /^bad parameter$/],
    ['d', 'engine', /^something else$/],
    ['e', 'engine', /^plain text failure$/],
    ['zzz', 'not-found', /page not found/],
  ];
  for (const [id, kind, message] of cases) {
    await assert.rejects(engine.startContainer(id), (e: unknown) => e instanceof EngineError && e.kind === kind && message.test(e.message), id);
  }
});

test('unreachable engines are named in the message', async () => {
  const cases: [DockerEngine, RegExp][] = [
    [new DockerEngine({ host: 'unix:///nonexistent/docker.sock', env: {} }), /^cannot connect to the Docker engine at unix:\/\/\/nonexistent\/docker\.sock: no such file \(is dockerd running\?\)$/],
    [new DockerEngine({ host: 'tcp://127.0.0.1:1', env: {} }), /^cannot connect to the Docker engine at tcp:\/\/127\.0\.0\.1:1: connection refused/],
  ];
  for (const [engine, message] of cases) {
    await assert.rejects(engine.version(), (e: unknown) => e instanceof EngineError && e.kind === 'unreachable' && message.test(e.message), message.source);
    engine.close();
  }
});

function makeCertificates(t: TestContext): string | null {
  if (spawnSync('openssl', ['version']).status !== 0) {
    if (process.env['FLOTILLA_CI'] === '1') throw new Error('openssl is required in CI (scripts/install-deps installs it)');
    return null;
  }
  const dir = projectDir(t, {}, 'certs');
  const openssl = (...args: string[]) => {
    const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
  };
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=flotilla test CA');
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server-key.pem', '-out', 'server.csr', '-subj', '/CN=localhost');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', 'server-cert.pem', '-days', '2', '-extfile', 'server.ext');
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'client.csr', '-subj', '/CN=client');
  openssl('x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', 'cert.pem', '-days', '2', '-extfile', 'client.ext');
  return dir;
}

test('TLS: DOCKER_TLS_VERIFY with DOCKER_CERT_PATH; a server the CA did not sign is unreachable', async (t) => {
  const certs = makeCertificates(t);
  if (!certs) {
    t.skip('needs openssl');
    return;
  }
  const read = (name: string) => readFileSync(join(certs, name));
  let clientCertSeen = false;
  const server = createHttpsServer({ key: read('server-key.pem'), cert: read('server-cert.pem'), ca: read('ca.pem'), requestCert: true, rejectUnauthorized: true }, (req, res) => {
    clientCertSeen = (req.socket as import('node:tls').TLSSocket).authorized;
    fakeEngine('1.41')(req, res);
  });
  const port = await listen(t, server);
  const engine = new DockerEngine({ host: `tcp://127.0.0.1:${port}`, env: { DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs } });
  t.after(() => engine.close());
  assert.equal((await engine.version()).version, '99.0.0');
  assert.ok(clientCertSeen, 'the client presented cert.pem');

  // Trusting another CA: the server's certificate does not verify.
  const other = projectDir(t, {}, 'other');
  spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'k.pem', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=other'], { cwd: other });
  writeFileSync(join(other, 'cert.pem'), read('cert.pem'));
  writeFileSync(join(other, 'key.pem'), read('key.pem'));
  const wrong = new DockerEngine({ host: `tcp://127.0.0.1:${port}`, env: { DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: other } });
  t.after(() => wrong.close());
  await assert.rejects(wrong.version(), (e: unknown) => e instanceof EngineError && e.kind === 'unreachable' && /TLS/.test(e.message) && e.message.includes(`tcp://127.0.0.1:${port}`));
});
