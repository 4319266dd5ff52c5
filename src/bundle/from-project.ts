/**
 * Compose project → .dab, with the rules of the `docker-compose bundle` command (1.8–1.25):
 * - kept: image (pinned by digest), command/entrypoint (entrypoint + command become `Command`;
 *   command alone becomes `Args`; strings are split like a shell), environment (entries with an
 *   empty value dropped), labels, working_dir, user, networks (names only; `network_mode` means
 *   none; no `networks` means ["default"]), container ports of `ports` and `expose`;
 * - `build` is ignored silently; every other key warns "Unsupported key ... - ignoring", as do
 *   per-network options and non-empty top-level networks/volumes.
 * Images that are not pinned are resolved through a DigestResolver; if any cannot be, one error
 * lists the services to push and the services to pull.
 */
import { setOwn } from '../util/own.js';
import { ConfigError } from '../errors.js';
import type { Diagnostics } from '../diagnostics.js';
import type { ComposePort, ComposeProject, ComposeService } from '../compose/document.js';
import { splitShellWords, ShellWordsError } from '../util/shell-words.js';
import { pinnedDigest, type DigestResolver } from './digests.js';
import { BUNDLE_VERSION, type Bundle, type BundlePort, type BundleService } from './types.js';

const SUPPORTED = new Set(['image', 'ports', 'expose', 'networks', 'command', 'environment', 'entrypoint', 'working_dir', 'user', 'labels']);
const IGNORED = new Set(['build', 'name']);

function words(v: string | string[] | undefined, service: string, key: string): string[] {
  if (v === undefined) return [];
  if (Array.isArray(v)) return v;
  try {
    return splitShellWords(v);
  } catch (e) {
    if (e instanceof ShellWordsError) throw new ConfigError(`services.${service}.${key}: ${e.message}`);
    throw e;
  }
}

function portSpecs(service: ComposeService): BundlePort[] {
  const specs: BundlePort[] = [];
  const add = (port: number, protocol: string) => {
    if (!specs.some((s) => s.Port === port && s.Protocol === protocol)) specs.push({ Protocol: protocol, Port: port });
  };
  for (const p of service.ports ?? ([] as ComposePort[])) add(p.target, p.protocol ?? 'tcp');
  for (const e of service.expose ?? []) {
    const [range = '', proto] = String(e).split('/');
    const [start = '', end] = range.split('-');
    for (let port = Number(start); port <= Number(end ?? start); port++) add(port, proto || 'tcp');
  }
  return specs;
}

function serviceNetworks(service: ComposeService, warn: (m: string) => void): string[] {
  if (service.network_mode !== undefined) return [];
  const networks = service.networks ?? { default: null };
  for (const [net, options] of Object.entries(networks)) {
    for (const key of Object.keys(options ?? {})) warn(`Unsupported key '${key}' in services.${service.name}.networks.${net} - ignoring`);
  }
  return Object.keys(networks);
}

function convertService(service: ComposeService, image: string, legacy: boolean, warn: (m: string) => void): BundleService {
  const out: BundleService = { Image: image };
  for (const key of Object.keys(service)) {
    if (IGNORED.has(key) || service[key] === undefined) continue;
    if (!SUPPORTED.has(key)) warn(`Unsupported key '${key}' in services.${service.name} - ignoring`);
  }
  // v1 services are bridge-networked (docker-compose printed `network_mode: bridge` for them).
  if (legacy && service.network_mode === undefined) warn(`Unsupported key 'network_mode' in services.${service.name} - ignoring`);
  if (service.environment) {
    // Empty values (and unset pass-through variables) are dropped, as docker-compose did.
    const env = Object.entries(service.environment).filter(([, v]) => v !== null && v !== '' && v !== 0);
    out.Env = env.map(([k, v]) => `${k}=${String(v)}`);
  }
  if (service.labels) out.Labels = { ...service.labels };
  if (service.working_dir !== undefined) out.WorkingDir = service.working_dir;
  if (service.user !== undefined) out.User = service.user;
  const entrypoint = words(service.entrypoint, service.name, 'entrypoint');
  const command = words(service.command, service.name, 'command');
  if (entrypoint.length > 0) out.Command = [...entrypoint, ...command];
  else if (command.length > 0) out.Args = command;
  out.Networks = legacy && service.network_mode === undefined ? [] : serviceNetworks(service, warn);
  const ports = portSpecs(service);
  if (ports.length > 0) out.Ports = ports;
  return out;
}

export async function projectToBundle(project: ComposeProject, resolver: DigestResolver, diagnostics: Diagnostics): Promise<Bundle> {
  const warn = (m: string) => diagnostics.warn(m);
  const images = new Map<string, string>();
  const needsPush: ComposeService[] = [];
  const needsPull: ComposeService[] = [];
  for (const service of project.services) {
    if (!service.image) {
      throw new ConfigError(
        `service '${service.name}' has no image: a bundle names every image, pinned by digest; set "image" (e.g. registry/${service.name}:tag)`,
      );
    }
    const pinned = pinnedDigest(service.image);
    if (pinned) {
      images.set(service.name, pinned);
      continue;
    }
    const result = await resolver.resolve(service);
    if (result.kind === 'digest') images.set(service.name, result.reference);
    else (result.kind === 'needs-push' ? needsPush : needsPull).push(service);
  }
  if (needsPush.length > 0 || needsPull.length > 0) {
    const list = (services: ComposeService[]) => services.map((s) => `${s.name} (${s.image})`).join(', ');
    const parts: string[] = [];
    if (needsPush.length > 0) parts.push(`to push (flotilla push, or bundle --push-images): ${list(needsPush)}`);
    if (needsPull.length > 0) parts.push(`to pull (flotilla pull): ${list(needsPull)}`);
    throw new ConfigError(`some images are not pinned by digest; ${parts.join('; ')}`);
  }
  if (Object.keys(project.networks).length > 0) warn("Unsupported top level key 'networks' - ignoring");
  if (Object.keys(project.volumes).length > 0) warn("Unsupported top level key 'volumes' - ignoring");
  const legacy = project.format === 'v1';
  const services: Record<string, BundleService> = {};
  for (const s of project.services) setOwn(services, s.name, convertService(s, images.get(s.name) as string, legacy, warn));
  return { Version: BUNDLE_VERSION, Services: services };
}
