/**
 * The Engine contract against the embedded engine: a real `flotilla daemon` (runc, conmon,
 * bridges, iptables) on a state root of its own, reached over its gRPC socket. Builds and
 * registry pulls are the next issue's; those two tests are skipped with that reason. When the
 * file ends, everything is removed and the host is checked for anything the daemon left.
 */
import { EmbeddedEngine } from '../../src/engine/embedded/client.js';
import { requireRoot } from '../helpers/root.js';
import { useTestDaemon } from '../helpers/embedded-daemon.js';
import { engineContract } from '../engine/contract.js';

const testDaemon = useTestDaemon();

engineContract(
  'embedded',
  async () => {
    const daemon = testDaemon();
    if (!daemon) throw new Error('the test daemon did not start');
    return daemon.engine;
  },
  {
    available: (t) => requireRoot(t),
    makeUnreachable: async () => new EmbeddedEngine('/nonexistent/flotilla-ct/engine.sock'),
  },
);
