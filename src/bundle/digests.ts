/**
 * Pinning images to digests for a bundle. A bundle must name images by digest
 * (`repo@sha256:...`); images written that way are used as they are. For the others a
 * DigestResolver asks an engine (the local image's RepoDigests, the registry, or a push); the
 * engine backends provide one. Without an engine only pinned images can be bundled.
 */
import type { ComposeService } from '../compose/document.js';

export type DigestResult =
  | { kind: 'digest'; reference: string }
  /** The image is not in a registry yet: it was built here and must be pushed. */
  | { kind: 'needs-push' }
  /** The image is not available locally with a digest: it must be pulled. */
  | { kind: 'needs-pull' };

export interface DigestResolver {
  resolve(service: ComposeService): Promise<DigestResult>;
}

export function pinnedDigest(image: string): string | undefined {
  return /@sha256:[a-fA-F0-9]{64}$/.test(image) ? image : undefined;
}

/** The resolver used when no engine is reachable: it knows only what the Compose file pins. */
export const pinnedOnlyResolver: DigestResolver = {
  async resolve(service) {
    return service.build ? { kind: 'needs-push' } : { kind: 'needs-pull' };
  },
};
