/**
 * The host's resolver configuration: where unknown names are forwarded, and what containers
 * without the embedded DNS get in their resolv.conf. A systemd-resolved stub (127.0.0.53) is
 * replaced by the real upstreams from /run/systemd/resolve/resolv.conf.
 */
import { readFile } from 'node:fs/promises';
import { isIpv4 } from '../ipv4.js';

export interface ResolvConf {
  nameservers: string[];
  search: string[];
  options: string[];
}

export interface Upstream {
  host: string;
  port: number;
}

export const SYSTEMD_RESOLVED_STUB = '127.0.0.53';
export const SYSTEMD_RESOLVED_UPSTREAMS = '/run/systemd/resolve/resolv.conf';

export function parseResolvConf(text: string): ResolvConf {
  const conf: ResolvConf = { nameservers: [], search: [], options: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const [key, ...values] = line.split(/\s+/);
    if (key === 'nameserver' && values[0]) conf.nameservers.push(values[0]);
    else if (key === 'search' || key === 'domain') conf.search = values;
    else if (key === 'options') conf.options.push(...values);
  }
  return conf;
}

export async function readHostResolvConf(path: string): Promise<ResolvConf> {
  let conf = parseResolvConf(await readFile(path, 'utf8').catch(() => ''));
  if (conf.nameservers.includes(SYSTEMD_RESOLVED_STUB)) {
    const real = parseResolvConf(await readFile(SYSTEMD_RESOLVED_UPSTREAMS, 'utf8').catch(() => ''));
    if (real.nameservers.length > 0) conf = { ...conf, nameservers: real.nameservers };
  }
  return conf;
}

/** "10.0.0.1" or "10.0.0.1:5353" → Upstream; IPv6 and names are skipped (null). */
export function parseUpstream(text: string): Upstream | null {
  const m = /^([0-9.]+)(?::(\d+))?$/.exec(text.trim());
  if (!m || !isIpv4(m[1]!)) return null;
  const port = m[2] ? Number(m[2]) : 53;
  return port > 0 && port < 65536 ? { host: m[1]!, port } : null;
}

export function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1';
}
