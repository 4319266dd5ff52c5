/**
 * The embedded engine's image builder: a Dockerfile evaluated (./dockerfile/), then each needed
 * stage's steps carried out on an overlay of its base and the layers before, each step's upper
 * dir kept as a layer in the cache (./layer-cache.ts), and the image committed to the store with
 * its tags in one atomic step at the very end: a failed or interrupted build tags nothing. A base
 * image's layers enter the built image as the store has them (same blobs and diff ids).
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, writeFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { run } from '../command.js';
import { removeLeftover, removeTree } from '../state/remove-tree.js';
import { EngineError } from '../../contract/errors.js';
import type { ExtraHostSpec } from '../../contract/engine.js';
import { goArch } from '../images/config.js';
import { unmountAll } from '../runtime/rootfs.js';
import type { NetworkPort } from '../containers/collaborators.js';
import type { LayerRecord } from '../images/refs.js';
import type { ContextCopy } from './context.js';
import { makeDirectory, performCopy } from './copy.js';
import { DockerfileError } from './dockerfile/errors.js';
import { evaluateDockerfile, sourceName, type EvaluatedStage, type Step } from './dockerfile/evaluate.js';
import type { ContainerConfig } from './dockerfile/image-config.js';
import { parseDockerfile } from './dockerfile/parse.js';
import { importInlineCache, INLINE_CACHE_FIELD, type ImportedStep, type InlineCacheEntry } from './inline-cache.js';
import { LayerCache, stepKey, treeSize, type CachedLayer } from './layer-cache.js';
import { writeDirLayer } from '../images/dir-layer.js';
import { runStep, RunStepError, type RunMount } from './run-step.js';
import { expandSource, sourcesChecksum, SourceError } from './sources.js';

/** What the builder needs of the image store (./store-port.ts over ImageStore). */
export interface BuildImageStore {
  /** The image `ref` names locally: its id, config bytes, snapshot dirs (bottom first) and layer records. */
  find(ref: string): Promise<{ id: string; config: Buffer; snapshots: string[]; layers: LayerRecord[] } | null>;
  /** Keeps these layers from removal while the build uses them; returns the release. */
  hold(layers: LayerRecord[]): () => void;
  /** A built layer (a tar file) stored as a blob and snapshot. */
  addLayer(tar: string, label: string): Promise<LayerRecord>;
  /** The stored layer with this diff id, held until `release` runs; null when the store has none. */
  heldLayer(diffId: string): Promise<{ record: LayerRecord; release: () => void } | null>;
  /** Commits the image (config and layers) with its tags in one step. */
  create(config: Buffer, layers: LayerRecord[], tags: string[]): Promise<{ id: string }>;
}

export interface BuildRequest {
  /** The unpacked context (the CLI has applied .dockerignore). */
  context: string;
  /** Relative to the context. */
  dockerfile: string;
  dockerfileText: string;
  tags: string[];
  buildArgs: Record<string, string>;
  labels: Record<string, string>;
  target?: string;
  noCache: boolean;
  extraHosts: ExtraHostSpec[];
  shmSize: number;
  network?: string;
  /** Secret id → file contents, for RUN --mount=type=secret. */
  secrets: Record<string, Buffer>;
  /** Named contexts for FROM and --from: name → absolute directory or `docker-image://REF`. */
  contexts?: Record<string, string>;
  /** SSH agent sockets for RUN --mount=type=ssh: id → absolute path of the socket on this machine. */
  ssh?: Record<string, string>;
  /** Images whose inline cache (./inline-cache.ts) seeds the build's; pulled when the store lacks them. */
  cacheFrom?: string[];
  /** Pull every base image, even one the store has (`--pull`). */
  pull?: boolean;
  /** Pulls an image into the store (with the request's credentials); without it, a missing base image is an error. */
  pullImage?: (ref: string) => Promise<void>;
}

export interface BuildEnvironment {
  /** The builder's own state: cache, scratch space. */
  dir: string;
  /** The daemon's log (leftovers of interrupted builds that cannot be removed are reported there). */
  log?: (line: string) => void;
  runcRoot: string;
  cgroupParent: string;
  network: NetworkPort;
  images: BuildImageStore;
}

export type BuildOutput = (line: string) => void;

/** A layer of the image being built: the base's, as the store has it, or a step's tar. */
type BuiltLayer = { record: LayerRecord } | { tar: string; diffId: string };

interface StageResult {
  /** Bottom first: the base image's snapshots, then each step's upper dir. */
  lowers: string[];
  layers: BuiltLayer[];
  key: string;
  config: ContainerConfig;
  history: { created: string; created_by: string; empty_layer?: boolean }[];
  /** The inline cache the stage's image carries: its steps since its first FROM of an image. */
  cache: InlineCacheEntry[];
}

interface ExternalImage {
  id: string;
  snapshots: string[];
  layers: LayerRecord[];
  config: Record<string, unknown>;
}

/**
 * An overlay of `lowers` (bottom first) on `target`: read-only without `rw`. Overlay's option
 * string separates lowers with ":" and options with ",", so no path may hold either.
 */
async function mountLayers(lowers: string[], rw: { upper: string; work: string } | null, target: string): Promise<void> {
  const paths = [...lowers, ...(rw ? [rw.upper, rw.work] : [])];
  const bad = paths.find((p) => /[,:]/.test(p));
  if (bad) throw new EngineError('engine', `cannot use ${bad} in an overlay mount: the path contains "," or ":"`);
  const lowerdir = `lowerdir=${[...lowers].reverse().join(':')}`;
  const options = rw ? `${lowerdir},upperdir=${rw.upper},workdir=${rw.work}` : `ro,${lowerdir}`;
  try {
    await run(['mount', '-t', 'overlay', 'overlay', '-o', options, target], { timeout: 30_000 });
  } catch (e) {
    throw new EngineError('engine', `cannot mount a build step's root filesystem: ${(e as Error).message}`);
  }
}

/**
 * Checksums of what COPY --from and RUN --mount=type=bind,from= read in an image or a stage, by
 * the content identity of that root (its layers' diff ids) and the sources: a rebuild finds them
 * here instead of mounting the stage to walk and hash it again. Bounded; oldest first out.
 */
class ChecksumMemo {
  private readonly map = new Map<string, string>();
  constructor(private readonly limit = 4096) {}
  get(key: string): string | undefined {
    return this.map.get(key);
  }
  set(key: string, value: string): void {
    this.map.set(key, value);
    if (this.map.size > this.limit) this.map.delete(this.map.keys().next().value as string);
  }
}

export class Builder {
  private readonly cache: LayerCache;
  private readonly checksums = new ChecksumMemo();
  private opened = false;

  constructor(private readonly env: BuildEnvironment) {
    this.cache = new LayerCache(posix.join(env.dir, 'layers'));
  }

  /**
   * Removes cached step results: with `all` every one and the RUN --mount=type=cache directories,
   * else those whose layer no stored image has (`stored`) or that made none. No build may run.
   */
  async prune(all: boolean, stored: ReadonlySet<string>): Promise<{ removed: string[]; reclaimed: number }> {
    await this.open();
    const result = await this.cache.prune((diffId) => all || diffId === null || !stored.has(diffId));
    if (all) {
      const mounts = posix.join(this.env.dir, 'cache-mounts');
      for (const name of (await readdir(mounts).catch(() => [] as string[])).sort()) {
        result.reclaimed += await treeSize(posix.join(mounts, name));
        await removeTree(posix.join(mounts, name));
        result.removed.push(`cache mount ${Buffer.from(name, 'hex').toString('utf8')}`);
      }
    }
    return result;
  }

  private async open(): Promise<void> {
    if (this.opened) return;
    const log = this.env.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    await this.cache.open(log);
    const tmp = posix.join(this.env.dir, 'tmp');
    await mkdir(tmp, { recursive: true, mode: 0o700 });
    for (const name of await readdir(tmp)) {
      await unmountAll(posix.join(tmp, name, 'root')).catch(() => undefined);
      await removeLeftover(posix.join(tmp, name), log);
    }
    this.opened = true;
  }

  /**
   * Builds; `prepareContext` gives the context's copy (./context.ts), else `req.context` is read as
   * it is. `work` is the build's scratch directory.
   */
  async build(req: BuildRequest, out: BuildOutput, signal?: AbortSignal, prepareContext?: (work: string) => Promise<ContextCopy>): Promise<{ id: string; warnings: string[] }> {
    await this.open();
    const work = posix.join(this.env.dir, 'tmp', randomBytes(6).toString('hex'));
    await mkdir(work, { recursive: true, mode: 0o700 });
    let copy: ContextCopy | null = null;
    try {
      let request = req;
      if (prepareContext) {
        copy = await prepareContext(work);
        request = { ...req, context: copy.root };
      }
      const run = new BuildRun(this.env, this.cache, this.checksums, request, copy?.digest ?? (() => undefined), work, out, signal);
      try {
        return await run.run();
      } finally {
        for (const release of run.releases) release();
      }
    } finally {
      copy?.release();
      await unmountAll(posix.join(work, 'root')).catch(() => undefined);
      for (const name of await readdir(work).catch(() => [] as string[])) await unmountAll(posix.join(work, name)).catch(() => undefined);
      await removeTree(work);
    }
  }
}

class BuildRun {
  private readonly images = new Map<string, Promise<ExternalImage>>();
  /** Holds on the base images' layers, released when the build ends. */
  readonly releases: (() => void)[] = [];
  private readonly stages = new Map<number, Promise<StageResult>>();
  /** Steps the cache_from images offer, by cache key. */
  private readonly imported = new Map<string, ImportedStep>();
  private mounts = 0;
  private counter = 0;

  constructor(
    private readonly env: BuildEnvironment,
    private readonly cache: LayerCache,
    private readonly checksums: ChecksumMemo,
    private readonly req: BuildRequest,
    /** The known sha256 of a context file's contents (./context.ts), so it is not read again. */
    private readonly contextDigest: (rel: string) => string | undefined,
    private readonly work: string,
    private readonly out: BuildOutput,
    private readonly signal?: AbortSignal,
  ) {}

  private fail(step: { line: number }, instruction: string, message: string, failedStep = false): never {
    throw new DockerfileError(message, this.req.dockerfile, step.line, instruction, failedStep);
  }

  /** An image a stage starts from or reads: the store's, pulled when missing or with `--pull` (once per build). */
  private image(ref: string, line: number): Promise<ExternalImage> {
    let image = this.images.get(ref);
    if (!image) {
      image = this.loadImage(ref, line);
      this.images.set(ref, image);
    }
    return image;
  }

  private async loadImage(ref: string, line: number): Promise<ExternalImage> {
    let found = this.req.pull && this.req.pullImage ? null : await this.env.images.find(ref);
    if (!found && this.req.pullImage) {
      this.out(`pulling ${ref}`);
      try {
        await this.req.pullImage(ref);
      } catch (e) {
        throw new DockerfileError(`${ref}: ${(e as Error).message}`, this.req.dockerfile, line, 'FROM');
      }
      found = await this.env.images.find(ref);
    }
    if (!found) throw new DockerfileError(`${ref}: image not found in the embedded engine (pull or load it first)`, this.req.dockerfile, line, 'FROM');
    this.releases.push(this.env.images.hold(found.layers));
    return { id: found.id, snapshots: found.snapshots, layers: found.layers, config: JSON.parse(found.config.toString('utf8')) as Record<string, unknown> };
  }

  /**
   * Reads a cache_from image's inline cache: the store's image, pulled when missing (or with
   * `--pull`, the store's kept when the pull fails). An image that cannot be had is a warning, as
   * in BuildKit: the build goes on without it.
   */
  private async importCache(ref: string): Promise<void> {
    this.out(`importing cache manifest from ${ref}`);
    let found = this.req.pull && this.req.pullImage ? null : await this.env.images.find(ref);
    let failure = '';
    if (!found && this.req.pullImage) {
      try {
        await this.req.pullImage(ref);
      } catch (e) {
        failure = `: ${(e as Error).message}`;
      }
      found = await this.env.images.find(ref);
    }
    if (!found) {
      this.out(`WARNING: cache_from ${ref} is not used: the image cannot be found${failure}`);
      return;
    }
    this.releases.push(this.env.images.hold(found.layers));
    const config = JSON.parse(found.config.toString('utf8')) as Record<string, unknown>;
    for (const [key, step] of importInlineCache(config, found.layers, found.snapshots)) if (!this.imported.has(key)) this.imported.set(key, step);
  }

  async run(): Promise<{ id: string; warnings: string[] }> {
    const doc = parseDockerfile(this.req.dockerfileText, this.req.dockerfile);
    if (!this.req.noCache) for (const ref of this.req.cacheFrom ?? []) await this.importCache(ref);
    const evaluation = await evaluateDockerfile(doc, {
      buildArgs: this.req.buildArgs,
      ...(this.req.target !== undefined ? { target: this.req.target } : {}),
      platform: { os: 'linux', architecture: goArch() },
      baseImage: async (ref, line) => ({ config: ((await this.image(ref, line)).config['config'] ?? {}) as ContainerConfig }),
      ...(this.req.contexts ? { contexts: this.req.contexts } : {}),
    });
    const warnings = evaluation.unusedArgs.length > 0 ? [`[Warning] One or more build-args [${evaluation.unusedArgs.join(' ')}] were not consumed`] : [];
    const stage = (index: number): Promise<StageResult> => {
      let p = this.stages.get(index);
      if (!p) {
        p = this.runStage(evaluation.stages.get(index)!, stage);
        this.stages.set(index, p);
      }
      return p;
    };
    const result = await stage(evaluation.target);
    const config = { ...result.config };
    if (Object.keys(this.req.labels).length > 0) config.Labels = { ...(config.Labels ?? {}), ...this.req.labels };
    // The last step's time, so a rebuild that finds every step cached makes the same image.
    const created = result.history[result.history.length - 1]?.created ?? new Date(0).toISOString();
    const doc2 = {
      architecture: goArch(),
      os: 'linux',
      created,
      config,
      rootfs: { type: 'layers', diff_ids: result.layers.map((l) => ('record' in l ? l.record.diffId : l.diffId)) },
      history: result.history,
      ...(result.cache.length > 0 ? { [INLINE_CACHE_FIELD]: result.cache } : {}),
    };
    this.out('exporting to image');
    const records: LayerRecord[] = [];
    for (const [i, l] of result.layers.entries()) {
      if ('record' in l) {
        records.push(l.record);
        continue;
      }
      // A step from the cache made a layer the store has (from an earlier build's commit): reused,
      // not read, stored and unpacked again.
      const held = await this.env.images.heldLayer(l.diffId);
      if (held) {
        this.releases.push(held.release);
        records.push(held.record);
      } else records.push(await this.env.images.addLayer(l.tar, `layer ${i + 1} of the build`));
    }
    const added = await this.env.images.create(Buffer.from(JSON.stringify(doc2)), records, this.req.tags);
    for (const w of warnings) this.out(w);
    return { id: added.id, warnings };
  }

  private async runStage(stage: EvaluatedStage, dependency: (index: number) => Promise<StageResult>): Promise<StageResult> {
    let lowers: string[];
    let layers: BuiltLayer[];
    let key: string;
    let history: StageResult['history'];
    let cache: InlineCacheEntry[] = [];
    const ref = stage.base.ref;
    if ('scratch' in ref) {
      lowers = [];
      layers = [];
      key = 'scratch';
      history = [];
    } else if ('stage' in ref) {
      const parent = await dependency(ref.stage);
      ({ lowers, layers, key } = parent);
      history = [...parent.history];
      cache = [...parent.cache];
    } else if ('dir' in ref) {
      throw new EngineError('invalid', `a stage cannot start FROM the directory ${ref.dir}`);
    } else {
      const image = await this.image(ref.image, stage.steps[0]?.line ?? 1);
      lowers = [...image.snapshots];
      layers = image.layers.map((record) => ({ record }));
      key = `image:${image.id}`;
      const baseCreated = typeof image.config['created'] === 'string' ? image.config['created'] : new Date(0).toISOString();
      history = [{ created: baseCreated, created_by: `FROM ${ref.image}` }];
    }
    const label = stage.name ?? `stage-${stage.index}`;
    for (const [i, step] of stage.steps.entries()) {
      const n = ++this.counter;
      this.out(`#${n} [${label} ${i + 1}/${stage.steps.length}] ${step.text}`);
      const { definition, checksums } = await this.identify(step, dependency);
      const stepKeyValue = stepKey(key, definition, checksums);
      let layer: CachedLayer | null = this.req.noCache ? null : await this.cache.get(stepKeyValue);
      const imported = layer || this.req.noCache ? undefined : this.imported.get(stepKeyValue);
      if (layer || imported) this.out(`#${n} CACHED`);
      else layer = await this.execute(step, stepKeyValue, lowers, dependency, (line) => this.out(`#${n} ${line}`));
      key = stepKeyValue;
      if (layer) {
        lowers = [...lowers, layer.diff];
        if (layer.tar && layer.diffId) layers = [...layers, { tar: layer.tar, diffId: layer.diffId }];
        history.push({ created: layer.created, created_by: step.text, ...(layer.tar ? {} : { empty_layer: true }) });
        cache = [...cache, { key, diffId: layer.diffId, created: layer.created }];
      } else if (imported) {
        // The cache_from image's layer, as the store has it: its snapshot is the lower dir.
        if (imported.layer) {
          lowers = [...lowers, imported.layer.snapshot];
          layers = [...layers, { record: imported.layer.record }];
        }
        history.push({ created: imported.created, created_by: step.text, ...(imported.layer ? {} : { empty_layer: true }) });
        cache = [...cache, { key, diffId: imported.layer?.record.diffId ?? null, created: imported.created }];
      }
    }
    return { lowers, layers, key, config: stage.config, history, cache };
  }

  /** RUN --network wins; else the build's (Compose build.network; `bridge` and `default` are the default bridge). */
  private runNetwork(step: Extract<Step, { kind: 'run' }>): string {
    const asked = step.network === 'default' ? (this.req.network ?? 'default') : step.network;
    return asked === '' || asked === 'bridge' ? 'default' : asked;
  }

  /** What the step's cache key covers: its definition (a RUN's network too, as BuildKit's), and the checksums of what it reads. */
  private async identify(step: Step, dependency: (index: number) => Promise<StageResult>): Promise<{ definition: unknown; checksums: string[] }> {
    const { line: _line, text: _text, ...definition } = step;
    void _line;
    void _text;
    if (step.kind !== 'copy') {
      if (step.kind === 'run') {
        const binds = step.mounts.filter((m) => m.type === 'bind');
        const sums: string[] = [];
        for (const m of binds) {
          const source = m.options['source'] ?? '.';
          sums.push(await this.sourceChecksum(m.options['from'], [source], step, dependency, async (root) => sourcesChecksum(root, [await expandSource(root, source)], m.options['from'] === undefined ? this.contextDigest : undefined)));
        }
        return { definition: { ...definition, network: this.runNetwork(step) }, checksums: sums };
      }
      return { definition, checksums: [] };
    }
    const from = step.from;
    const sources = step.sources.filter((s) => !step.heredocs.some((h) => s.replace(/^<<-?["']?([^"']+)["']?$/, '$1') === h.name && s.startsWith('<<')));
    const checksum = await this.sourceChecksum(sourceName(from), sources, step, dependency, async (root) => {
      const matched: string[][] = [];
      for (const s of sources) {
        try {
          matched.push(await expandSource(root, s));
        } catch (e) {
          if (e instanceof SourceError) this.fail(step, step.add ? 'ADD' : 'COPY', e.message);
          throw e;
        }
      }
      return sourcesChecksum(root, matched, 'context' in from ? this.contextDigest : undefined);
    });
    return { definition, checksums: [checksum] };
  }

  /**
   * The checksum `fn` computes of `sources` in the root `from` names: from the memo when that root
   * (an image, or a stage whose layers are known) was checksummed for the same sources before.
   */
  private async sourceChecksum(from: string | undefined, sources: string[], step: Step, dependency: (index: number) => Promise<StageResult>, fn: (root: string) => Promise<string>): Promise<string> {
    let identity: string | null = null;
    if (from !== undefined && !from.startsWith('dir:')) {
      const layers = /^\d+$/.test(from) ? (await dependency(Number(from))).layers.map((l) => ('record' in l ? l.record.diffId : l.diffId)) : (await this.image(from, step.line)).layers.map((l) => l.diffId);
      identity = JSON.stringify([layers, sources]);
    }
    const known = identity === null ? undefined : this.checksums.get(identity);
    if (known !== undefined) return known;
    const sum = await this.withSourceRoot(from, step, dependency, fn);
    if (identity !== null) this.checksums.set(identity, sum);
    return sum;
  }

  /** Calls `fn` with the root a source is read from: the context, a stage's result (mounted read-only) or an image. */
  private async withSourceRoot<T>(from: string | undefined, step: Step, dependency: (index: number) => Promise<StageResult>, fn: (root: string) => Promise<T>): Promise<T> {
    if (from === undefined) return fn(this.req.context);
    // A named directory context is read where it is (the daemon runs on the CLI's machine).
    if (from.startsWith('dir:')) return fn(from.slice('dir:'.length));
    let lowers: string[];
    if (/^\d+$/.test(from)) lowers = (await dependency(Number(from))).lowers;
    else lowers = [...(await this.image(from, step.line)).snapshots];
    if (lowers.length === 1) return fn(lowers[0]!);
    const target = posix.join(this.work, `from-${++this.mounts}`);
    await mkdir(target, { recursive: true });
    await mountLayers(lowers, null, target);
    try {
      return await fn(target);
    } finally {
      await unmountAll(target);
    }
  }


  private async execute(step: Step, key: string, lowers: string[], dependency: (index: number) => Promise<StageResult>, log: (line: string) => void): Promise<CachedLayer> {
    const scratch = await this.cache.scratch();
    const root = posix.join(this.work, 'root');
    await mkdir(root, { recursive: true });
    const empty = posix.join(this.work, 'empty');
    await mkdir(empty, { recursive: true });
    const lowerdir = lowers.length === 0 ? [empty] : lowers;
    try {
      await mountLayers(lowerdir, { upper: posix.join(scratch, 'diff'), work: posix.join(scratch, 'work') }, root);
      try {
        await this.apply(step, root, dependency, log);
      } finally {
        await unmountAll(root);
      }
      const diff = posix.join(scratch, 'diff');
      const changed = (await readdir(diff)).length > 0;
      const layer = changed ? await writeDirLayer(diff, posix.join(scratch, 'layer.tar')) : null;
      return await this.cache.commit(key, scratch, layer?.diffId ?? null);
    } catch (e) {
      await removeTree(scratch);
      throw e;
    }
  }

  private async apply(step: Step, root: string, dependency: (index: number) => Promise<StageResult>, log: (line: string) => void): Promise<void> {
    if (step.kind === 'mkdir') {
      await makeDirectory(root, step.path, step.user).catch((e: unknown) => this.fail(step, 'WORKDIR', (e as Error).message));
      return;
    }
    if (step.kind === 'copy') {
      const instruction = step.add ? 'ADD' : 'COPY';
      const from = step.from;
      const fromName = sourceName(from);
      await this.withSourceRoot(fromName, step, dependency, async (sourceRoot) => {
        try {
          await performCopy(
            { add: step.add, sourceRoot, sources: step.sources, dest: step.dest, heredocs: step.heredocs, ...(step.chown ? { chown: step.chown } : {}), ...(step.chmod !== undefined ? { chmod: step.chmod } : {}) },
            root,
          );
        } catch (e) {
          if (e instanceof SourceError || (e as NodeJS.ErrnoException).code !== undefined) this.fail(step, instruction, (e as Error).message);
          throw e;
        }
      });
      return;
    }
    const mounts: RunMount[] = [];
    const env = [...step.env];
    let sshMounts = 0;
    for (const m of step.mounts) {
      if (m.type === 'cache') {
        const id = m.options['id'] ?? m.target;
        const dir = posix.join(this.env.dir, 'cache-mounts', Buffer.from(id).toString('hex').slice(0, 200));
        await mkdir(dir, { recursive: true, mode: 0o755 });
        mounts.push({ type: 'bind', target: m.target, source: dir, readOnly: false });
      } else if (m.type === 'tmpfs') {
        mounts.push({ type: 'tmpfs', target: m.target, readOnly: false });
      } else if (m.type === 'ssh') {
        // The agent socket the CLI named for this id, bound where SSH_AUTH_SOCK points (BuildKit's default target).
        const id = m.options['id'] ?? 'default';
        const socket = this.req.ssh?.[id];
        if (!socket) {
          if (m.options['required'] === 'true') this.fail(step, 'RUN', `no SSH agent for id ${id}: set build.ssh (or the agent of SSH_AUTH_SOCK for "default")`);
          continue;
        }
        const target = m.target || `/run/buildkit/ssh_agent.${sshMounts++}`;
        mounts.push({ type: 'bind', target, source: socket, readOnly: false });
        env.push(`SSH_AUTH_SOCK=${target}`);
      } else if (m.type === 'secret') {
        const id = m.options['id'] ?? posix.basename(m.target);
        const secret = this.req.secrets[id];
        if (!secret) {
          if (m.options['required'] === 'true') this.fail(step, 'RUN', `secret ${id} not found`);
          continue;
        }
        const file = posix.join(this.work, `secret-${++this.mounts}`);
        await writeFile(file, secret, { mode: 0o400 });
        await chmod(file, Number.parseInt(m.options['mode'] ?? '0400', 8));
        mounts.push({ type: 'bind', target: m.target || `/run/secrets/${id}`, source: file, readOnly: true });
      } else {
        const from = m.options['from'];
        const source = m.options['source'] ?? '.';
        const rw = m.options['rw'] === 'true' || m.options['readwrite'] === 'true';
        // A bind reads the source where it is; an rw bind gets a throwaway copy.
        const host = await this.withSourceRoot(from, step, dependency, async (r) => {
          const copy = posix.join(this.work, `bind-${++this.mounts}`);
          await mkdir(copy, { recursive: true });
          await performCopy({ add: false, sourceRoot: r, sources: [source], dest: '/', heredocs: [] }, copy);
          return copy;
        });
        mounts.push({ type: 'bind', target: m.target, source: host, readOnly: !rw });
      }
    }
    if (step.script) {
      const dir = posix.join(this.work, `pipes-${++this.mounts}`);
      await mkdir(dir, { recursive: true, mode: 0o755 });
      await writeFile(posix.join(dir, step.script.name), step.script.content, { mode: 0o755 });
      await chmod(posix.join(dir, step.script.name), 0o755);
      mounts.push({ type: 'bind', target: '/dev/pipes', source: dir, readOnly: true });
    }
    const network = this.runNetwork(step);
    const result = await runStep(
      root,
      { argv: step.argv, env, user: step.user, workdir: step.workdir, network, mounts, extraHosts: this.req.extraHosts, shmSize: this.req.shmSize },
      { runcRoot: this.env.runcRoot, cgroupParent: this.env.cgroupParent, network: this.env.network, scratch: this.work },
      log,
      this.signal,
    ).catch((e: unknown) => (e instanceof RunStepError ? this.fail(step, 'RUN', e.message) : Promise.reject(e)));
    if (result.exitCode !== 0) {
      // BuildKit 0.8's words; the output went to the progress stream, its end is repeated here.
      const output = result.tail.length > 0 ? `; last output: ${result.tail.slice(-5).join(' | ')}` : '';
      this.fail(step, 'RUN', `executor failed running [${step.argv.join(' ')}]: exit code: ${result.exitCode}${output}`, true);
    }
  }
}
