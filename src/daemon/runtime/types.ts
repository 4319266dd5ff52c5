/**
 * The runtime layer's inputs and outputs: what the container manager hands over to run a
 * container (a BundleRequest), and what it gets back (exit information, runc's view, sessions).
 */
import type { Readable, Writable } from 'node:stream';
import type { ContainerSpec, LogOptions } from '../../engine/engine.js';

/** The parts of an image's config the runtime applies (Docker's names). */
export interface ImageConfig {
  Env?: string[];
  Cmd?: string[] | null;
  Entrypoint?: string[] | null;
  WorkingDir?: string;
  User?: string;
  StopSignal?: string;
}

export type HostMount =
  | { type: 'bind'; source: string; target: string; readOnly: boolean; propagation?: string }
  /** options like ['size=65536k', 'mode=1777']; nosuid, nodev and noexec are added unless overridden (suid, dev, exec). */
  | { type: 'tmpfs'; target: string; options: string[] };

export type NamespaceMode<Own extends string> = Own | 'host' | { path: string };

export interface BundleRequest {
  /** 64 hex digits. */
  id: string;
  spec: ContainerSpec;
  /** rootfs: the overlay lowerdir (read-only, shared by containers). */
  image: { rootfs: string; config: ImageConfig };
  /** A netns file to join, or the host's network. */
  network: { path: string } | 'host';
  /** Default 'private'. A `{ path: '/proc/<pid>/ns/ipc' }` also shares that container's /dev/shm. */
  ipc?: NamespaceMode<'private' | 'shareable'>;
  pid?: NamespaceMode<'private'>;
  /** Volumes and binds already resolved to host paths. */
  mounts: HostMount[];
  /** Host files bind-mounted at /etc/hosts, /etc/resolv.conf and /etc/hostname (written by others). */
  files: { hosts: string; resolvConf: string; hostname: string };
  /** Absolute, `${paths.cgroupParent}/${id}`. */
  cgroupsPath: string;
  /** null: the logging driver `none`. */
  log: { path: string; maxSize?: number; maxFiles?: number } | null;
}

export interface ExitInfo {
  code: number;
  oomKilled: boolean;
  /** RFC 3339 (the exit file's modification time). */
  finishedAt: string;
}

export interface RuncEntry {
  id: string;
  status: 'created' | 'running' | 'paused' | 'stopped';
  pid: number;
}

/** A process in a container with its streams: an exec, or a container run in the foreground. */
export interface ExecSession {
  stdin: Writable | null;
  /** With a TTY everything comes here (CRLF line ends, as a terminal gives them). */
  stdout: Readable;
  /** null with a TTY. */
  stderr: Readable | null;
  /** Sets the terminal's size (no-op without a TTY). */
  resize(rows: number, columns: number): Promise<void>;
  /** Signals the process in the container itself (not only the client). Default SIGKILL. */
  kill(signal?: NodeJS.Signals): void;
  /** The exit code, once the process has ended and its output has ended. */
  exit: Promise<number>;
}

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
  lowerdir: string;
}
