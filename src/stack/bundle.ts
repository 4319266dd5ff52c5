/**
 * A .dab bundle compiled into a stack as Docker 1.12's `docker deploy` deployed it, with the fixes
 * of later releases: each service `<stack>_<name>` with the bundle's image (by digest), Command
 * (the entrypoint), Args, Env, Labels (of the service), WorkingDir and User (1.12 honoured them;
 * 1.13 dropped them by mistake), its ports exposed without a published port (the swarm picks
 * one), one replica; each network an overlay `<stack>_<name>` in which the service answers to
 * its own name (1.13 gave the network's name by mistake); containers labelled with the stack
 * (1.13). Networks go in the task template, not in the field Docker 1.12 used (deprecated since,
 * and impossible to update).
 */
import { resolve } from 'node:path';
import type { PortConfig, ServiceSpec } from '../contract/swarm.js';
import type { Diagnostics } from '../diagnostics.js';
import { readBundle } from '../bundle/read.js';
import { ConfigError } from '../errors.js';
import { familiarTagged } from './image-ref.js';
import { scope, serviceNameProblem, withNamespace } from './names.js';
import { byteOrder } from './service-spec.js';
import type { StackSpec } from './spec.js';

export interface BundleOptions {
  stack: string;
  cwd: string;
  diagnostics: Diagnostics;
}

export function compileBundle(path: string, options: BundleOptions): StackSpec {
  const file = resolve(options.cwd, path);
  const bundle = readBundle(file, options.diagnostics);
  const { stack } = options;
  const networks = new Set<string>();
  const names = Object.keys(bundle.Services).sort(byteOrder);
  const services = names.map((name) => {
    const b = bundle.Services[name];
    if (!b) throw new Error(`bundle service ${name} vanished`);
    const problem = serviceNameProblem(stack, name);
    if (problem) throw new ConfigError(problem, { file, path: `Services.${name}` });
    const ports = (b.Ports ?? []).map((p): PortConfig => {
      const protocol = (p.Protocol || 'tcp').toLowerCase();
      return { protocol: protocol === 'udp' || protocol === 'sctp' ? protocol : 'tcp', target: p.Port, mode: 'ingress' };
    });
    const spec: ServiceSpec = {
      name: scope(stack, name),
      labels: withNamespace(stack, b.Labels),
      task: { container: { image: familiarTagged(b.Image), labels: withNamespace(stack, undefined) } },
      mode: { kind: 'replicated' },
      endpoint: ports.length > 0 ? { ports } : {},
    };
    const c = spec.task.container;
    if (b.Command && b.Command.length > 0) c.command = [...b.Command];
    if (b.Args && b.Args.length > 0) c.args = [...b.Args];
    if (b.Env && b.Env.length > 0) c.env = [...b.Env];
    if (b.WorkingDir) c.dir = b.WorkingDir;
    if (b.User) c.user = b.User;
    if (b.Networks && b.Networks.length > 0) {
      spec.task.networks = [...new Set(b.Networks)].map((n) => ({ target: scope(stack, n), aliases: [name] })).sort((x, y) => byteOrder(x.target, y.target));
      for (const n of b.Networks) networks.add(n);
    }
    return { name, spec, dependsOn: [] };
  });
  return {
    name: stack,
    services,
    networks: [...networks].sort(byteOrder).map((n) => ({ name: scope(stack, n), labels: withNamespace(stack, undefined), driver: 'overlay' })),
    externalNetworks: [],
    secrets: [],
    externalSecrets: [],
    configs: [],
    externalConfigs: [],
  };
}
