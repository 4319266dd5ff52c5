/**
 * A container's network at start and stop: its own namespace joined to each of its networks
 * (the first one carries the default route and the published ports), the host's, or another
 * container's (`network_mode: container:x` / `service:x`). Torn down when the container stops for
 * good; a restart by policy keeps it, and with it the container's addresses.
 */
import { EngineError } from '../../contract/errors.js';
import { DEFAULT_NETWORK, type EndpointView, type NetworkPort, type PortRequest } from './collaborators.js';
import type { ContainerRecord, EndpointState } from './record.js';

export interface NetworkContext {
  network: NetworkPort;
  container(ref: string): ContainerRecord | null;
}

export type NetworkPlan =
  | { kind: 'host' }
  | { kind: 'none' }
  | { kind: 'container'; ref: string }
  | { kind: 'networks'; names: string[] };

export function networkPlan(record: ContainerRecord): NetworkPlan {
  const mode = record.spec.networkMode;
  if (mode === 'host') return { kind: 'host' };
  if (mode === 'none') return { kind: 'none' };
  if (mode.startsWith('container:')) return { kind: 'container', ref: mode.slice('container:'.length) };
  const primary = mode === 'bridge' || mode === 'default' || mode === '' ? DEFAULT_NETWORK : mode;
  const names = Object.keys(record.spec.networks);
  if (names.length === 0) return { kind: 'networks', names: [primary] };
  return { kind: 'networks', names: names.includes(primary) ? [primary, ...names.filter((n) => n !== primary)] : names };
}

/** The container another one shares its network with, which must be running. */
export function networkOwner(record: ContainerRecord, ctx: NetworkContext): ContainerRecord | null {
  const plan = networkPlan(record);
  if (plan.kind !== 'container') return null;
  const other = ctx.container(plan.ref);
  if (!other) throw new EngineError('not-found', `No such container: ${plan.ref}`);
  if (other.state.status !== 'running' && other.state.status !== 'paused') {
    throw new EngineError('conflict', `cannot join network of a non running container: ${other.id}`);
  }
  return other;
}

/** Sets up the container's network; records the sandbox, endpoints and published ports in `record.state`. */
export async function attachNetworks(record: ContainerRecord, ctx: NetworkContext): Promise<void> {
  const plan = networkPlan(record);
  const state = record.state;
  if (plan.kind === 'host') {
    state.sandbox = 'host';
    return;
  }
  if (plan.kind === 'container') {
    const owner = networkOwner(record, ctx) as ContainerRecord;
    state.sandbox = owner.state.sandbox ?? 'host';
    return;
  }
  if (state.sandbox && Object.keys(state.endpoints).length > 0) return; // kept across a restart by policy
  if (plan.kind === 'none') {
    state.sandbox = await ctx.network.createSandbox(record.id);
    return;
  }
  try {
    let sandbox: string | null = null;
    for (const name of plan.names) {
      const net = ctx.network.get(name);
      if (!net) throw new EngineError('not-found', `network ${name} not found`);
      const wanted = record.spec.networks[name];
      const request = {
        containerName: record.name,
        aliases: wanted?.aliases ?? [],
        ...(wanted?.ipv4Address ? { ipv4Address: wanted.ipv4Address } : {}),
      };
      let endpoint: EndpointView;
      if (sandbox === null) {
        // The first network's veth is made by the process that makes the namespace.
        const made = await ctx.network.createConnectedSandbox(record.id, net.name, request);
        sandbox = state.sandbox = made.sandbox;
        endpoint = made.endpoint;
      } else {
        endpoint = await ctx.network.connect(net.name, record.id, sandbox, request);
      }
      state.endpoints[net.name] = { ...endpoint, networkId: net.id } satisfies EndpointState;
    }
    const requests = portRequests(record);
    if (requests.length > 0) {
      const published = await ctx.network.publish(record.id, plan.names[0] as string, requests);
      state.ports = {};
      for (const p of published) {
        const key = `${p.containerPort}/${p.protocol}`;
        (state.ports[key] ??= []).push({ hostIp: p.hostIp === '' ? '0.0.0.0' : p.hostIp, hostPort: String(p.hostPort) });
      }
    }
  } catch (e) {
    await detachNetworks(record, ctx);
    throw e;
  }
}

export async function detachNetworks(record: ContainerRecord, ctx: NetworkContext): Promise<void> {
  const state = record.state;
  const own = state.sandbox !== undefined && state.sandbox !== 'host' && networkPlan(record).kind !== 'container';
  if (own) {
    await ctx.network.unpublish(record.id);
    for (const name of Object.keys(state.endpoints)) {
      await ctx.network.disconnect(name, record.id).catch(() => undefined);
    }
    await ctx.network.removeSandbox(record.id);
  }
  state.endpoints = {};
  state.ports = {};
  delete state.sandbox;
}

function portRequests(record: ContainerRecord): PortRequest[] {
  const out: PortRequest[] = [];
  for (const [key, bindings] of Object.entries(record.spec.portBindings)) {
    const [port = '', proto = 'tcp'] = key.split('/');
    if (proto !== 'tcp' && proto !== 'udp') throw new EngineError('invalid', `protocol ${proto} is not supported by the embedded engine (tcp, udp)`);
    const [start, end] = port.split('-').map(Number);
    for (const b of bindings) {
      if (end !== undefined && start !== undefined) {
        // A container range maps onto a host range of the same length, port by port.
        const [hostStart] = b.hostPort.split('-').map(Number);
        for (let p = start; p <= end; p++) {
          const hostPort = hostStart === undefined || Number.isNaN(hostStart) ? '' : String(hostStart + (p - start));
          out.push({ containerPort: p, protocol: proto, hostIp: b.hostIp, hostPort });
        }
      } else {
        out.push({ containerPort: Number(port), protocol: proto, hostIp: b.hostIp, hostPort: b.hostPort });
      }
    }
  }
  return out;
}
