/**
 * `buildImage` of the embedded engine: the Engine's BuildRequest turned into a build. The context
 * directory is walked with its .dockerignore (as the Docker CLI walks it) and copied into the
 * builder's kept copy of that context (./context.ts: only what changed since the last build is
 * copied and hashed), the Dockerfile is read (even when .dockerignore names it, as BuildKit
 * does), and the builder's output goes to the progress sink line by line. Base images the store
 * lacks (all of them with `pull`) are pulled with the credentials the CLI sent for their registry.
 */
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, posix, resolve } from 'node:path';
import type { BuildRequest, ProgressSink, PullOptions } from '../../contract/engine.js';
import { EngineError } from '../../contract/errors.js';
import { BuildContextError, contextEntries } from '../../util/build-context.js';
import type { NetworkPort } from '../containers/collaborators.js';
import { goArch } from '../images/config.js';
import { parseReference, registryOf } from '../../contract/image-reference.js';
import type { DaemonPaths } from '../paths.js';
import { Builder } from './builder.js';
import { ContextCopies } from './context.js';
import { treeSize } from './layer-cache.js';
import { removeTree } from '../state/remove-tree.js';
import { DockerfileError } from './dockerfile/errors.js';
import { buildImageStore, type StoreForBuilds } from './store-port.js';

/** Pulls an image into the store (the registry service's pull). */
export type PullForBuild = (ref: string, credentials: PullOptions['credentials'], progress: ProgressSink | undefined) => Promise<void>;

/** `--platform`: the engine's own (linux/<arch>, any variant) or nothing; no emulation here. */
function checkPlatform(platform: string | undefined): void {
  if (platform === undefined || platform === '') return;
  const [os, arch] = platform.toLowerCase().split('/');
  if (os !== 'linux' || (arch !== undefined && arch !== goArch())) {
    throw new EngineError('invalid', `platform ${platform} is not supported: the embedded engine builds for linux/${goArch()} only`);
  }
}

/** Named contexts: images as they are, directories only when they are directories (absolute, as the CLI resolved them). */
async function checkContexts(contexts: Record<string, string>): Promise<Record<string, string>> {
  for (const [name, value] of Object.entries(contexts)) {
    if (value.startsWith('docker-image://')) continue;
    if (/^[a-z]+:\/\//i.test(value) || value.startsWith('service:') || !isAbsolute(value)) {
      throw new EngineError('invalid', `build context ${name}=${value}: the embedded engine takes a local directory or docker-image://REF as a named context`);
    }
    const info = await stat(value).catch(() => null);
    if (!info?.isDirectory()) throw new EngineError('invalid', `build context ${name}: ${value} is not a directory`);
  }
  return contexts;
}

/** SSH agents: each an absolute path to a socket on this machine (the CLI's agent). */
async function checkSockets(agents: Record<string, string>): Promise<Record<string, string>> {
  for (const [id, path] of Object.entries(agents)) {
    const info = isAbsolute(path) ? await stat(path).catch(() => null) : null;
    if (!info?.isSocket()) throw new EngineError('invalid', `ssh ${id}: ${path} is not an SSH agent socket`);
  }
  return agents;
}

function decodeSecrets(secrets: Record<string, string> | undefined): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [id, value] of Object.entries(secrets ?? {})) out[id] = Buffer.from(value, 'base64');
  return out;
}

/** Builds run together; a prune waits for them to end, and builds asked for meanwhile wait for it. */
class PruneGate {
  private builds = 0;
  private pruning: Promise<unknown> | null = null;
  private idle: (() => void)[] = [];

  async build<T>(fn: () => Promise<T>): Promise<T> {
    while (this.pruning) await this.pruning.catch(() => undefined);
    this.builds++;
    try {
      return await fn();
    } finally {
      this.builds--;
      if (this.builds === 0) for (const wake of this.idle.splice(0)) wake();
    }
  }

  async prune<T>(fn: () => Promise<T>): Promise<T> {
    while (this.pruning) await this.pruning.catch(() => undefined);
    const run = (async () => {
      while (this.builds > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
      return fn();
    })();
    this.pruning = run;
    try {
      return await run;
    } finally {
      if (this.pruning === run) this.pruning = null;
    }
  }
}

export class BuildService {
  private readonly gate = new PruneGate();
  private readonly builder: Builder;
  private readonly dir: string;
  private readonly contexts: ContextCopies;

  constructor(
    paths: DaemonPaths,
    network: NetworkPort,
    private readonly store: StoreForBuilds,
    log?: (line: string) => void,
    private readonly pull?: PullForBuild,
  ) {
    this.dir = posix.join(paths.root, 'build');
    this.contexts = new ContextCopies(posix.join(this.dir, 'contexts'));
    this.builder = new Builder({ dir: this.dir, runcRoot: paths.runcRoot, cgroupParent: paths.cgroupParent, network, images: buildImageStore(store), ...(log ? { log } : {}) });
  }

  /**
   * `builder prune`: the build cache's step results whose layer no stored image has (with `all`:
   * every one, and the RUN --mount=type=cache directories), and the kept context copies. Waits
   * for running builds to end. JSON {deleted, reclaimed}.
   */
  prune(all: boolean): Promise<string> {
    return this.gate.prune(async () => {
      const stored = new Set<string>();
      for (const image of await this.store.list()) for (const l of this.store.record(image.id)?.layers ?? []) stored.add(l.diffId);
      const result = await this.builder.prune(all, stored);
      const contexts = posix.join(this.dir, 'contexts');
      const copies = await treeSize(contexts);
      if (copies > 0) {
        await removeTree(contexts);
        result.reclaimed += copies;
        result.removed.push('context copies');
      }
      return JSON.stringify({ deleted: result.removed, reclaimed: result.reclaimed });
    });
  }

  build(request: BuildRequest, progress?: ProgressSink): Promise<string> {
    return this.gate.build(() => this.buildNow(request, progress));
  }

  private async buildNow(request: BuildRequest, progress?: ProgressSink): Promise<string> {
    if (/^[a-z]+:\/\//i.test(request.context) || request.context.startsWith('git@')) {
      throw new EngineError('invalid', `${request.context}: the embedded engine builds from a local directory only`);
    }
    checkPlatform(request.platform);
    const dockerfilePath = resolve(request.context, request.dockerfile || 'Dockerfile');
    const inline = request.dockerfileInline;
    const shown = inline !== undefined ? 'Dockerfile' : isAbsolute(request.dockerfile) ? request.dockerfile : request.dockerfile || 'Dockerfile';
    let text: string;
    try {
      text = inline ?? (await readFile(dockerfilePath, 'utf8'));
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
          cacheFrom: request.cacheFrom,
          secrets: decodeSecrets(request.secrets),
          ...(request.additionalContexts ? { contexts: await checkContexts(request.additionalContexts) } : {}),
          ...(request.ssh ? { ssh: await checkSockets(request.ssh) } : {}),
          pull: request.pull === true,
          ...(this.pull ? { pullImage: (ref: string) => this.pullBase(ref, request, progress) } : {}),
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

  private pullBase(ref: string, request: BuildRequest, progress: ProgressSink | undefined): Promise<void> {
    const host = registryOf(parseReference(ref).repository).host;
    return this.pull!(ref, request.registryAuth?.[host] ?? null, progress);
  }
}
