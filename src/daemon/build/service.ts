/**
 * `buildImage` of the embedded engine: the Engine's BuildRequest turned into a build. The context
 * directory is walked with its .dockerignore (as the Docker CLI walks it) and copied into the
 * builder's kept copy of that context (./context.ts: only what changed since the last build is
 * copied and hashed), the Dockerfile is read (even when .dockerignore names it, as BuildKit
 * does), and the builder's output goes to the progress sink line by line.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, posix, resolve } from 'node:path';
import type { BuildRequest, ProgressSink } from '../../engine/engine.js';
import { EngineError } from '../../engine/errors.js';
import { BuildContextError, contextEntries } from '../../util/build-context.js';
import type { NetworkPort } from '../containers/collaborators.js';
import type { DaemonPaths } from '../paths.js';
import { Builder } from './builder.js';
import { ContextCopies } from './context.js';
import { DockerfileError } from './dockerfile/errors.js';
import { buildImageStore, type StoreForBuilds } from './store-port.js';

export class BuildService {
  private readonly builder: Builder;
  private readonly dir: string;
  private readonly contexts: ContextCopies;

  constructor(paths: DaemonPaths, network: NetworkPort, store: StoreForBuilds, log?: (line: string) => void) {
    this.dir = posix.join(paths.root, 'build');
    this.contexts = new ContextCopies(posix.join(this.dir, 'contexts'));
    this.builder = new Builder({ dir: this.dir, runcRoot: paths.runcRoot, cgroupParent: paths.cgroupParent, network, images: buildImageStore(store), ...(log ? { log } : {}) });
  }

  async build(request: BuildRequest, progress?: ProgressSink): Promise<string> {
    if (/^[a-z]+:\/\//i.test(request.context) || request.context.startsWith('git@')) {
      throw new EngineError('invalid', `${request.context}: the embedded engine builds from a local directory only`);
    }
    const dockerfilePath = resolve(request.context, request.dockerfile || 'Dockerfile');
    const shown = isAbsolute(request.dockerfile) ? request.dockerfile : request.dockerfile || 'Dockerfile';
    let text: string;
    try {
      text = await readFile(dockerfilePath, 'utf8');
    } catch (e) {
      throw new EngineError('invalid', `cannot read the Dockerfile ${dockerfilePath}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
    const entries = await contextEntries(request.context, {}).catch((e: unknown) => {
      throw e instanceof BuildContextError ? new EngineError('invalid', e.message) : e;
    });
    const out = (line: string) => progress?.({ status: line });
    try {
      const { id } = await this.builder.build(
        {
          context: '',
          dockerfile: shown,
          dockerfileText: text,
          tags: request.tags,
          buildArgs: request.args,
          labels: request.labels,
          ...(request.target ? { target: request.target } : {}),
          noCache: request.noCache === true,
          extraHosts: request.extraHosts,
          shmSize: request.shmSize ?? 0,
          ...(request.network ? { network: request.network } : {}),
          secrets: {},
        },
        out,
        undefined,
        (work) => this.contexts.acquire(resolve(request.context), entries, work),
      );
      return id;
    } catch (e) {
      if (e instanceof DockerfileError) throw new EngineError(e.failedStep ? 'engine' : 'invalid', e.located);
      throw e;
    }
  }
}
