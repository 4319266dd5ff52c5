/** The Engine contract against dockerd (unix:///var/run/docker.sock). */
import { DockerEngine } from '../../src/engine/docker/index.js';
import { requireDocker } from '../helpers/docker.js';
import { ensureBusybox, startRegistry } from '../helpers/images.js';
import { engineContract } from './contract.js';

engineContract(
  'docker',
  async () => {
    ensureBusybox();
    return new DockerEngine({ env: {} });
  },
  {
    available: (t) => requireDocker(t),
    makeUnreachable: async () => new DockerEngine({ host: 'unix:///nonexistent/flotilla-ct/docker.sock', env: {} }),
    startRegistry,
  },
);
