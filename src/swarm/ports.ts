/**
 * The ports a service publishes, as the swarm keeps them (Docker's Endpoint.Ports): ingress ports
 * get a published port from swarmkit's dynamic range when the spec leaves it out (the one picked
 * before is kept across updates), and no two services publish the same ingress port.
 */
import { EngineError } from '../contract/errors.js';
import type { PortConfig, Service, ServiceSpec } from '../contract/swarm.js';

const DYNAMIC_FIRST = 30000;
const DYNAMIC_LAST = 32767;

const key = (protocol: string, port: number) => `${protocol}/${port}`;

/** `self`: the service's id when it is updated (its own ports are not in the way); `previous`: its ports until now. */
export function publishPorts(spec: ServiceSpec, self: string | undefined, services: readonly Service[], previous: readonly PortConfig[]): PortConfig[] {
  const taken = new Map<string, Service>();
  for (const s of services) {
    if (s.id === self) continue;
    for (const p of s.endpointPorts) if (p.mode === 'ingress' && p.published) taken.set(key(p.protocol, p.published), s);
  }
  const mine = new Set<string>();
  const free = (protocol: string, port: number) => !taken.has(key(protocol, port)) && !mine.has(key(protocol, port));
  const out: PortConfig[] = [];
  for (const p of spec.endpoint?.ports ?? []) {
    if (p.mode === 'host') {
      out.push({ ...p });
      continue;
    }
    let published = p.published;
    if (published) {
      const other = taken.get(key(p.protocol, published));
      if (other) throw new EngineError('invalid', `port '${published}' is already in use by service '${other.spec.name}' (${other.id}) as an ingress port`);
      if (mine.has(key(p.protocol, published))) throw new EngineError('invalid', `duplicate published ports provided: ${published}/${p.protocol}`);
    } else {
      published = previous.find((x) => x.mode === 'ingress' && x.protocol === p.protocol && x.target === p.target && x.published && free(p.protocol, x.published))?.published;
      for (let port = DYNAMIC_FIRST; !published && port <= DYNAMIC_LAST; port++) if (free(p.protocol, port)) published = port;
      if (!published) throw new EngineError('resource', `no ${p.protocol} port left in the dynamic range ${DYNAMIC_FIRST}-${DYNAMIC_LAST}`);
    }
    mine.add(key(p.protocol, published));
    out.push({ ...p, published });
  }
  return out;
}
