/**
 * A loaded Compose project compiled into a stack (./spec.ts), as `docker stack deploy` (Docker CLI
 * 28) compiles it: the networks the services use (the stack's `default` network for services that
 * name none), every secret and config the file declares (their contents read now), and one
 * ServiceSpec per service (./service-spec.ts). External networks, secrets and configs are only
 * collected here; the plan checks that they exist.
 */
import { readFileSync } from 'node:fs';
import type { ConfigSpec, NetworkSpec, SecretSpec } from '../contract/swarm.js';
import type { Diagnostics } from '../diagnostics.js';
import { ConfigError, ErrorList, type SourceLocation } from '../errors.js';
import type { ComposeNetwork, ComposeProject, ComposeSecret } from '../compose/document.js';
import { serviceNameProblem, topLevelName, withNamespace } from './names.js';
import { byteOrder, serviceSpec } from './service-spec.js';
import { ServiceDefinitionError, type StackService, type StackSpec } from './spec.js';

export interface CompileOptions {
  stack: string;
  diagnostics: Diagnostics;
  /** Where a key of a service is written. */
  locateService: (service: string, keyPath: (string | number)[]) => SourceLocation;
  /** Where a top-level key is written (`["secrets", "token", "file"]`). */
  locate?: (keyPath: (string | number)[]) => SourceLocation;
  /** `--ordered`: depends_on is used, so it is not warned about. */
  ordered?: boolean;
}

function stringMap(v: unknown): Record<string, string> | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, x === null || x === undefined ? '' : String(x)]));
}

function networkSpec(stack: string, key: string, n: ComposeNetwork): NetworkSpec {
  const spec: NetworkSpec = { name: topLevelName(stack, key, n), labels: withNamespace(stack, n.labels), driver: n.driver || 'overlay' };
  const options = stringMap(n.driver_opts);
  if (options) spec.options = options;
  if (n.internal) spec.internal = true;
  if (n.attachable) spec.attachable = true;
  const ipam = n.ipam as { driver?: unknown; config?: unknown } | undefined;
  const configs = Array.isArray(ipam?.config) ? (ipam.config as { subnet?: unknown }[]) : [];
  if (ipam && (typeof ipam.driver === 'string' || configs.length > 0)) {
    spec.ipam = { subnets: configs.flatMap((c) => (typeof c?.subnet === 'string' ? [c.subnet] : [])) };
    if (typeof ipam.driver === 'string' && ipam.driver !== '') spec.ipam.driver = ipam.driver;
  }
  return spec;
}

function fileObject(stack: string, key: string, kind: 'secrets' | 'configs', c: ComposeSecret, where: (p: (string | number)[]) => SourceLocation | undefined): SecretSpec {
  const spec: SecretSpec = { name: topLevelName(stack, key, c), labels: withNamespace(stack, c.labels), data: Buffer.alloc(0) };
  const driver = typeof c['driver'] === 'string' && c['driver'] !== '' ? c['driver'] : undefined;
  if (driver !== undefined && kind === 'secrets') {
    if (c.file !== undefined) throw new ConfigError(`secret ${key}: set only one of driver and file`, where([kind, key]));
    spec.driver = { name: driver };
    const options = stringMap(c['driver_opts']);
    if (options) spec.driver.options = options;
  } else {
    if (c.file === undefined) throw new ConfigError(`${kind === 'secrets' ? 'secret' : 'config'} ${key} needs a file (or external: true)`, where([kind, key]));
    try {
      spec.data = readFileSync(c.file);
    } catch (e) {
      throw new ConfigError(`cannot read ${c.file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`, where([kind, key, 'file']));
    }
  }
  if (typeof c['template_driver'] === 'string' && c['template_driver'] !== '') spec.templateDriver = c['template_driver'];
  return spec;
}

export function compileStack(project: ComposeProject, options: CompileOptions): StackSpec {
  const { stack, diagnostics } = options;
  const where = (p: (string | number)[]) => options.locate?.(p);
  const errors: ConfigError[] = [];
  const services: StackService[] = [];
  const ctx = { stack, project, diagnostics, locate: options.locateService };
  for (const s of project.services) {
    try {
      const nameProblem = serviceNameProblem(stack, s.name);
      if (nameProblem) throw new ServiceDefinitionError(s.name, [], nameProblem);
      const dependsOn = Object.keys(s.depends_on ?? {});
      if (dependsOn.length > 0 && !options.ordered) {
        diagnostics.warn('ignoring "depends_on": services start in any order (--ordered deploys in depends_on order)', options.locateService(s.name, ['depends_on']));
      }
      services.push({ name: s.name, spec: serviceSpec(s, ctx), dependsOn });
    } catch (e) {
      if (e instanceof ServiceDefinitionError) errors.push(new ConfigError(e.message, options.locateService(e.service, e.keyPath)));
      else throw e;
    }
  }
  if (errors.length > 0) throw errors.length === 1 ? errors[0] : new ErrorList(errors);
  services.sort((a, b) => byteOrder(a.name, b.name));

  // The networks services use, each once: the default one included when a service names none.
  const used = new Set<string>();
  for (const s of project.services) {
    const names = Object.keys(s.networks ?? {});
    if (names.length === 0) used.add('default');
    for (const n of names) used.add(n);
  }
  const networks: NetworkSpec[] = [];
  const externalNetworks: string[] = [];
  for (const key of [...used].sort(byteOrder)) {
    const n = project.networks[key] ?? {};
    if (n.external) externalNetworks.push(topLevelName(stack, key, n));
    else networks.push(networkSpec(stack, key, n));
  }

  const objects = (kind: 'secrets' | 'configs') => {
    const specs: SecretSpec[] = [];
    const external: string[] = [];
    for (const key of Object.keys(project[kind]).sort(byteOrder)) {
      const c = project[kind][key] as ComposeSecret;
      if (c.external) external.push(topLevelName(stack, key, c));
      else specs.push(fileObject(stack, key, kind, c, where));
    }
    return { specs, external };
  };
  const secrets = objects('secrets');
  const configs = objects('configs');
  return {
    name: stack,
    services,
    networks,
    externalNetworks,
    secrets: secrets.specs,
    externalSecrets: secrets.external,
    configs: configs.specs.map((c): ConfigSpec => {
      const out: ConfigSpec = { name: c.name, labels: c.labels, data: c.data };
      if (c.templateDriver) out.templateDriver = c.templateDriver;
      return out;
    }),
    externalConfigs: configs.external,
  };
}
