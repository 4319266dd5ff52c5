/**
 * A service's dependencies as docker-compose 1.29.2 reads them: the services it names in
 * `depends_on` (with a condition), `links`, `volumes_from` and `network_mode`/`pid`/`ipc:
 * service:NAME`; and the services of a project in that order (cycles refused, named).
 */
import type { Dependency } from '../model/service.js';
import { dependencyOrder } from '../graph/dependencies.js';
import type { ComposeService } from './document.js';
import { serviceReference } from './service/validate.js';

/** Everything `service` needs before it, in a stable order; a service named twice is listed once per kind. */
export function dependenciesOf(service: ComposeService): Dependency[] {
  const out: Dependency[] = [];
  for (const [on, dep] of Object.entries(service.depends_on ?? {})) out.push({ service: on, kind: 'depends_on', condition: dep.condition });
  for (const link of service.links ?? []) {
    out.push({ service: link.split(':')[0] ?? link, kind: 'links', condition: 'service_started' });
  }
  for (const vf of service.volumes_from ?? []) {
    if (vf.type === 'service') out.push({ service: vf.source, kind: 'volumes_from', condition: 'service_started' });
  }
  for (const kind of ['network_mode', 'pid', 'ipc'] as const) {
    const on = serviceReference(service[kind]);
    if (on !== undefined) out.push({ service: on, kind, condition: 'service_started' });
  }
  return out;
}

/** Services after everything they depend on (docker-compose's order otherwise); a cycle is a DependencyCycleError. */
export function orderServices(services: readonly ComposeService[]): ComposeService[] {
  return dependencyOrder(services, (s) => ({
    name: s.name,
    // docker-compose also orders by `volumes_from: container:NAME` when NAME is a service (its
    // sort ignores the type), so a cycle through one is refused as it refuses it.
    after: [...dependenciesOf(s).map((d) => d.service), ...(s.volumes_from ?? []).filter((v) => v.type === 'container').map((v) => v.source)],
  }));
}
