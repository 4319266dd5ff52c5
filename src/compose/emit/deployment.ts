/**
 * The compiler's last stage: the Compose-shaped project (what `config` prints) made into the typed
 * Deployment every later stage reads (src/model/). Values `up` cannot use are collected as
 * problems, located by key path, next to those docker-compose's `up` refuses (./problems.ts).
 */
import { setOwn } from '../../util/own.js';
import type { Deployment, DeployProblem } from '../../model/deployment.js';
import type { Network } from '../../model/resources.js';
import type { ComposeProject } from '../document.js';
import { attachedNetworks } from './networks.js';
import { deployProblems } from './problems.js';
import { notActedOn, unsetSources } from './not-acted-on.js';
import { emitFileObject, emitNetwork, emitVolume } from './resources.js';
import { emitService } from './service.js';

export interface EmitOptions {
  /** Where the command runs: docker-compose reads seccomp profiles relative to it. */
  cwd: string;
  /** The project's variables (shell, .env), for secrets and configs from `environment`. */
  variable?: (name: string) => string | undefined;
}

export function emitDeployment(project: ComposeProject, options: EmitOptions): Deployment {
  const variable = options.variable ?? (() => undefined);
  const problems: DeployProblem[] = [...deployProblems(project), ...unsetSources(project, variable)];
  const services = project.services.map((s) =>
    emitService(project, s, options.cwd, (keyPath, message) => problems.push({ service: s.name, keyPath, message })),
  );
  const networks: Record<string, Network> = {};
  for (const [key, def] of Object.entries(project.networks)) setOwn(networks, key, emitNetwork(project, key, def));
  // The implicit default network, when a service joins it.
  if (!networks['default'] && project.services.some((s) => attachedNetworks(project, s).some((n) => n.key === 'default'))) {
    networks['default'] = emitNetwork(project, 'default', {});
  }
  const deployment: Deployment = {
    name: project.name,
    workingDir: project.workingDir,
    configFiles: project.configFiles,
    legacy: project.format === 'v1',
    services,
    networks,
    volumes: Object.fromEntries(Object.entries(project.volumes).map(([k, d]) => [k, emitVolume(project, k, d)])),
    secrets: Object.fromEntries(Object.entries(project.secrets).map(([k, d]) => [k, emitFileObject(project, k, d, variable)])),
    configs: Object.fromEntries(Object.entries(project.configs).map(([k, d]) => [k, emitFileObject(project, k, d, variable)])),
    problems,
    notActedOn: notActedOn(project),
  };
  if (project.environmentFile !== undefined) deployment.environmentFile = project.environmentFile;
  return deployment;
}
