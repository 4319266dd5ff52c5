/**
 * Port mappings. Short syntax: `[[host_ip:][host_port[-end]]:]container_port[-end][/protocol]`,
 * expanded into one ComposePort per container port, as docker-compose does ("8000-8001:80-81" is
 * two mappings; "8000-8010:80" is one mapping with a host port range).
 *
 * Stricter than docker-compose 1.29.2 (deliberately): the host IP must be an IP address (1.29.2
 * reads "80:80:80" as host "80"), ports must be 1-65535 (0 allowed for the host side) and a range
 * must not run backwards (1.29.2 silently drops "90-80").
 */
import { isIP } from '../../util/ip.js';
import type { ComposePort } from '../document.js';

export class PortSyntaxError extends Error {}

const SHORT =
  /^(?:(?:\[?([a-fA-F\d.:]+?)\]?:)?(\d*)(?:-(\d+))?:)?(\d+)(?:-(\d+))?(?:\/(udp|tcp|sctp))?$/;

const SHORT_FORM = '[[host_ip:]host_port[-end]:]container_port[-end][/protocol]';

function portNumber(text: string, spec: string, allowZero: boolean): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n > 65535 || (n === 0 && !allowZero)) {
    throw new PortSyntaxError(`"${spec}" is not a valid port: ${text} is out of range 1-65535`);
  }
  return n;
}

function range(start: string, end: string | undefined, spec: string, allowZero: boolean): number[] {
  const a = portNumber(start, spec, allowZero);
  if (end === undefined) return [a];
  const b = portNumber(end, spec, allowZero);
  if (b < a) throw new PortSyntaxError(`"${spec}" is not a valid port: the range ${start}-${end} runs backwards`);
  const out: number[] = [];
  for (let p = a; p <= b; p++) out.push(p);
  return out;
}

/** Parses one short-syntax entry (a string, or a bare number). */
export function parseShortPort(entry: string | number): ComposePort[] {
  const spec = String(entry);
  const m = SHORT.exec(spec);
  if (!m) throw new PortSyntaxError(`"${spec}" is not a valid port (expected ${SHORT_FORM})`);
  const [, host, extStart, extEnd, intStart = '', intEnd, proto] = m;
  if (host !== undefined && isIP(host) === 0) {
    throw new PortSyntaxError(`"${spec}" is not a valid port: "${host}" is not an IP address (expected ${SHORT_FORM})`);
  }
  const internal = range(intStart, intEnd, spec, false);
  const base: Omit<ComposePort, 'target'> = {};
  if (proto) base.protocol = proto;
  if (host) base.host_ip = host;

  if (extStart === '' && host === undefined) {
    // ":8000" (often an unset variable before the colon): no host port, and no address either.
    throw new PortSyntaxError(`"${spec}" is not a valid port: the host port before ":" is empty`);
  }
  if (extStart === undefined || extStart === '') {
    if (extEnd !== undefined) throw new PortSyntaxError(`"${spec}" is not a valid port (expected ${SHORT_FORM})`);
    return internal.map((target) => ({ target, ...base }));
  }
  if (extEnd !== undefined && internal.length === 1) {
    // One container port served from any free host port of a range: kept as a "start-end" string.
    range(extStart, extEnd, spec, true);
    return [{ target: internal[0] as number, published: `${extStart}-${extEnd}`, ...base }];
  }
  const external = range(extStart, extEnd, spec, true);
  if (external.length !== internal.length) {
    throw new PortSyntaxError(`"${spec}" is not a valid port: the host and container port ranges differ in length`);
  }
  return internal.map((target, i) => ({ target, published: external[i] as number, ...base }));
}

/** Long syntax (`{target, published, protocol, mode}`), already type-checked by the schema. */
export function parseLongPort(entry: Record<string, unknown>): ComposePort {
  const out: ComposePort = { target: entry['target'] as number };
  if (entry['published'] !== undefined && entry['published'] !== null) out.published = entry['published'] as number;
  if (typeof entry['protocol'] === 'string') out.protocol = entry['protocol'];
  if (typeof entry['mode'] === 'string') out.mode = entry['mode'];
  if (typeof entry['host_ip'] === 'string') out.host_ip = entry['host_ip'];
  // The Spec's (version-less files only: the other schemas refuse them).
  if (typeof entry['name'] === 'string') out.name = entry['name'];
  if (typeof entry['app_protocol'] === 'string') out.app_protocol = entry['app_protocol'];
  if (typeof out.target === 'number' && (out.target < 1 || out.target > 65535)) {
    throw new PortSyntaxError(`target ${out.target} is out of range 1-65535`);
  }
  return out;
}

export function parsePort(entry: unknown): ComposePort[] {
  if (typeof entry === 'string' || typeof entry === 'number') return parseShortPort(entry);
  return [parseLongPort(entry as Record<string, unknown>)];
}

/** The short form docker-compose prints for a mapping with a host IP: "127.0.0.1:8080:80/tcp". */
export function legacyPortString(p: ComposePort): string {
  const ip = p.host_ip ? `${p.host_ip}:` : '';
  const pub = p.published !== undefined ? String(p.published) : '';
  const sep = p.published !== undefined || p.host_ip ? ':' : '';
  return `${ip}${pub}${sep}${p.target}/${p.protocol ?? 'tcp'}`;
}

/** Identity of a mapping when several files list ports: the same key replaces, a new key adds. */
export function portKey(p: ComposePort): string {
  return JSON.stringify([p.target, p.published ?? null, p.host_ip ?? null, p.protocol ?? null]);
}

const EXPOSE = /^\d+(?:-\d+)?(?:\/[a-zA-Z]+)?$/;

export function checkExpose(entry: string | number): void {
  if (typeof entry === 'string' && !EXPOSE.test(entry)) {
    throw new PortSyntaxError(`"${entry}" is not a valid exposed port (expected PORT[-END][/PROTOCOL])`);
  }
}
