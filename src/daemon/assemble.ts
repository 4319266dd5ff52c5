/**
 * The daemon's parts put together: image store, volumes, networks, runtime, container manager,
 * and the DaemonEngine the server exposes. Opening order matters: stores first, then the network
 * (bridges, rules and DNS recreated from saved state), then the containers, adopted last.
 */
import { adoptContainers, bootChanged, recordBoot } from './containers/adopt.js';
import { rotateContainerLogs } from './containers/log-rotation.js';
import { ContainerManager } from './containers/manager.js';
import { BuildService } from './build/service.js';
import { DaemonEngine } from './engine.js';
import { EventBus } from './events.js';
import { RegistryService, registrySettingsFrom } from './registry/service.js';
import { ImageStore } from './images/store.js';
import type { AssembledDaemon, DaemonHooks } from './main.js';
import { NetworkManager } from './network/manager.js';
import type { DaemonPaths } from './paths.js';
import { Runtime } from './runtime/runtime.js';
import { serveDaemon } from './server.js';
import { spreadSubdirectories } from './state/spread-dirs.js';
import { VolumeStore } from './volumes/store.js';
import { SwarmCore } from '../swarm/core.js';
import { SwarmStore } from '../swarm/store.js';
import { swarmNodeConfigFrom } from './swarm-config.js';
import { readDaemonJson } from './daemon-json.js';
import { imageLimitsFrom } from './image-limits.js';
import { join } from 'node:path';

export async function assembleDaemon(paths: DaemonPaths, log: (line: string) => void, requestShutdown: () => void): Promise<AssembledDaemon> {
  // daemon.json first: a bad setting stops the start before any container is adopted or restarted.
  const config = await readDaemonJson(paths);
  const registrySettings = registrySettingsFrom(config);
  const swarmNode = swarmNodeConfigFrom(config);
  const imageLimits = imageLimitsFrom(config);
  // So is a damaged swarm store (src/swarm/store.ts says when it is damaged rather than torn).
  const swarmStore = new SwarmStore(join(paths.root, 'swarm'));
  swarmStore.open();
  const rebooted = bootChanged(paths);
  if (rebooted) log('the machine restarted since the last daemon ran: cleaning runtime state');
  await spreadSubdirectories(
    [
      { path: paths.containers, mode: 0o700 },
      { path: paths.runcRoot, mode: 0o700 },
      { path: paths.ctr, mode: 0o755 },
    ],
    log,
  );
  const images = new ImageStore(paths, { limits: imageLimits, warn: (m) => log(`images: ${m}`) });
  const volumes = new VolumeStore(paths, log);
  const events = new EventBus();
  const network = new NetworkManager(paths, log);
  const runtime = new Runtime(paths, log);
  await images.open();
  await volumes.open();
  await network.init();
  const containers = new ContainerManager({ paths, images, network, runtime, volumes, events, log });
  try {
    await containers.open();
    const adopted = await adoptContainers(containers, rebooted);
    log(`adopted ${adopted.adopted} running containers, recorded ${adopted.exited} exits, restarted ${adopted.restarted}, ${adopted.restarting} more restarting by policy`);
    containers.reportUnheldPorts();
    await recordBoot(paths);
  } catch (e) {
    // What was opened is closed again, so the failed daemon exits (containers keep running).
    containers.close();
    await network.close();
    swarmStore.close();
    throw e;
  }
  const registry = new RegistryService(images, registrySettings);
  const builder = new BuildService(paths, network, images, log, async (ref, credentials, progress) => {
    await registry.pull(ref, progress, { credentials });
  });
  const backend = new DaemonEngine({ paths, images, registry, containers, volumes, events, builder, startedAt: new Date().toISOString(), requestShutdown });
  // The swarm core runs its tasks through the engine itself, as a client would.
  const swarm = new SwarmCore(swarmStore, backend, swarmNode, log, network);
  swarm.open();
  backend.swarmCore = swarm;
  return {
    backend,
    tick: async () => {
      await rotateContainerLogs(containers);
      await containers.holdPortsAgain();
    },
    close: async () => {
      swarm.close();
      containers.close();
      await network.close();
      await runtime.releaseCgroupParent();
    },
  };
}

/** What `flotilla daemon` runs with (src/daemon/main.ts). */
export const daemonHooks: DaemonHooks = {
  checkHost: (paths, log) => new Runtime(paths, log).checkHost(),
  assemble: assembleDaemon,
  serve: (backend, socket) => serveDaemon(backend, socket),
};
