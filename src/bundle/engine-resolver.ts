/**
 * Pinning images to digests with an engine, the way docker-compose did it for `bundle` (1.25) and
 * still does for `config --resolve-image-digests` (1.29.2):
 *   1. an image already written `repo@sha256:...` is used as it is (no engine call);
 *   2. an image on the engine with RepoDigests → one of them (the first whose repository is the
 *      image's own, else the first, as docker-compose took `RepoDigests[0]`);
 *   3. an image on the engine without RepoDigests → it must be pushed (service with `build`) or
 *      pulled (others);
 *   4. an image not on the engine → the registry's digest for it (`<image>@<digest>`), asked
 *      without pulling; if the registry does not know it, an error naming the service.
 * Digests learnt by pushing (`bundle --push-images`) are recorded with `usePushed` and win.
 */
import type { Engine } from '../contract/engine.js';
import { EngineError } from '../contract/errors.js';
import { ConfigError, FlotillaError } from '../errors.js';
import type { ComposeProject, ComposeService } from '../compose/document.js';
import { pinnedDigest, type DigestResolver, type DigestResult } from './digests.js';

/** `host:5000/repo:tag@sha256:...` → `host:5000/repo`. */
export function repositoryOf(image: string): string {
  const at = image.indexOf('@');
  const name = at >= 0 ? image.slice(0, at) : image;
  const colon = name.lastIndexOf(':');
  return colon > name.lastIndexOf('/') ? name.slice(0, colon) : name;
}

/** The RepoDigest to pin `image` to: one of its own repository, else the first (docker-compose's pick). */
export function pickRepoDigest(image: string, repoDigests: readonly string[]): string | undefined {
  const repository = repositoryOf(image);
  return repoDigests.find((d) => repositoryOf(d) === repository) ?? repoDigests[0];
}

export class EngineDigestResolver implements DigestResolver {
  private readonly pushed = new Map<string, string>();
  private readonly results = new Map<string, Promise<DigestResult>>();

  constructor(private readonly engine: Engine) {}

  /** Records the digest a push of the service's image returned; later resolutions use it. */
  usePushed(service: ComposeService, digest: string): void {
    if (!service.image) return;
    this.pushed.set(service.name, `${repositoryOf(service.image)}@${digest}`);
    this.results.delete(service.name);
  }

  /** Resolves once per service (a second call, e.g. after a push check, costs nothing). */
  resolve(service: ComposeService): Promise<DigestResult> {
    let result = this.results.get(service.name);
    if (!result) {
      result = this.lookUp(service);
      this.results.set(service.name, result);
    }
    return result;
  }

  private async lookUp(service: ComposeService): Promise<DigestResult> {
    const image = service.image;
    if (image === undefined) throw new ConfigError(`service '${service.name}' has no image: an image name is needed to pin it to a digest; set "image"`);
    const pinned = pinnedDigest(image);
    if (pinned) return { kind: 'digest', reference: pinned };
    const pushed = this.pushed.get(service.name);
    if (pushed) return { kind: 'digest', reference: pushed };
    const local = await this.engine.inspectImage(image);
    if (local) {
      const digest = pickRepoDigest(image, local.repoDigests);
      if (digest) return { kind: 'digest', reference: digest };
      return service.build ? { kind: 'needs-push' } : { kind: 'needs-pull' };
    }
    if (!this.engine.registryDigest) return service.build ? { kind: 'needs-push' } : { kind: 'needs-pull' };
    let digest: string | null = null;
    let reason = '';
    try {
      digest = await this.engine.registryDigest(image);
    } catch (e) {
      if (e instanceof EngineError && e.kind === 'unreachable') throw e;
      reason = `: ${(e as Error).message}`;
    }
    if (digest) return { kind: 'digest', reference: `${image}@${digest}` };
    const hint = service.build ? `; build and push it first (flotilla build ${service.name} && flotilla push ${service.name})` : '';
    throw new FlotillaError(
      `digest not found for service '${service.name}' (${image})${reason || ': the image is not on the engine and the registry does not have it'}; ` +
        `the repository may not exist or may require 'docker login'${hint}`,
    );
  }
}

/**
 * Every service's image pinned to a digest (service name → reference), for `config
 * --resolve-image-digests`: a service without an image is an error, and images that cannot be
 * resolved are listed in one error (to push, to pull), as docker-compose does.
 */
export async function resolveProjectDigests(services: readonly ComposeService[], resolver: DigestResolver): Promise<Map<string, string>> {
  for (const s of services) {
    if (s.image === undefined) {
      throw new ConfigError(`service '${s.name}' has no image: an image name is needed to pin it to a digest; set "image"`);
    }
  }
  const digests = new Map<string, string>();
  const needsPush: ComposeService[] = [];
  const needsPull: ComposeService[] = [];
  for (const s of services) {
    const pinned = pinnedDigest(s.image as string);
    if (pinned) {
      digests.set(s.name, pinned);
      continue;
    }
    const result = await resolver.resolve(s);
    if (result.kind === 'digest') digests.set(s.name, result.reference);
    else (result.kind === 'needs-push' ? needsPush : needsPull).push(s);
  }
  if (needsPush.length > 0 || needsPull.length > 0) {
    const list = (l: ComposeService[]) => l.map((s) => `${s.name} (${s.image})`).join(', ');
    const parts: string[] = [];
    if (needsPush.length > 0) parts.push(`to push (flotilla push): ${list(needsPush)}`);
    if (needsPull.length > 0) parts.push(`to pull (flotilla pull): ${list(needsPull)}`);
    throw new ConfigError(`some images are missing digests; ${parts.join('; ')}`);
  }
  return digests;
}

/** Whether resolving the project's images needs an engine at all (some image is not pinned). */
export function needsEngine(project: ComposeProject): boolean {
  return project.services.some((s) => s.image !== undefined && pinnedDigest(s.image) === undefined);
}
