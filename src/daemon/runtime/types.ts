/**
 * The runtime layer's inputs and outputs: what the container manager hands over to run a
 * container (a BundleRequest), and what it gets back (exit information, runc's view, sessions).
 */
import type { LogOptions } from '../../contract/engine.js';

/**
 * The shapes shared with the container manager are its own (../containers/collaborators.ts):
 * the runtime takes and returns exactly what RuntimePort says.
 */
export type { BundleRequest, ExecSession, ExitInfo, HostMount, RuncEntry } from '../containers/collaborators.js';

/** LogOptions plus what following needs to know about the container. */
export interface RuntimeLogOptions extends LogOptions {
  /**
   * Whether the container may still write (running, or about to be started again). Following
   * ends once this says false and the file has been read to its end. Default: no exit file yet.
   */
  isRunning?: () => boolean | Promise<boolean>;
  /** How often to look at the file when no change is reported (ms, default 250). */
  pollInterval?: number;
}

export interface TimedLogChunk {
  stream: 'stdout' | 'stderr';
  data: Buffer;
  /** The line's time as written by conmon, in UTC RFC 3339 with nanoseconds (Docker's format). */
  time: string;
}

/** What prepare() keeps next to config.json for the later calls that get only the id. */
export interface BundleMeta {
  id: string;
  tty: boolean;
  openStdin: boolean;
  logPath: string | null;
  cgroupsPath: string;
  groupAdd: string[];
  /** The image's layers, bottom first. */
  lowerdirs: string[];
}
