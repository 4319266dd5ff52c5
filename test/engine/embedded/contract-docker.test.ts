/**
 * The Engine contract (../contract.ts) through the embedded engine's wire: EmbeddedEngine → unix
 * socket → the daemon's gRPC server → a backend that is dockerd (DockerEngine). The contract needs
 * real processes (sh scripts, TTYs, name resolution, builds, a registry), which the in-memory
 * backend does not have; dockerd has them all, so every Engine behaviour the contract checks is
 * checked once more after crossing the wire both ways. Needs dockerd, like test/engine/docker.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { after } from 'node:test';
import type { DaemonBackend, DaemonStatus, ImageRef } from '../../../src/contract/backend.js';
import { serveDaemon, type DaemonServer } from '../../../src/daemon/server.js';
import { DockerEngine } from '../../../src/engine/docker/index.js';
import { EmbeddedEngine } from '../../../src/engine/embedded/client.js';
import { EngineError } from '../../../src/contract/errors.js';
import { requireDocker } from '../../helpers/docker.js';
import { ensureBusybox, startRegistry } from '../../helpers/images.js';
import { engineContract } from '../contract.js';

/** dockerd as a DaemonBackend: the daemon-only methods are outside the contract. */
class DockerBackend extends DockerEngine implements DaemonBackend {
  async importImage(_input: Readable, _reference?: string): Promise<ImageRef> {
    throw new EngineError('invalid', 'importImage is not part of the contract');
  }

  async loadImages(_input: Readable): Promise<ImageRef[]> {
    throw new EngineError('invalid', 'loadImages is not part of the contract');
  }

  async *saveImages(_refs: string[]): AsyncGenerator<Buffer> {
    throw new EngineError('invalid', 'saveImages is not part of the contract');
  }

  async imageDetails(): Promise<string | null> {
    throw new EngineError('invalid', 'imageDetails is not part of the contract');
  }

  async pruneImages(): Promise<string> {
    throw new EngineError('invalid', 'pruneImages is not part of the contract');
  }

  async imageRemoval(): Promise<string> {
    throw new EngineError('invalid', 'imageRemoval is not part of the contract');
  }

  async pruneBuildCache(): Promise<string> {
    throw new EngineError('invalid', 'pruneBuildCache is not part of the contract');
  }

  async status(): Promise<DaemonStatus> {
    throw new EngineError('invalid', 'status is not part of the contract');
  }

  async shutdown(): Promise<void> {}
}

let dir: string | undefined;
let server: DaemonServer | undefined;
let engine: EmbeddedEngine | undefined;

after(async () => {
  engine?.close();
  await server?.close(0);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

engineContract(
  'embedded wire over docker',
  async () => {
    ensureBusybox();
    dir = mkdtempSync(join(tmpdir(), 'flotilla-wire-'));
    const socket = join(dir, 'engine.sock');
    server = await serveDaemon(new DockerBackend({ env: {} }), socket, { log: (line) => process.stderr.write(`${line}\n`) });
    engine = new EmbeddedEngine(socket);
    return engine;
  },
  {
    available: (t) => requireDocker(t),
    makeUnreachable: async () => new EmbeddedEngine('/nonexistent/flotilla-ct/engine.sock'),
    startRegistry,
  },
);
