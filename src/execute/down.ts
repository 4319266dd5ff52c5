/**
 * `down`: observe what the project runs, plan its teardown (src/plan/down.ts: containers with
 * their dependants first, then networks, volumes with -v, images with --rmi) and walk it.
 * Networks and volumes are found by the project's label, so ones left by an earlier version of
 * the file go too; external ones are never touched.
 */
import { projectFilter } from '../plan/labels.js';
import { orphansOf } from '../plan/up.js';
import { planDown, type DownOptions } from '../plan/down.js';
import { ANONYMOUS_VOLUME } from './containers.js';
import { observeContainers } from './observe.js';
import { failOnErrors, runPlan } from './run-plan.js';
import type { ProjectRuntime } from './runtime.js';

export type { DownOptions } from '../plan/down.js';

export async function down(rt: ProjectRuntime, opts: DownOptions): Promise<void> {
  const { engine, deployment } = rt;
  const [containers, networks, volumes] = await Promise.all([
    observeContainers(engine, deployment.name),
    engine.listNetworks(projectFilter(deployment.name)),
    engine.listVolumes(projectFilter(deployment.name)),
  ]);
  const orphans = orphansOf(deployment, containers);
  if (orphans.length > 0 && !opts.removeOrphans) {
    rt.diagnostics.warn(
      `Found orphan containers (${orphans.map((o) => o.name).join(', ')}) for this project. If you removed or renamed this service ` +
        'in your compose file, you can run this command with the --remove-orphans flag to clean it up.',
    );
  }
  // Anonymous volumes to remove after their containers (with -v): read before they go.
  const anonymousVolumes = new Set<string>();
  if (opts.volumes) {
    const infos = await Promise.all(containers.map((c) => rt.limiter.run(() => engine.inspectContainer(c.id))));
    for (const info of infos) for (const m of info?.mounts ?? []) if (m.type === 'volume' && m.name && ANONYMOUS_VOLUME.test(m.name)) anonymousVolumes.add(m.name);
  }
  const plan = planDown(deployment, { containers, networks, volumes, anonymousVolumes: [...anonymousVolumes] }, opts);
  failOnErrors(await runPlan(rt, plan));
}
