/** Where the runtime keeps each container's files (see docs/embedded-engine.md, "State on disk"). */
import { join } from 'node:path';
import type { DaemonPaths } from '../paths.js';

export interface ContainerFiles {
  /** containers/<id>/bundle: config.json, runtime.json, conmon's ctl and winsz fifos. */
  bundle: string;
  config: string;
  meta: string;
  rootfs: string;
  upper: string;
  work: string;
  /** conmon's control fifo (`2 0 0` reopens the log file). */
  ctl: string;
  /** run/ctr/<id>: conmon's pid files, persist dir, its stderr; exec pid files. */
  ctr: string;
  conmonPid: string;
  pid: string;
  persist: string;
  /** The OOM flag: conmon 2.1.6 writes persist/oom (older notes say oomKilled; both are read). */
  oomFlags: string[];
  conmonLog: string;
  /** run/exits/<id>. */
  exit: string;
  /** run/sock/<id> (conmon's symlink to the bundle). */
  socketLink: string;
}

export function containerFiles(paths: DaemonPaths, id: string): ContainerFiles {
  const bundle = join(paths.containers, id, 'bundle');
  const ctr = join(paths.ctr, id);
  const persist = join(ctr, 'persist');
  return {
    bundle,
    config: join(bundle, 'config.json'),
    meta: join(bundle, 'runtime.json'),
    rootfs: join(bundle, 'rootfs'),
    upper: join(bundle, 'upper'),
    work: join(bundle, 'work'),
    ctl: join(bundle, 'ctl'),
    ctr,
    conmonPid: join(ctr, 'conmon.pid'),
    pid: join(ctr, 'pid'),
    persist,
    oomFlags: [join(persist, 'oom'), join(persist, 'oomKilled')],
    conmonLog: join(ctr, 'conmon.log'),
    exit: join(paths.exits, id),
    socketLink: join(paths.sockets, id),
  };
}
