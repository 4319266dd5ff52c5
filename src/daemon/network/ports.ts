/**
 * Host port reservations. The daemon holds a listening TCP socket (or a bound UDP socket) on
 * every published host port, so another program cannot take it and a second publish fails as
 * Docker's does ("port is already allocated"). Traffic never reaches these sockets: DNAT sends it
 * to the container first. A connection that does arrive (an address DNAT does not cover) is
 * closed at once rather than left hanging. A port another program holds fails as Docker's
 * userland proxy does ("address already in use").
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { EngineError } from '../../contract/errors.js';
import { isIpv4 } from './ipv4.js';
import type { PortRequest } from './types.js';

/** Ports held by reservations of this process: `tcp/1.2.3.4:80`. */
const held = new Set<string>();
const heldKey = (protocol: string, ip: string, port: number) => `${protocol}/${ip}:${port}`;

export interface Reservation {
  protocol: 'tcp' | 'udp';
  hostIp: string;
  hostPort: number;
  close(): Promise<void>;
}

async function bindTcp(host: string, port: number): Promise<{ port: number; close: () => Promise<void> }> {
  const server: Server = createServer((c) => c.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, backlog: 1, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', () => undefined);
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  return { port: bound, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

async function bindUdp(host: string, port: number): Promise<{ port: number; close: () => Promise<void> }> {
  const socket: UdpSocket = createSocket({ type: 'udp4' });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ address: host, port, exclusive: true }, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  socket.on('error', () => undefined);
  socket.on('message', () => undefined);
  return { port: socket.address().port, close: () => new Promise<void>((resolve) => socket.close(() => resolve())) };
}

type Bound = { port: number; close: () => Promise<void> };

/**
 * A port the kernel picks, but not one a container keeps without a socket: such picks stay bound
 * while the kernel is asked again (so it moves on), then are let go.
 */
async function bindEphemeral(bind: (host: string, port: number) => Promise<Bound>, host: string, recorded: (port: number) => boolean): Promise<Bound> {
  const skipped: Bound[] = [];
  try {
    for (let attempt = 0; attempt < 64; attempt++) {
      const bound = await bind(host, 0);
      if (!recorded(bound.port)) return bound;
      skipped.push(bound);
    }
    throw Object.assign(new Error('no free port'), { code: 'EADDRINUSE' });
  } finally {
    await Promise.all(skipped.map((b) => b.close()));
  }
}

/** No range or port 0 → [0] (ephemeral); a range → the ports to try in order; null when it is not one. */
export function candidatePorts(range: { start: number; end: number } | undefined): number[] | null {
  if (range === undefined || (range.start === 0 && range.end === 0)) return [0];
  const { start: first, end: last } = range;
  if (!Number.isInteger(first) || !Number.isInteger(last) || first < 1 || last > 65535 || last < first) return null;
  const out: number[] = [];
  for (let p = first; p <= last; p++) out.push(p);
  return out;
}

/** Whether a port is recorded as published to a container (protocol, host address, port). */
export type RecordedPort = (protocol: 'tcp' | 'udp', hostIp: string, port: number) => boolean;

/** Whether two host addresses overlap: the same, or either is every address (0.0.0.0). */
export function addressesOverlap(a: string, b: string): boolean {
  return a === b || a === '0.0.0.0' || b === '0.0.0.0';
}

/**
 * Reserves a host port for the request: the given one, the first free one of a range, or an
 * ephemeral one chosen by the kernel. A port `recorded` says is published to another container
 * is allocated even when no socket of ours holds it (after a daemon crash, another program may
 * have taken it before the daemon could hold it again): it is never given twice.
 */
export async function reserve(request: PortRequest, recorded: RecordedPort = () => false): Promise<Reservation> {
  const hostIp = request.hostIp === '' ? '0.0.0.0' : request.hostIp;
  if (!isIpv4(hostIp)) throw new EngineError('invalid', `invalid host address ${request.hostIp} for port ${request.containerPort}/${request.protocol}: only IPv4 is supported by the embedded engine`);
  const ports = candidatePorts(request.hostPorts);
  const asked = request.hostPorts === undefined ? '0' : request.hostPorts.start === request.hostPorts.end ? String(request.hostPorts.start) : `${request.hostPorts.start}-${request.hostPorts.end}`;
  if (!ports) throw new EngineError('invalid', `invalid host port ${JSON.stringify(asked)} for port ${request.containerPort}/${request.protocol}`);
  const bind = request.protocol === 'udp' ? bindUdp : bindTcp;
  let lastError: NodeJS.ErrnoException | null = null;
  for (const port of ports) {
    if (port !== 0 && recorded(request.protocol, hostIp, port)) {
      if (ports.length === 1) throw new EngineError('resource', `Bind for ${hostIp}:${port} failed: port is already allocated`);
      continue;
    }
    try {
      const bound = port === 0 ? await bindEphemeral(bind, hostIp, (p) => recorded(request.protocol, hostIp, p)) : await bind(hostIp, port);
      const key = heldKey(request.protocol, hostIp, bound.port);
      held.add(key);
      return {
        protocol: request.protocol,
        hostIp,
        hostPort: bound.port,
        close: async () => {
          held.delete(key);
          await bound.close();
        },
      };
    } catch (e) {
      lastError = e as NodeJS.ErrnoException;
      if (lastError.code !== 'EADDRINUSE' && lastError.code !== 'EACCES') break;
    }
  }
  const where = `${hostIp}:${asked}`;
  if (lastError?.code === 'EADDRINUSE') {
    const single = ports.length === 1 && ports[0] !== 0 ? ports[0] : undefined;
    const ours = single === undefined || [...held].some((k) => k.startsWith(`${request.protocol}/`) && k.endsWith(`:${single}`));
    // A port none of our reservations holds (on any address) is another program's.
    if (!ours) throw new EngineError('resource', `Error starting userland proxy: listen ${request.protocol}4 ${hostIp}:${single}: bind: address already in use`);
    throw new EngineError('resource', `Bind for ${where} failed: port is already allocated`);
  }
  throw new EngineError('resource', `Bind for ${where} failed: ${lastError?.message ?? 'unknown error'}`);
}
