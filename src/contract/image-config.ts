/**
 * An image's "config" object, as dockerd returns it and as image archives store it (Docker's
 * and OCI's field names), in the Engine interface's shape. Both backends read images this way:
 * the Docker backend from the Engine API, the embedded engine from its image store.
 */
import type { HealthcheckSpec, ImageInfo, PortSpec, PortProtocol } from './engine.js';

export interface ImageConfigJson {
  Env?: string[] | null;
  Cmd?: string[] | null;
  Entrypoint?: string[] | null;
  WorkingDir?: string;
  User?: string;
  ExposedPorts?: Record<string, object> | null;
  Volumes?: Record<string, object> | null;
  StopSignal?: string;
  Labels?: Record<string, string> | null;
  Healthcheck?: { Test?: string[] | null; Interval?: number; Timeout?: number; StartPeriod?: number; StartInterval?: number; Retries?: number } | null;
}

/** An image's own health check; none when it has no test. */
function imageHealthcheck(h: ImageConfigJson['Healthcheck']): HealthcheckSpec | undefined {
  if (!h || !h.Test || h.Test.length === 0) return undefined;
  return { test: h.Test, interval: h.Interval ?? 0, timeout: h.Timeout ?? 0, startPeriod: h.StartPeriod ?? 0, retries: h.Retries ?? 0 };
}

/** An ExposedPorts key of the image config format ("80/tcp", "53/udp", "8080" for tcp); null when it is none. */
export function parsePortKey(key: string): PortSpec | null {
  const m = /^(\d+)(?:\/(tcp|udp|sctp))?$/i.exec(key);
  if (!m) return null;
  return { port: Number(m[1]), protocol: (m[2]?.toLowerCase() ?? 'tcp') as PortProtocol };
}

export function imageConfigInfo(c: ImageConfigJson): ImageInfo['config'] {
  const config: ImageInfo['config'] = {
    env: c.Env ?? [],
    cmd: c.Cmd ?? null,
    entrypoint: c.Entrypoint ?? null,
    workingDir: c.WorkingDir ?? '',
    user: c.User ?? '',
    exposedPorts: Object.keys(c.ExposedPorts ?? {}).map(parsePortKey).filter((p): p is PortSpec => p !== null),
    volumes: Object.keys(c.Volumes ?? {}),
  };
  if (c.StopSignal) config.stopSignal = c.StopSignal;
  const hc = imageHealthcheck(c.Healthcheck);
  if (hc) config.healthcheck = hc;
  return config;
}
