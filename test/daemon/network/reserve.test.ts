/** Port reservations: a port taken by our own reservation vs by another program (no root needed). */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { reserve } from '../../../src/daemon/network/ports.js';
import { EngineError } from '../../../src/contract/errors.js';

test('a port held by another program fails as Docker\'s userland proxy does; one we hold is "already allocated"', async (t) => {
  const foreign = createServer();
  await new Promise<void>((resolve) => foreign.listen(0, '127.0.0.1', resolve));
  t.after(() => foreign.close());
  const taken = (foreign.address() as { port: number }).port;
  await assert.rejects(
    reserve({ containerPort: 80, protocol: 'tcp', hostIp: '127.0.0.1', hostPorts: { start: taken, end: taken } }),
    (e: unknown) => e instanceof EngineError && e.message === `Error starting userland proxy: listen tcp4 127.0.0.1:${taken}: bind: address already in use`,
  );

  const mine = await reserve({ containerPort: 80, protocol: 'tcp', hostIp: '127.0.0.1' });
  t.after(() => mine.close());
  await assert.rejects(
    reserve({ containerPort: 80, protocol: 'tcp', hostIp: '127.0.0.1', hostPorts: { start: mine.hostPort, end: mine.hostPort } }),
    (e: unknown) => e instanceof EngineError && e.message === `Bind for 127.0.0.1:${mine.hostPort} failed: port is already allocated`,
  );
  await mine.close();
  const again = await reserve({ containerPort: 80, protocol: 'tcp', hostIp: '127.0.0.1', hostPorts: { start: mine.hostPort, end: mine.hostPort } });
  assert.equal(again.hostPort, mine.hostPort, 'released, the port can be reserved again');
  await again.close();
});

test('a port recorded as published to another container is never given again, held by a socket or not', async (t) => {
  // After a daemon crash, a host program can take a container's port before the daemon holds it
  // again; once that program lets go, the port must still not go to a second container.
  const spare = await reserve({ containerPort: 80, protocol: 'tcp', hostIp: '127.0.0.1', hostPorts: undefined });
  const port = spare.hostPort;
  await spare.close();
  const recorded = (protocol: 'tcp' | 'udp', ip: string, p: number) => protocol === 'tcp' && p === port && (ip === '127.0.0.1' || ip === '0.0.0.0');
  for (const hostIp of ['127.0.0.1', '0.0.0.0']) {
    await assert.rejects(
      reserve({ containerPort: 80, protocol: 'tcp', hostIp, hostPorts: { start: port, end: port } }, recorded),
      (e: unknown) => e instanceof EngineError && e.message === `Bind for ${hostIp}:${port} failed: port is already allocated`,
    );
  }
  const udp = await reserve({ containerPort: 80, protocol: 'udp', hostIp: '127.0.0.1', hostPorts: { start: port, end: port } }, recorded);
  t.after(() => udp.close());
  assert.equal(udp.hostPort, port, 'the same number over udp is another port');
  if (port < 65535) {
    const ranged = await reserve({ containerPort: 80, protocol: 'tcp', hostIp: '127.0.0.1', hostPorts: { start: port, end: port + 1 } }, recorded).catch(() => null);
    if (ranged) {
      t.after(() => ranged.close());
      assert.equal(ranged.hostPort, port + 1, 'a range skips the recorded port');
    }
  }
  const everyOther = (protocol: 'tcp' | 'udp', _ip: string, p: number) => protocol === 'tcp' && p % 2 === 0;
  for (let i = 0; i < 5; i++) {
    const ephemeral = await reserve({ containerPort: 80, protocol: 'tcp', hostIp: '127.0.0.1', hostPorts: undefined }, everyOther);
    assert.equal(ephemeral.hostPort % 2, 1, `the kernel's pick ${ephemeral.hostPort} is a recorded one`);
    await ephemeral.close();
  }
});
