/**
 * What `flotilla daemon` serves: the Engine interface, plus what only the embedded engine has
 * (importing and loading images into its own store, its status, stopping it). The gRPC server
 * (./server.ts) exposes a DaemonBackend; the CLI's embedded client (src/engine/embedded/)
 * implements the same interface over the socket.
 */
import type { Readable } from 'node:stream';
import type { Engine } from './engine.js';

export interface ImageRef {
  id: string;
  tags: string[];
}

export interface DaemonStatus {
  pid: number;
  version: string;
  root: string;
  socket: string;
  startedAt: string;
  containers: { running: number; total: number };
  images: number;
  networks: number;
  volumes: number;
  /** Resident set size of the daemon process, bytes. */
  rss: number;
}

export interface DaemonBackend extends Engine {
  /** A root filesystem tarball (plain or gzip) made into an image, tagged `reference` when given. */
  importImage(input: Readable, reference?: string): Promise<ImageRef>;
  /** A `docker save` (or OCI layout) archive: every image in it, with its tags. */
  loadImages(input: Readable): Promise<ImageRef[]>;
  /** `image save`: the images `refs` name as a `docker save` archive, in chunks; `signal` stops it. */
  saveImages(refs: string[], signal?: AbortSignal): AsyncIterable<Buffer>;
  /** `image inspect` (Docker's shape) and `image history` of an image, as JSON; null when there is none. */
  imageDetails(ref: string): Promise<string | null>;
  /** `image prune` (`all`: every image no container uses, not only unnamed ones): JSON {deleted, untagged, reclaimed}. */
  pruneImages(all: boolean): Promise<string>;
  /** `image rm` (removeImage, with what it did): JSON {untagged, deleted}, the names untagged and the ids deleted. */
  imageRemoval(ref: string, force: boolean): Promise<string>;
  /** `builder prune` (`all`: every cached step and cache mount, not only dangling ones): JSON {deleted, reclaimed}. */
  pruneBuildCache(all: boolean): Promise<string>;
  status(): Promise<DaemonStatus>;
  /**
   * A method of the daemon's swarm core (SwarmCluster's, by name) with its arguments as a JSON
   * array; the result as JSON ("" for none). Optional: a backend without a swarm core has none.
   */
  swarm?(method: string, args: string): Promise<string>;
  /** Stops the daemon; containers keep running. */
  shutdown(): Promise<void>;
}
