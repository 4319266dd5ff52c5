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
