/**
 * A real project on the embedded engine, without Docker: a Debian bookworm base made by
 * mmdebstrap (test/helpers/debian-base.ts, cached by date), imported into the engine, pushed to a
 * loopback registry and removed again, and a multi-stage project FROM the registry's copy (the
 * build pulls it) whose RUN steps `apt-get install` from Debian's mirror through the build
 * container's network, started with `flotilla up --build` and answering on its port; then its
 * image is pushed, removed, pulled back by digest and `bundle`d with that digest.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, createServer } from 'node:net';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { embeddedCli, succeeded } from '../helpers/embedded-cli.js';
import { debianBaseTar } from '../helpers/debian-base.js';
import { useTestDaemon } from '../helpers/embedded-daemon.js';
import { requireRegistry, startRegistry } from '../helpers/registry.js';
import { requireRoot } from '../helpers/root.js';
import { projectDir } from '../helpers/tmp.js';

const testDaemon = useTestDaemon();

const cli = embeddedCli(testDaemon, 900_000);
const ok = succeeded;

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

/** What the server on `port` sends before closing (retried while the service starts). */
async function readFrom(port: number): Promise<string> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const text = await new Promise<string>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      let data = '';
      socket.on('data', (d) => (data += d.toString()));
      socket.on('close', () => resolve(data));
      socket.on('error', () => resolve(''));
      socket.setTimeout(5000, () => socket.destroy());
    });
    if (text !== '' || Date.now() > deadline) return text;
    await sleep(500);
  }
}

const DOCKERFILE = `ARG BASE
FROM \${BASE} AS tools
RUN apt-get update && apt-get install -y --no-install-recommends jq && rm -rf /var/lib/apt/lists/*
COPY data.json /data.json
RUN jq -r .greeting /data.json > /greeting.txt

FROM \${BASE}
RUN apt-get update && apt-get install -y --no-install-recommends netcat-openbsd && rm -rf /var/lib/apt/lists/*
COPY --from=tools /greeting.txt /srv/greeting.txt
EXPOSE 8080
CMD ["sh", "-c", "while true; do nc -l -p 8080 -q 1 < /srv/greeting.txt; done"]
`;

describe('a real project built and run on the embedded engine', () => {
  it('builds FROM a Debian base in a registry with apt-get install, serves with up --build, and goes to the registry and back by digest', async (t) => {
    if (!requireRoot(t)) return;
    if (!requireRegistry(t)) return;
    const reg = await startRegistry(t);
    const base = await debianBaseTar();
    const port = await freePort();
    const baseRef = `${reg.host}/debian:bookworm`;
    const webRef = `${reg.host}/fltproject/web:1`;
    const dir = projectDir(t, {
      Dockerfile: DOCKERFILE,
      'data.json': '{"greeting": "hello from a Debian build"}\n',
      'compose.yaml': `services:\n  web:\n    build:\n      context: .\n      args:\n        BASE: ${baseRef}\n    image: ${webRef}\n    ports:\n      - "127.0.0.1:${port}:8080"\n`,
    });
    // The base goes to the registry and leaves the engine: the build pulls it.
    ok(cli(dir, ['image', 'import', base, baseRef]), 'image import');
    ok(cli(dir, ['image', 'push', '-q', baseRef]), 'push the base');
    ok(cli(dir, ['image', 'rm', baseRef]), 'remove the base');
    const up = cli(dir, ['-p', 'fltproject', 'up', '-d', '--build']);
    t.after(() => void cli(dir, ['-p', 'fltproject', 'down', '-v', '-t', '1']));
    ok(up, 'up --build');
    assert.equal((await readFrom(port)).trim(), 'hello from a Debian build');
    const again = ok(cli(dir, ['-p', 'fltproject', 'build']), 'rebuild');
    const steps = again.split('\n').filter((l) => /^#\d+ \[/.test(l));
    assert.equal(steps.length, 5, again);
    assert.equal(again.split('\n').filter((l) => /^#\d+ CACHED$/.test(l)).length, steps.length, `the rebuild comes from the cache:\n${again}`);
    ok(cli(dir, ['-p', 'fltproject', 'down', '-v', '-t', '1']), 'down');

    // Pushed, removed, pulled back by digest: the same image; bundled with that digest.
    const builtId = JSON.parse(ok(cli(dir, ['image', 'inspect', webRef]), 'inspect'))[0].Id as string;
    const pushed = ok(cli(dir, ['-p', 'fltproject', 'push']), 'push').trim();
    const pinned = new RegExp(`^${reg.host.replace(/\./g, '\\.')}/fltproject/web@(sha256:[0-9a-f]{64})$`).exec(pushed);
    assert.ok(pinned, `push prints the image pinned by digest: ${pushed}`);
    const byDigest = `${reg.host}/fltproject/web@${pinned[1]}`;
    ok(cli(dir, ['image', 'rm', webRef]), 'remove the project image');
    assert.notEqual(cli(dir, ['image', 'inspect', builtId]).status, 0, 'the image is gone');
    ok(cli(dir, ['image', 'pull', '-q', byDigest]), 'pull by digest');
    const back = JSON.parse(ok(cli(dir, ['image', 'inspect', byDigest]), 'inspect by digest'))[0] as { Id: string; RepoDigests: string[] };
    assert.equal(back.Id, builtId, 'the image pulled back is the one built');
    assert.ok(back.RepoDigests.includes(byDigest), JSON.stringify(back.RepoDigests));
    // The tag is not on the engine now: bundle asks the registry, which has the pushed digest
    // (written after the name as given, as docker-compose bundle writes it).
    ok(cli(dir, ['-p', 'fltproject', 'bundle', '-o', 'web.dab']), 'bundle');
    const dab = JSON.parse(readFileSync(join(dir, 'web.dab'), 'utf8')) as { Services: Record<string, { Image: string }> };
    assert.equal(dab.Services['web']?.Image, `${webRef}@${pinned[1]}`);
    writeFileSync(join(dir, 'compose.yaml'), `services:\n  web:\n    image: ${byDigest}\n    ports:\n      - "127.0.0.1:${port}:8080"\n`);
    ok(cli(dir, ['-p', 'fltproject', 'up', '-d']), 'up from the pulled image');
    assert.equal((await readFrom(port)).trim(), 'hello from a Debian build');
    ok(cli(dir, ['-p', 'fltproject', 'down', '-v', '-t', '1']), 'down');
    for (const ref of [byDigest]) cli(dir, ['image', 'rm', ref]);
  });
});
