/**
 * A daemon starting takes over what the previous one left. Same boot: containers still running
 * under their conmon are adopted as they are; exits that happened meanwhile (conmon kept the exit
 * file) are recorded and their restart policies applied; a container whose conmon is gone is
 * killed, because its exit could not be recorded. After a reboot (boot_id changed; /run may be on
 * disk and survive) nothing can be running: every live container is marked exited and the
 * runtime's stale state removed; `always` and `unless-stopped` containers are started again.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import type { DaemonPaths } from '../paths.js';
import { restartsWithDaemon, type RestartPolicy } from '../supervisor/restart-policy.js';
import { UNKNOWN_EXIT, type ContainerManager } from './manager.js';

export function currentBootId(): string {
  return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
}

export function bootChanged(paths: DaemonPaths): boolean {
  try {
    return readFileSync(paths.bootId, 'utf8').trim() !== currentBootId();
  } catch {
    return false;
  }
}

export async function recordBoot(paths: DaemonPaths): Promise<void> {
  await writeFile(paths.bootId, `${currentBootId()}\n`);
}

/**
 * What adoption did: containers adopted running, exits recorded, containers started again now,
 * and containers whose recorded exit scheduled a restart by their policy (after its back-off).
 */
export interface Adoption {
  adopted: number;
  exited: number;
  restarted: number;
  restarting: number;
}

export async function adoptContainers(manager: ContainerManager, rebooted: boolean): Promise<Adoption> {
  const { runtime, log } = manager.deps;
  const runc = new Map((await runtime.list()).map((e) => [e.id, e]));
  const result: Adoption = { adopted: 0, exited: 0, restarted: 0, restarting: 0 };
  const toStart: string[] = [];
  for (const record of [...manager.records.values()]) {
    const s = record.state;
    const wasLive = s.status === 'running' || s.status === 'paused' || s.status === 'restarting';
    const entry = runc.get(record.id);
    runc.delete(record.id);
    if (rebooted) {
      if (entry) await runtime.delete(record.id).catch(() => undefined);
      await runtime.release(record.id).catch(() => undefined);
      if (wasLive) {
        Object.assign(s, { status: 'exited', exitCode: UNKNOWN_EXIT, pid: 0, error: 'the machine restarted', finishedAt: new Date().toISOString(), endpoints: {}, ports: {} });
        delete s.sandbox;
        delete s.health;
        await manager.save(record);
        result.exited++;
      }
      if (restartsWithDaemon(record.spec.restartPolicy as RestartPolicy | undefined, s.stoppedByUser)) toStart.push(record.id);
      continue;
    }
    if (!wasLive) {
      if (entry) await runtime.delete(record.id).catch(() => undefined);
      continue;
    }
    if (s.status === 'restarting') {
      // The restart timer died with the old daemon: restart now.
      toStart.push(record.id);
      continue;
    }
    const exit = await runtime.exitInfo(record.id);
    if (exit) {
      await manager.handleExit(record.id, exit);
      continue;
    }
    if (entry && (entry.status === 'running' || entry.status === 'paused') && (await runtime.conmonAlive(record.id))) {
      s.status = entry.status === 'paused' ? 'paused' : 'running';
      s.pid = entry.pid;
      await manager.save(record);
      manager.resumeHealth(record);
      result.adopted++;
      continue;
    }
    if (entry && entry.status !== 'stopped') {
      log(`container ${record.id}: its monitor (conmon) is gone; killing it, its exit code is lost`);
      await runtime.kill(record.id, 'SIGKILL').catch(() => undefined);
    }
    s.error = 'the exit was not recorded (its monitor was gone)';
    await manager.handleExit(record.id, { code: UNKNOWN_EXIT, oomKilled: false, finishedAt: new Date().toISOString() });
  }
  // Exits recorded since the manager opened: here, or by its exit watcher, which may come first.
  result.exited += manager.tally.exits;
  result.restarting = manager.tally.restartsScheduled;
  // runc state nobody owns (a create the old daemon did not record).
  for (const id of runc.keys()) await runtime.delete(id).catch(() => undefined);
  await releaseStaleEndpoints(manager);
  for (const id of toStart) {
    try {
      await manager.start(id);
      result.restarted++;
    } catch (e) {
      log(`container ${id}: could not be started again: ${(e as Error).message}`);
    }
  }
  return result;
}

/**
 * A daemon killed while starting a container may have connected it to its networks without
 * recording it: endpoints (and a sandbox) of a container that is not running, or is gone, are
 * released, or its next start would find its name already taken on the network.
 */
async function releaseStaleEndpoints(manager: ContainerManager): Promise<void> {
  const { network, log } = manager.deps;
  const live = (id: string): boolean => {
    const s = manager.records.get(id)?.state.status;
    return s === 'running' || s === 'paused';
  };
  const stale = new Set<string>();
  for (const n of network.list()) {
    for (const id of Object.keys(n.endpoints)) {
      if (live(id)) continue;
      stale.add(id);
      await network.disconnect(n.name, id).catch((e: unknown) => log(`releasing ${id} from ${n.name}: ${(e as Error).message}`));
    }
  }
  // A sandbox made just before the kill, with no endpoint yet.
  for (const record of manager.records.values()) {
    if (!live(record.id) && existsSync(join(manager.deps.paths.netns, record.id))) stale.add(record.id);
  }
  for (const id of stale) {
    await network.unpublish(id).catch(() => undefined);
    await network.removeSandbox(id).catch(() => undefined);
    const record = manager.records.get(id);
    if (record && (record.state.sandbox !== undefined || Object.keys(record.state.endpoints).length > 0)) {
      delete record.state.sandbox;
      record.state.endpoints = {};
      await manager.save(record);
    }
  }
}
