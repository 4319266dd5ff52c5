/**
 * The network of a build's RUN steps on the embedded engine: `image build --network none` (no
 * interface but lo, a connect fails), `host` (the host's loopback is reached), and Compose
 * `build.network` naming a network of the project, whose running service the RUN reaches by name.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { embeddedCli, succeeded } from '../helpers/embedded-cli.js';
import { useTestDaemon } from '../helpers/embedded-daemon.js';
import { withImageView } from '../helpers/embedded-images.js';
import { requireRoot } from '../helpers/root.js';
import { projectDir } from '../helpers/tmp.js';

const testDaemon = useTestDaemon();
const cli = embeddedCli(testDaemon, 300_000);
const ok = succeeded;

/** A file of a built image. */
function fileOf(id: string, path: string): string {
  return withImageView(testDaemon()!.paths.images, id, (root) => readFileSync(join(root, path), 'utf8'));
}

describe('the network of RUN steps on the embedded engine', () => {
  it('none has no interface but lo, host reaches the host loopback', async (t) => {
    if (!requireRoot(t) || !testDaemon()) return;
    // An HTTP server on the host's loopback, in its own process (the CLI runs synchronously here).
    const server = spawn(process.execPath, ['-e', 'const s=require("http").createServer((q,r)=>r.end("from-host\\n")).listen(0,"127.0.0.1",()=>console.log(s.address().port))'], { stdio: ['ignore', 'pipe', 'inherit'] });
    t.after(() => server.kill('SIGKILL'));
    const [chunk] = (await once(server.stdout!, 'data')) as [Buffer];
    const port = chunk.toString().trim();
    const dir = projectDir(t, {
      Dockerfile: `FROM busybox:latest\nARG PORT\nRUN cat /proc/net/dev > /netdev.txt; if printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 127.0.0.1 $PORT > /got.txt 2>/nc.txt; then echo reached > /reached.txt; else echo unreachable > /reached.txt; fi\n`,
    });
    const none = ok(cli(dir, ['image', 'build', '-q', '--network', 'none', '--build-arg', `PORT=${port}`, '.']), 'build --network none').trim();
    assert.deepEqual(fileOf(none, 'netdev.txt').split('\n').slice(2).filter(Boolean).map((l) => l.trim().split(':')[0]), ['lo'], 'lo only');
    assert.equal(fileOf(none, 'reached.txt'), 'unreachable\n', 'a connect fails');
    const host = ok(cli(dir, ['image', 'build', '-q', '--network', 'host', '--build-arg', `PORT=${port}`, '.']), 'build --network host').trim();
    assert.equal(fileOf(host, 'reached.txt'), 'reached\n', fileOf(host, 'nc.txt'));
    assert.match(fileOf(host, 'got.txt'), /^HTTP\/1\.1 200 OK\r\n(.*\r\n)*\r\nfrom-host\n$/);
    const bridge = ok(cli(dir, ['image', 'build', '-q', '--build-arg', `PORT=${port}`, '.']), 'build on the default bridge').trim();
    assert.ok(fileOf(bridge, 'netdev.txt').includes('eth0'), 'the default bridge gives an interface');
    assert.equal(fileOf(bridge, 'reached.txt'), 'unreachable\n', 'the container\'s own loopback is not the host\'s');
    const missing = cli(dir, ['image', 'build', '-q', '--network', `flt-absent-${process.pid}`, '--build-arg', `PORT=${port}`, '.']);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, new RegExp(`Dockerfile:3: RUN: network flt-absent-${process.pid} not found`));
    for (const id of [none, host, bridge]) cli(dir, ['image', 'rm', '-f', id]);
  });

  it('Compose build.network: a project network, whose running service RUN reaches by name', (t) => {
    if (!requireRoot(t) || !testDaemon()) return;
    const project = `fltbuildnet${process.pid}`;
    const dir = projectDir(t, {
      // busybox's wget crashes in this image (a static glibc); nc and nslookup, which asks the DNS
      // server itself, do not.
      Dockerfile: "FROM busybox:latest\nRUN ip=$(nslookup web | awk '/^Address/ { a = $2 } END { print a }') && printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | nc -w 10 $ip 8080 > /got.txt\n",
      'compose.yaml': `services:
  web:
    image: busybox:latest
    command: ["sh", "-c", "mkdir -p /www && echo hello-from-web > /www/index.html && exec httpd -f -p 8080 -h /www"]
    networks: [back]
  app:
    build:
      context: .
      network: back
    image: ${project}-app:1
networks:
  back: {}
`,
    });
    t.after(() => void cli(dir, ['-p', project, 'down', '-v', '--rmi', 'local', '-t', '0']));
    ok(cli(dir, ['-p', project, 'up', '-d', 'web']), 'up web');
    const built = cli(dir, ['-p', project, 'build', 'app']);
    assert.equal(built.status, 0, `build app: ${built.stdout}${built.stderr}`);
    const id = (JSON.parse(ok(cli(dir, ['image', 'inspect', `${project}-app:1`]), 'inspect')) as { Id: string }[])[0]!.Id;
    assert.match(fileOf(id, 'got.txt'), /^HTTP\/1\.[01] 200 OK\r\n(.*\r\n)*\r\nhello-from-web\n$/);
    ok(cli(dir, ['-p', project, 'down', '-v', '-t', '0']), 'down');
    cli(dir, ['image', 'rm', '-f', `${project}-app:1`]);
  });
});
