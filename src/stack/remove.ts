/**
 * Removing a stack as `docker stack rm` does: its services (by name), secrets, configs, then
 * networks, everything found by the stack's label; a failure is reported and the rest still
 * removed. Unlike it, a network still used by tasks that are stopping is tried again for a while
 * instead of failing, and with `wait` the tasks are waited for before the networks go.
 */
import type { SwarmCluster } from '../contract/swarm.js';
import { isTerminal } from '../contract/swarm.js';
import { EngineError } from '../contract/errors.js';
import { namespaceFilter } from './names.js';
import { byteOrder } from './service-spec.js';

export interface RemoveOptions {
  /** Wait until the stack's tasks have stopped (then its networks are surely free). */
  wait: boolean;
  report: (line: string) => void;
  problem: (line: string) => void;
  /** How long a network in use is tried again (default 30 s). */
  networkRetryMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function removeStack(cluster: SwarmCluster, stack: string, options: RemoveOptions): Promise<'removed' | 'empty' | 'failed'> {
  const label = [namespaceFilter(stack)];
  const [services, secrets, configs, networks] = await Promise.all([
    cluster.listServices({ labels: label }),
    cluster.listSecrets({ labels: label }),
    cluster.listConfigs({ labels: label }),
    cluster.listNetworks({ labels: label }),
  ]);
  const swarmNetworks = networks.filter((n) => n.scope === 'swarm');
  if (services.length + secrets.length + configs.length + swarmNetworks.length === 0) return 'empty';
  let failed = false;
  const attempt = async (kind: string, name: string, fn: () => Promise<void>) => {
    options.report(`Removing ${kind} ${name}`);
    try {
      await fn();
    } catch (e) {
      // Gone meanwhile (or being removed already): what was asked for.
      if (e instanceof EngineError && (e.kind === 'not-found' || /not found/i.test(e.message))) return;
      failed = true;
      options.problem(`Failed to remove ${kind} ${name}: ${(e as Error).message}`);
    }
  };
  for (const s of [...services].sort((a, b) => byteOrder(a.spec.name, b.spec.name))) await attempt('service', s.spec.name, () => cluster.removeService(s.id));
  for (const s of secrets) await attempt('secret', s.name, () => cluster.removeSecret(s.id));
  for (const c of configs) await attempt('config', c.name, () => cluster.removeConfig(c.id));
  if (options.wait && services.length > 0) await waitForTasksGone(cluster, services.map((s) => s.id));
  const retryMs = options.networkRetryMs ?? 30_000;
  for (const n of swarmNetworks) {
    await attempt('network', n.name, async () => {
      const started = Date.now();
      for (;;) {
        try {
          await cluster.removeNetwork(n.id);
          return;
        } catch (e) {
          // Tasks of the removed services may still be attached while they stop.
          if (!(e instanceof EngineError && e.kind === 'conflict') || Date.now() - started > retryMs) throw e;
          await sleep(500);
        }
      }
    });
  }
  if (options.wait) await waitForNetworksGone(cluster, swarmNetworks.map((n) => n.id));
  return failed ? 'failed' : 'removed';
}

/** The swarm keeps a removed network until its last task has stopped. */
async function waitForNetworksGone(cluster: SwarmCluster, ids: string[], timeoutMs = 120_000): Promise<void> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    const left = await Promise.all(ids.map((id) => cluster.inspectNetwork(id)));
    if (left.every((n) => n === null)) return;
    await sleep(500);
  }
}

/** Until no task of these (removed) services is still running or about to. */
export async function waitForTasksGone(cluster: SwarmCluster, serviceIds: string[], timeoutMs = 120_000): Promise<void> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    // Filtered here: the swarm refuses a filter naming a service that no longer exists.
    const tasks = (await cluster.listTasks()).filter((t) => serviceIds.includes(t.serviceId));
    if (tasks.every((t) => isTerminal(t.state))) return;
    await sleep(500);
  }
}
