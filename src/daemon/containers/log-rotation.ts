/**
 * conmon only appends to a container's log; the daemon rotates it at the service's
 * `logging.options.max-size`, keeping `max-file` files, checked every few seconds.
 */
import { logSettings } from './log-settings.js';
import type { ContainerManager } from './manager.js';

export async function rotateContainerLogs(manager: ContainerManager): Promise<void> {
  for (const record of manager.records.values()) {
    if (record.state.status !== 'running' && record.state.status !== 'paused') continue;
    let settings: ReturnType<typeof logSettings>;
    try {
      settings = logSettings(record.spec);
    } catch {
      continue; // refused when the container was created; nothing to rotate
    }
    if (!settings?.maxSize) continue;
    await manager.deps.runtime
      .rotateLogs(record.id, manager.logPath(record.id), settings.maxSize, settings.maxFiles ?? 1)
      .catch((e: unknown) => manager.deps.log(`rotating the log of ${record.name}: ${(e as Error).message}`));
  }
}
