/**
 * A bundle as a Project, the way Docker deployed one: `Command` replaces the image's entrypoint,
 * `Args` its command, `Labels` are labels of the service (deploy.labels in Compose terms), `Ports`
 * are exposed container ports only (a bundle never publishes host ports), each of `Networks` is a
 * network of the stack.
 */
import { setOwn } from '../util/own.js';
import { basename, dirname, resolve } from 'node:path';
import type { Diagnostics } from '../diagnostics.js';
import type { EnvValue, ComposeNetwork, ComposeProject, ComposeService } from '../compose/document.js';
import { normaliseProjectName } from '../compose/discover.js';
import { readBundle } from './read.js';
import type { Bundle, BundleService } from './types.js';

function serviceFromBundle(name: string, b: BundleService): ComposeService {
  const s: ComposeService = { name, image: b.Image };
  if (b.Command) s.entrypoint = b.Command;
  if (b.Args) s.command = b.Args;
  if (b.Env) {
    const env: Record<string, EnvValue> = {};
    for (const entry of b.Env) {
      const eq = entry.indexOf('=');
      if (eq === -1) setOwn(env, entry, null);
      else setOwn(env, entry.slice(0, eq), entry.slice(eq + 1));
    }
    s.environment = env;
  }
  if (b.Labels) s.deploy = { labels: { ...b.Labels } };
  if (b.Ports && b.Ports.length > 0) {
    s.expose = b.Ports.map((p) => {
      const proto = (p.Protocol || 'tcp').toLowerCase();
      return proto === 'tcp' ? String(p.Port) : `${p.Port}/${proto}`;
    });
  }
  if (b.WorkingDir !== undefined) s.working_dir = b.WorkingDir;
  if (b.User !== undefined) s.user = b.User;
  if (b.Networks && b.Networks.length > 0) s.networks = Object.fromEntries(b.Networks.map((n) => [n, null]));
  return s;
}

export function bundleToProject(bundle: Bundle, name: string, file: string): ComposeProject {
  const services = Object.entries(bundle.Services)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([n, s]) => serviceFromBundle(n, s));
  const networks: Record<string, ComposeNetwork> = {};
  for (const s of services) for (const n of Object.keys(s.networks ?? {})) setOwn(networks, n, {});
  return {
    name,
    workingDir: dirname(file),
    configFiles: [file],
    format: 'v3',
    version: '3.9',
    services,
    networks,
    volumes: {},
    secrets: {},
    configs: {},
  };
}

export interface BundleLoadOptions {
  cwd: string;
  projectName?: string | undefined;
}

/** Reads FILE.dab into a Project named by -p, else by the file name (as `docker deploy` named stacks). */
export function loadBundleProject(path: string, options: BundleLoadOptions, diagnostics: Diagnostics): ComposeProject {
  const file = resolve(options.cwd, path);
  const bundle = readBundle(file, diagnostics);
  const stem = basename(file).replace(/\.dab$/, '');
  const name = normaliseProjectName(options.projectName ?? stem, dirname(file));
  return bundleToProject(bundle, name, file);
}
