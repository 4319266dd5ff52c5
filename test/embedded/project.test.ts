/**
 * The CLI on the embedded engine, as a user meets it: `up -d` of a project with a health-gated
 * dependency and a published port, then exec, logs, scale, DNS between services, isolation from
 * another project, and `down -v` leaving nothing on the host.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { flotilla, type CliResult } from '../helpers/cli.js';
import { useTestDaemon } from '../helpers/embedded-daemon.js';
import { requireRoot } from '../helpers/root.js';
import { projectDir } from '../helpers/tmp.js';

const testDaemon = useTestDaemon();

function cli(cwd: string, args: string[], timeoutMs = 120_000): CliResult {
  const daemon = testDaemon();
  assert.ok(daemon);
  return flotilla(args, { cwd, env: { ...daemon.env, FLOTILLA_ENGINE: 'embedded' }, timeoutMs });
}

function ok(r: CliResult, what: string): string {
  assert.equal(r.status, 0, `${what} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function fetchText(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get(url, { timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`${url}: timed out`)));
  });
}

const COMPOSE = (port: number) => `
services:
  web:
    image: busybox:latest
    command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
    volumes: ["./www:/www:ro"]
    ports: ["127.0.0.1:${port}:8080"]
    depends_on:
      api: { condition: service_healthy }
  api:
    image: busybox:latest
    command: ["sh", "-c", "sleep 1; touch /tmp/ready; echo api up; exec sleep 3600"]
    healthcheck: { test: ["CMD", "test", "-f", "/tmp/ready"], interval: 1s, retries: 20 }
  worker:
    image: busybox:latest
    command: ["sh", "-c", "echo worker $$HOSTNAME; exec sleep 3600"]
    volumes: ["data:/data"]
volumes:
  data: {}
`;

describe('a project on the embedded engine', { concurrency: false }, () => {
  it('up -d, exec, logs, scale, DNS, published port, isolation, down -v', async (t) => {
    if (!requireRoot(t)) return;
    const port = await freePort();
    const dir = projectDir(t, { 'compose.yaml': COMPOSE(port), 'www/index.html': 'hello from flotilla\n' }, 'emb');
    t.after(() => void cli(dir, ['down', '-v', '-t', '0']));

    ok(cli(dir, ['up', '-d']), 'up -d');
    const ps = ok(cli(dir, ['ps', '--services', '--filter', 'status=running']), 'ps');
    assert.deepEqual(ps.trim().split('\n').sort(), ['api', 'web', 'worker']);

    // health-gated order: web started only once api was healthy
    const api = JSON.parse(ok(cli(dir, ['ps', '--format', 'json', 'api']), 'ps api')) as { Health?: string }[];
    assert.equal(api[0]?.Health, 'healthy');

    assert.equal(await fetchText(`http://127.0.0.1:${port}/`), 'hello from flotilla\n');

    const failed = cli(dir, ['exec', '-T', 'api', 'sh', '-c', 'exit 3']);
    assert.equal(failed.status, 3, failed.stderr);
    // service names resolve through the embedded DNS, and web answers another container. (Debian's
    // static busybox crashes resolving names through libc, so the name is looked up with nslookup.)
    const get = 'ip=$(nslookup web | awk \'/^Address/ {a=$NF} END {print a}\'); printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc -w 5 "$ip" 8080';
    assert.match(ok(cli(dir, ['exec', '-T', 'worker', 'sh', '-c', get]), 'GET web:8080'), /hello from flotilla/);

    assert.match(ok(cli(dir, ['logs', '--no-color', 'api']), 'logs'), /api up/);

    ok(cli(dir, ['up', '-d', '--scale', 'worker=3']), 'scale up');
    const workers = ok(cli(dir, ['ps', '-q', 'worker']), 'ps -q worker').trim().split('\n');
    assert.equal(workers.length, 3);
    // round-robin: the name "worker" answers with every replica
    const answers = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const out = ok(cli(dir, ['exec', '-T', 'web', 'nslookup', 'worker']), 'nslookup');
      for (const m of out.matchAll(/Address(?: \d+)?:\s+(\d+\.\d+\.\d+\.\d+)/g)) answers.add(m[1] as string);
    }
    assert.ok(answers.size >= 3, `worker resolved to ${[...answers].join(', ')}`);

    // another project cannot reach this one
    const other = projectDir(t, { 'compose.yaml': 'services:\n  probe:\n    image: busybox:latest\n    command: ["sleep", "3600"]\n' }, 'other');
    t.after(() => void cli(other, ['down', '-t', '0']));
    ok(cli(other, ['up', '-d']), 'up other');
    const webIp = ok(cli(dir, ['exec', '-T', 'web', 'hostname', '-i']), 'hostname -i').trim().split(/\s+/)[0] as string;
    const reach = cli(other, ['exec', '-T', 'probe', 'sh', '-c', `printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc -w 2 ${webIp} 8080`]);
    assert.doesNotMatch(reach.stdout, /hello from flotilla/, 'another project reached web');
    ok(cli(other, ['down', '-t', '0']), 'down other');

    ok(cli(dir, ['down', '-v', '-t', '0']), 'down -v');
    const daemon = testDaemon();
  assert.ok(daemon);
    assert.deepEqual(await daemon.engine.listContainers({ labels: {}, all: true }), []);
    assert.deepEqual((await daemon.engine.listVolumes({})).map((v) => v.name), []);
    assert.deepEqual((await daemon.engine.listNetworks({})).map((n) => n.name), ['bridge']);
  });
});
