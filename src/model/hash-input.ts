/**
 * What docker-compose 1.29.2 hashes for a service's `com.docker.compose.config-hash` label, built
 * by the compiler from the Compose-shaped definition (src/compose/emit/hash-input.ts) with the
 * engine's facts left out: the Id of the service's image, and for `ipc: service:NAME` the Id of
 * NAME's first container. plan/config-hash.ts puts them in and hashes, so the plan never reads
 * Compose syntax and the hash stays docker-compose's, byte for byte.
 */
import type { PyJson } from '../util/python-json.js';

export type ConfigHashInput =
  | {
      /** Every key of docker-compose's dict but `image_id` (and `ipc_mode` when ipcService is set). */
      fields: { [key: string]: PyJson };
      /** `ipc: service:NAME`: the hashed ipc_mode is NAME's first container's Id (null when none runs). */
      ipcService?: string;
    }
  /** docker-compose fails computing it (an invalid device count, say): up and config --hash fail with this. */
  | { error: string };
