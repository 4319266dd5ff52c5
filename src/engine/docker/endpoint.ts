/**
 * Where the Docker engine is: `-H` / DOCKER_HOST (unix://, tcp://, host:port) and the TLS
 * variables (DOCKER_TLS_VERIFY, DOCKER_CERT_PATH), resolved into docker-modem's options.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type DockerModem from 'docker-modem';
import { readInputFile } from '../../util/input-files.js';
import { EngineError } from '../../contract/errors.js';

export const DEFAULT_SOCKET = '/var/run/docker.sock';

export interface DockerEndpoint {
  /** How messages name the engine: `unix:///var/run/docker.sock`, `tcp://10.0.0.2:2376`. */
  address: string;
  transport: 'unix' | 'http' | 'https';
  socketPath?: string;
  host?: string;
  port?: number;
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
}

export interface EndpointOptions {
  /** `-H`: wins over DOCKER_HOST. */
  host?: string;
  env?: Readonly<Record<string, string | undefined>>;
}

/** docker-compose's reading of a boolean variable (DOCKER_TLS_VERIFY=0 means off). */
function truthy(value: string | undefined): boolean {
  return value !== undefined && value !== '' && !['0', 'false', 'no', 'off'].includes(value.toLowerCase());
}

export function resolveEndpoint(options: EndpointOptions = {}): DockerEndpoint {
  const env = options.env ?? process.env;
  const raw = (options.host ?? env['DOCKER_HOST'] ?? '').trim();
  if (raw === '' || raw === 'unix://') return { address: `unix://${DEFAULT_SOCKET}`, transport: 'unix', socketPath: DEFAULT_SOCKET };
  if (raw.startsWith('unix://')) return { address: raw, transport: 'unix', socketPath: raw.slice('unix://'.length) };
  if (raw.startsWith('/')) return { address: `unix://${raw}`, transport: 'unix', socketPath: raw };
  if (raw.startsWith('ssh://')) throw new EngineError('unreachable', `${raw}: ssh:// Docker hosts are not supported; use unix:// or tcp://`);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) && !/^(tcp|http|https):\/\//i.test(raw)) {
    throw new EngineError('unreachable', `${raw}: unsupported Docker host (use unix:///path or tcp://host:port)`);
  }
  let url: URL;
  try {
    url = new URL(/^[a-z]+:\/\//i.test(raw) ? raw.replace(/^(tcp|http|https):/i, 'http:') : `http://${raw}`);
  } catch {
    throw new EngineError('unreachable', `${raw}: not a valid Docker host (use unix:///path or tcp://host:port)`);
  }
  const tlsVerify = truthy(env['DOCKER_TLS_VERIFY']) || /^https:/i.test(raw);
  const port = url.port !== '' ? Number(url.port) : tlsVerify ? 2376 : 2375;
  // An IPv6 address keeps its brackets: docker-modem puts the host into a URL.
  const host = url.hostname;
  const address = `tcp://${url.hostname}:${port}`;
  if (!tlsVerify) return { address, transport: 'http', host, port };
  return { address, transport: 'https', host, port, tls: readCertificates(env['DOCKER_CERT_PATH'] || join(homedir(), '.docker'), address) };
}

function readCertificates(dir: string, address: string): NonNullable<DockerEndpoint['tls']> {
  const read = (name: string, required: boolean): Buffer | undefined => {
    if (!required && !existsSync(join(dir, name))) return undefined;
    try {
      return readInputFile(join(dir, name), 'TLS file');
    } catch (e) {
      throw new EngineError('unreachable', `cannot connect to the Docker engine at ${address}: cannot read ${join(dir, name)} (DOCKER_CERT_PATH): ${(e as Error).message}`);
    }
  };
  const tls: NonNullable<DockerEndpoint['tls']> = {};
  const ca = read('ca.pem', true);
  const cert = read('cert.pem', false);
  const key = read('key.pem', false);
  if (ca) tls.ca = ca;
  if (cert) tls.cert = cert;
  if (key) tls.key = key;
  return tls;
}

/** docker-modem's constructor options for an endpoint (everything explicit: see client.ts). */
export function modemOptions(endpoint: DockerEndpoint): DockerModem.ConstructorOptions & { pathPrefix?: string } {
  if (endpoint.transport === 'unix') {
    return { socketPath: endpoint.socketPath, host: undefined, port: undefined, protocol: 'http', ca: undefined, cert: undefined, key: undefined };
  }
  return {
    socketPath: undefined,
    host: endpoint.host,
    port: endpoint.port,
    protocol: endpoint.transport,
    pathPrefix: '/',
    ca: endpoint.tls?.ca,
    cert: endpoint.tls?.cert,
    key: endpoint.tls?.key,
  };
}
