/**
 * The Engine contract against the embedded engine: a real `flotilla daemon` (runc, conmon,
 * bridges, iptables) on a state root of its own, reached over its gRPC socket. Builds and
 * registry pulls are the next issue's; those two tests are skipped with that reason. When the
 * file ends, everything is removed and the host is checked for anything the daemon left.
 */
import { after } from 'node:test';
import { EmbeddedEngine } from '../../src/engine/embedded/client.js';
import { requireRoot } from '../helpers/root.js';
import { startTestDaemon, type TestDaemon } from '../helpers/embedded-daemon.js';
import { engineContract } from '../engine/contract.js';

let daemon: Promise<TestDaemon> | undefined;

engineContract(
  'embedded',
  async () => (await (daemon ??= startTestDaemon())).engine,
  {
    available: (t) => requireRoot(t),
    makeUnreachable: async () => new EmbeddedEngine('/nonexistent/flotilla-ct/engine.sock'),
    noBuilder: 'the embedded engine builds no images yet (Dockerfile builds come with the registry client)',
  },
);

after(async () => {
  if (!daemon) return;
  const left = await (await daemon).destroy();
  if (left.length > 0) throw new Error(`the embedded engine left on the host: ${left.join('; ')}`);
});
