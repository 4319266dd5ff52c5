/**
 * A container's network at start and stop: its own namespace joined to each of its networks
 * (the first one carries the default route and the published ports), the host's, or another
 * container's (`network_mode: container:x` / `service:x`). Torn down when the container stops for
 * good; a restart by policy keeps it, and with it the container's addresses.
 */
import { EngineError } from '../../contract/errors.js';
import { DEFAULT_NETWORK, type EndpointView, type NetworkPort } from './collaborators.js';
import type { PortRequest } from '../network/types.js';
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
  if (mode.kind === 'host' || mode.kind === 'none') return { kind: mode.kind };
  if (mode.kind === 'container') return { kind: 'container', ref: mode.container };
  // The first network is the primary; none named: the default network.
  const names = Object.keys(record.spec.networks);
  return { kind: 'networks', names: names.length === 0 ? [DEFAULT_NETWORK] : names };
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
      state.ports = published.map((p) => ({ containerPort: p.containerPort, protocol: p.protocol, hostIp: p.hostIp === '' ? '0.0.0.0' : p.hostIp, hostPort: p.hostPort }));
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
    await ctx.network.removeSandbox(record.id); // its endpoints with it
  }
  state.endpoints = {};
  state.ports = [];
  delete state.sandbox;
}

function portRequests(record: ContainerRecord): PortRequest[] {
  return record.spec.publishedPorts.map((p) => {
    const protocol = p.protocol;
    if (protocol !== 'tcp' && protocol !== 'udp') throw new EngineError('invalid', `protocol ${protocol} is not supported by the embedded engine (tcp, udp)`);
    const request: PortRequest = { containerPort: p.containerPort, protocol, hostIp: p.hostIp };
    if (p.hostPorts) request.hostPorts = p.hostPorts;
    return request;
  });
}
