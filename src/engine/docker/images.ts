/** Images: inspect, list, pull, push, tag, remove, build. */
import { randomBytes } from 'node:crypto';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { readInputFile } from '../../util/input-files.js';
import type { BuildRequest, ImageInfo, ImageSummary, ProgressSink } from '../../contract/engine.js';
import { EngineError } from '../../contract/errors.js';
import type { DockerImageInspect, DockerImageSummary } from './api-types.js';
import { BuildContextError, contextEntries, contextTar } from '../../util/build-context.js';
import type { DockerClient, QueryParams } from './client.js';
import { imageInfo, imageSummary } from './from-api.js';
import { orNull, seg, splitReference } from './paths.js';
import { followProgress } from './progress.js';


export async function inspectImage(client: DockerClient, ref: string): Promise<ImageInfo | null> {
  const j = await orNull(client.json<DockerImageInspect>('GET', `/images/${seg(ref)}/json`));
  return j ? imageInfo(j) : null;
}

export async function listImages(client: DockerClient): Promise<ImageSummary[]> {
  return ((await client.json<DockerImageSummary[]>('GET', '/images/json')) ?? []).map(imageSummary);
}

/**
 * `auth`: the X-Registry-Auth value for the image's registry (./registry-auth.ts; `{}` without
 * credentials, which dockerd requires on push even for a registry that needs none).
 */
export async function pullImage(client: DockerClient, ref: string, auth: string, progress?: ProgressSink): Promise<void> {
  const { repository, tag, digest } = splitReference(ref);
  // An empty tag would pull every tag of the repository.
  const res = await client.response('POST', '/images/create', { query: { fromImage: repository, tag: digest ?? tag ?? 'latest' }, headers: { 'X-Registry-Auth': auth } });
  await followProgress(res, progress);
}

export async function pushImage(client: DockerClient, ref: string, auth: string, progress?: ProgressSink): Promise<string> {
  const { repository, tag } = splitReference(ref);
  const res = await client.response('POST', `/images/${seg(repository)}/push`, { query: { tag: tag ?? 'latest' }, headers: { 'X-Registry-Auth': auth } });
  const result = await followProgress(res, progress);
  if (!result.digest) throw new EngineError('engine', `pushing ${ref}: the engine reported no digest`);
  return result.digest;
}

/**
 * The digest the registry holds for a reference (GET /distribution/{name}/json, API 1.30+), without
 * pulling: null when the registry does not know the repository or tag.
 */
export async function registryDigest(client: DockerClient, ref: string, auth: string): Promise<string | null> {
  const j = await orNull(client.json<{ Descriptor?: { digest?: string } }>('GET', `/distribution/${seg(ref)}/json`, { headers: { 'X-Registry-Auth': auth } }));
  return j?.Descriptor?.digest || null;
}

export async function tagImage(client: DockerClient, source: string, target: string): Promise<void> {
  const { repository, tag } = splitReference(target);
  await client.json('POST', `/images/${seg(source)}/tag`, { query: { repo: repository, tag: tag ?? 'latest' } });
}

export async function removeImage(client: DockerClient, ref: string, force = false): Promise<void> {
  await client.json('DELETE', `/images/${seg(ref)}`, { query: { force: force || undefined } });
}

function isRemoteContext(context: string): boolean {
  return /^(https?:\/\/|git:\/\/|git@|github\.com\/)/.test(context);
}

export async function buildImage(client: DockerClient, request: BuildRequest, progress?: ProgressSink): Promise<string> {
  // dockerd's /build API takes secrets (and named contexts) only from a BuildKit session over
  // /session, which this backend does not open: refused rather than built without them.
  if (Object.keys(request.secrets ?? {}).length > 0) {
    throw new EngineError('invalid', `build secrets need the embedded engine: dockerd's build API takes them only through a BuildKit session, which Flotilla does not open (with dockerd, use docker buildx build --secret)`);
  }
  if (Object.keys(request.ssh ?? {}).length > 0) {
    throw new EngineError('invalid', `build ssh needs the embedded engine: dockerd's build API forwards an SSH agent only through a BuildKit session, which Flotilla does not open (with dockerd, use docker buildx build --ssh)`);
  }
  if (Object.keys(request.additionalContexts ?? {}).length > 0) {
    throw new EngineError('invalid', `additional build contexts need the embedded engine: dockerd's build API takes them only through a BuildKit session, which Flotilla does not open (with dockerd, use docker buildx build --build-context)`);
  }
  const query: QueryParams = {
    t: request.tags,
    buildargs: Object.keys(request.args).length > 0 ? JSON.stringify(request.args) : undefined,
    labels: Object.keys(request.labels).length > 0 ? JSON.stringify(request.labels) : undefined,
    target: request.target || undefined,
    cachefrom: request.cacheFrom.length > 0 ? JSON.stringify(request.cacheFrom) : undefined,
    networkmode: request.network || undefined,
    shmsize: request.shmSize,
    extrahosts: request.extraHosts.length > 0 ? request.extraHosts.map((h) => `${h.host}:${h.ip}`) : undefined,
    nocache: request.noCache || undefined,
    pull: request.pull || undefined,
    platform: request.platform || undefined,
    rm: true,
    // Also after a failed step, which would otherwise leave its container behind.
    forcerm: true,
  };
  let res;
  if (isRemoteContext(request.context)) {
    query['remote'] = request.context;
    query['dockerfile'] = request.dockerfile || undefined;
    res = await client.response('POST', '/build', { query });
  } else {
    const extra: { name: string; content: Buffer }[] = [];
    const path = resolve(request.context, request.dockerfile || 'Dockerfile');
    let dockerfile = relative(request.context, path).split(sep).join('/');
    if (request.dockerfileInline !== undefined) {
      // An inline Dockerfile travels in the context under a random name, as Compose v2 hands it over.
      dockerfile = `.dockerfile.${randomBytes(10).toString('hex')}`;
      extra.push({ name: dockerfile, content: Buffer.from(request.dockerfileInline, 'utf8') });
    } else if (dockerfile.startsWith('../') || isAbsolute(dockerfile)) {
      // A Dockerfile outside the context travels inside it under a random name, as the CLI does.
      let content: Buffer;
      try {
        content = readInputFile(path, 'Dockerfile');
      } catch (e) {
        throw new EngineError('invalid', `cannot read the Dockerfile ${path}: ${(e as Error).message}`);
      }
      dockerfile = `.dockerfile.${randomBytes(10).toString('hex')}`;
      extra.push({ name: dockerfile, content });
    }
    query['dockerfile'] = dockerfile;
    const entries = await contextEntries(request.context, { dockerfile, extra }).catch((e: unknown) => {
      throw e instanceof BuildContextError ? new EngineError('invalid', e.message) : e;
    });
    const tar = contextTar(entries);
    let tarError: unknown;
    tar.on('error', (e) => (tarError = e));
    try {
      res = await client.response('POST', '/build', { query, file: tar, headers: { 'Content-Type': 'application/x-tar' } });
    } catch (e) {
      throw tarError ?? e;
    }
  }
  const result = await followProgress(res, progress);
  const id = result.imageId ?? (request.tags[0] !== undefined ? (await inspectImage(client, request.tags[0]))?.id : undefined);
  if (id) return id;
  if (result.builtId) {
    const built = await inspectImage(client, result.builtId);
    if (built) return built.id;
  }
  throw new EngineError('engine', 'the build finished without an image Id');
}
