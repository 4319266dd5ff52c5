/**
 * A container's /etc/hosts and /etc/resolv.conf, as Docker writes them, and the in-place write the
 * bind mounts need: the container keeps the file's inode, so a rename would never be seen
 * (pitfall 12). The file is overwritten from the start and then cut to length, never left empty.
 */
import type { ExtraHostSpec } from '../../contract/engine.js';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { isIpv4 } from './ipv4.js';
import { isLoopback, type ResolvConf } from './dns/upstreams.js';
import type { NameSettings } from './types.js';

const LOCALHOST_LINES = [
  '127.0.0.1\tlocalhost',
  '::1\tlocalhost ip6-localhost ip6-loopback',
  'fe00::0\tip6-localnet',
  'ff00::0\tip6-mcastprefix',
  'ff02::1\tip6-allnodes',
  'ff02::2\tip6-allrouters',
];

/** Docker's fallback when the host has no nameserver a container can use. */
export const FALLBACK_NAMESERVERS = ['8.8.8.8', '8.8.4.4'];

export interface HostsInput {
  settings: NameSettings;
  /** The container's own addresses, primary first. */
  addresses: string[];
  /** What "host-gateway" in extra_hosts stands for. */
  hostGateway: string | null;
  /** Host network mode: the host's own /etc/hosts content replaces the localhost lines. */
  hostHostsFile?: string;
}

/** "name:ip" (the address may contain colons) → "ip\tname". */
function extraHostLine(entry: ExtraHostSpec, hostGateway: string | null): string | null {
  if (entry.host === '') return null;
  const name = entry.host;
  let address = entry.ip;
  if (address === 'host-gateway') {
    if (!hostGateway) return null;
    address = hostGateway;
  }
  return `${address}\t${name}`;
}

export function renderHosts(input: HostsInput): string {
  const { settings } = input;
  const lines = input.hostHostsFile !== undefined ? input.hostHostsFile.split('\n').filter((l) => l.length > 0) : [...LOCALHOST_LINES];
  for (const entry of settings.extraHosts) {
    const line = extraHostLine(entry, input.hostGateway);
    if (line) lines.push(line);
  }
  if (input.hostHostsFile === undefined && settings.hostname) {
    const names = settings.domainname ? `${settings.hostname}.${settings.domainname} ${settings.hostname}` : settings.hostname;
    for (const address of input.addresses) lines.push(`${address}\t${names}`);
  }
  return lines.join('\n') + '\n';
}

export interface ResolvInput {
  settings: NameSettings;
  host: ResolvConf;
  /** The gateway of the container's first network with the embedded DNS, if any. */
  embeddedDns: string | null;
  /** Host network mode: the host's resolvers as they are, loopback ones included. */
  hostNetwork: boolean;
}

export function renderResolvConf(input: ResolvInput): string {
  const { settings, host } = input;
  const search = settings.dnsSearch.length > 0 ? settings.dnsSearch : host.search;
  const options = settings.dnsOptions.length > 0 ? [...settings.dnsOptions] : [...host.options];
  let nameservers: string[];
  if (input.embeddedDns) {
    // The embedded DNS forwards to the container's dns: servers (or the host's) itself.
    nameservers = [input.embeddedDns];
    if (!options.some((o) => o.startsWith('ndots:'))) options.push('ndots:0');
  } else if (settings.dns.length > 0) {
    nameservers = settings.dns;
  } else if (input.hostNetwork) {
    nameservers = host.nameservers;
  } else {
    nameservers = host.nameservers.filter((n) => isIpv4(n) && !isLoopback(n));
    if (nameservers.length === 0) nameservers = FALLBACK_NAMESERVERS;
  }
  const lines: string[] = [];
  if (search.length > 0) lines.push(`search ${search.join(' ')}`);
  for (const n of nameservers) lines.push(`nameserver ${n}`);
  if (options.length > 0) lines.push(`options ${options.join(' ')}`);
  return lines.join('\n') + '\n';
}

/** Rewrites `path` in place (same inode; created if missing). */
export async function writeInPlace(path: string, content: string): Promise<void> {
  const data = Buffer.from(content);
  const file = await open(path, constants.O_RDWR | constants.O_CREAT, 0o644);
  try {
    await file.write(data, 0, data.length, 0);
    await file.truncate(data.length);
  } finally {
    await file.close();
  }
}
