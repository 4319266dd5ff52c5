/**
 * The resolved project as Compose data, shaped like docker-compose 1.29.2's `config` output: ports
 * as mappings (or "ip:host:container/proto" strings when bound to an address, and always in v1),
 * short-syntax volumes as "source:target:mode", healthcheck durations in one unit, `$` written
 * `$$` (so the output can be read back without interpolating again).
 */
import { setOwn } from '../util/own.js';
import type { ComposePort, ComposeProject, ComposeService, ComposeVolumeEntry, ComposeVolumesFrom } from './document.js';
import { formatNanos } from './syntax/duration.js';
import { legacyPortString } from './syntax/ports.js';
import { shortVolumeString } from './syntax/volumes.js';

type Dict = Record<string, unknown>;

export interface SerializeOptions {
  /** Write every `$` as `$$` (off for `config --no-interpolate`, where `$` is still a template). */
  escapeDollar: boolean;
  /** The project name, printed first (Compose v2 prints it; only for files that declare one). */
  name?: string;
}

function portOut(p: ComposePort, legacy: boolean): unknown {
  const named = p.name !== undefined || p.app_protocol !== undefined;
  if (legacy || (p.host_ip && !named)) return legacyPortString(p);
  const out: Dict = { target: p.target };
  if (p.published !== undefined) out['published'] = p.published;
  if (p.protocol !== undefined) out['protocol'] = p.protocol;
  if (p.mode !== undefined) out['mode'] = p.mode;
  // A port with the Spec's name or app_protocol is printed long, as v2 prints it, to keep them.
  if (p.host_ip !== undefined) out['host_ip'] = p.host_ip;
  if (p.name !== undefined) out['name'] = p.name;
  if (p.app_protocol !== undefined) out['app_protocol'] = p.app_protocol;
  return out;
}

function volumeOut(v: ComposeVolumeEntry): unknown {
  if (v.shortMode !== undefined) return shortVolumeString(v);
  const out: Dict = { type: v.type };
  if (v.source) out['source'] = v.source;
  if (v.target) out['target'] = v.target;
  if (v.read_only) out['read_only'] = v.read_only;
  if (v.consistency) out['consistency'] = v.consistency;
  for (const k of ['bind', 'volume', 'tmpfs'] as const) if (v[k]) out[k] = v[k];
  return out;
}

function volumesFromOut(v: ComposeVolumesFrom): string {
  return `${v.type}:${v.source}:${v.mode}`;
}

export function serviceOut(s: ComposeService, legacy: boolean): Dict {
  const out: Dict = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === 'name' || v === undefined) continue;
    out[k] = v;
  }
  if (legacy && out['network_mode'] === undefined) out['network_mode'] = 'bridge';
  if (s.ports) out['ports'] = s.ports.map((p) => portOut(p, legacy));
  if (s.volumes) out['volumes'] = s.volumes.map(volumeOut);
  if (s.volumes_from) out['volumes_from'] = s.volumes_from.map(volumesFromOut);
  if (s.healthcheck) {
    const hc: Dict = { ...s.healthcheck };
    for (const f of ['interval', 'timeout', 'start_period', 'start_interval']) if (typeof hc[f] === 'number') hc[f] = formatNanos(hc[f] as number);
    out['healthcheck'] = hc;
  }
  return out;
}

/** The whole project as docker-compose's `config` prints it (before YAML). */
export function projectToCompose(project: ComposeProject, options: SerializeOptions): Dict {
  const legacy = project.format === 'v1';
  const out: Dict = {
    ...(options.name !== undefined ? { name: options.name } : {}),
    version: project.version,
    services: Object.fromEntries(project.services.map((s) => [s.name, serviceOut(s, legacy)])),
  };
  for (const key of ['networks', 'volumes', 'secrets', 'configs'] as const) {
    if (Object.keys(project[key]).length > 0) out[key] = project[key];
  }
  for (const [k, v] of Object.entries(project.extensions ?? {})) out[k] = v;
  return options.escapeDollar ? escapeDollars(out) as Dict : out;
}

const escape = (s: string): string => (s.includes('$') ? s.replace(/\$/g, '$$$$') : s);

/** `v` with every `$` doubled; parts without one are shared, not copied (the output is only printed). */
function escapeDollars(v: unknown): unknown {
  if (typeof v === 'string') return escape(v);
  if (Array.isArray(v)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const item = escapeDollars(v[i]);
      if (item !== v[i]) (out ??= [...v])[i] = item;
    }
    return out ?? v;
  }
  if (v && typeof v === 'object') {
    const source = v as Dict;
    const keys = Object.keys(source);
    // Anything but a plain mapping is copied into one, as it always was; a plain one only from
    // its first key or value that changes.
    let out: Dict | undefined = Object.getPrototypeOf(v) === Object.prototype ? undefined : {};
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i] as string;
      const key = escape(k);
      const item = escapeDollars(source[k]);
      if (!out && (key !== k || item !== source[k])) {
        out = {};
        for (const earlier of keys.slice(0, i)) setOwn(out, earlier, source[earlier]);
      }
      if (out) setOwn(out, key, item);
    }
    return out ?? v;
  }
  return v;
}
