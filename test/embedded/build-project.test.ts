/**
 * A real project on the embedded engine, without Docker: a Debian bookworm base made by
 * mmdebstrap (test/helpers/debian-base.ts, cached by date), imported into the engine, and a
 * multi-stage project FROM it whose RUN steps `apt-get install` from Debian's mirror through the
 * build container's network, started with `flotilla up --build` and answering on its port.
 */
import assert from 'node:assert/strict';
import { connect, createServer } from 'node:net';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { embeddedCli, succeeded } from '../helpers/embedded-cli.js';
import { debianBaseTar } from '../helpers/debian-base.js';
import { useTestDaemon } from '../helpers/embedded-daemon.js';
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
  it('builds FROM a Debian base with apt-get install and serves with up --build', async (t) => {
    if (!requireRoot(t)) return;
    const base = await debianBaseTar();
    const port = await freePort();
    const dir = projectDir(t, {
      Dockerfile: DOCKERFILE,
      'data.json': '{"greeting": "hello from a Debian build"}\n',
      'compose.yaml': `services:\n  web:\n    build:\n      context: .\n      args:\n        BASE: flt-debian:bookworm\n    image: flt-project-web:1\n    ports:\n      - "127.0.0.1:${port}:8080"\n`,
    });
    ok(cli(dir, ['image', 'import', base, 'flt-debian:bookworm']), 'image import');
    const up = cli(dir, ['-p', 'fltproject', 'up', '-d', '--build']);
    t.after(() => void cli(dir, ['-p', 'fltproject', 'down', '-v', '-t', '1']));
    ok(up, 'up --build');
    assert.equal((await readFrom(port)).trim(), 'hello from a Debian build');
    const again = ok(cli(dir, ['-p', 'fltproject', 'build']), 'rebuild');
    const steps = again.split('\n').filter((l) => /^#\d+ \[/.test(l));
    assert.equal(steps.length, 5, again);
    assert.equal(again.split('\n').filter((l) => /^#\d+ CACHED$/.test(l)).length, steps.length, `the rebuild comes from the cache:\n${again}`);
    ok(cli(dir, ['-p', 'fltproject', 'down', '-v', '-t', '1']), 'down');
  });
});
