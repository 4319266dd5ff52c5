/**
 * Image references as Docker's clients write them into a service: checked against the reference
 * grammar, shortened to their familiar form (`docker.io/library/busybox` is `busybox`) and given
 * the tag `latest` when they name neither a tag nor a digest.
 */

const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const DOMAIN = '(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\\[[0-9a-fA-F:]+\\])(?::\\d+)?';
const REFERENCE = new RegExp(`^(?:(${DOMAIN})/)?(${COMPONENT}(?:/${COMPONENT})*)(?::([\\w][\\w.-]{0,127}))?(?:@([A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?$`);

export interface ImageReference {
  domain?: string;
  path: string;
  tag?: string;
  digest?: string;
}

/** The parts of a reference, or undefined when Docker would refuse it. */
export function parseImageReference(image: string): ImageReference | undefined {
  const m = REFERENCE.exec(image);
  if (!m) return undefined;
  let domain: string | undefined = m[1];
  let path = m[2] as string;
  // A first component is a registry only if it looks like a host (a dot, a port, localhost).
  if (domain !== undefined && !/[.:]|^localhost$|^\[/.test(domain)) {
    path = `${domain}/${path}`;
    domain = undefined;
  }
  if (path.length > 255) return undefined;
  const out: ImageReference = { path };
  if (domain !== undefined) out.domain = domain;
  if (m[3] !== undefined) out.tag = m[3];
  if (m[4] !== undefined) out.digest = m[4];
  return out;
}

/** `busybox` → `busybox:latest`; `docker.io/library/busybox@sha256:...` → `busybox@sha256:...`. */
export function familiarTagged(image: string): string {
  const ref = parseImageReference(image);
  if (!ref) return image;
  let name = ref.path;
  const domain = ref.domain === 'index.docker.io' ? 'docker.io' : ref.domain;
  if (domain !== undefined && domain !== 'docker.io') name = `${domain}/${name}`;
  else if (name.startsWith('library/') && name.split('/').length === 2) name = name.slice('library/'.length);
  const tag = ref.tag ?? (ref.digest === undefined ? 'latest' : undefined);
  return `${name}${tag !== undefined ? `:${tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** `image@digest`, as Docker pins an image it resolved (a pinned image stays as it is). */
export function withDigest(image: string, digest: string): string {
  const ref = parseImageReference(image);
  if (!ref || ref.digest !== undefined) return image;
  return `${familiarTagged(image)}@${digest}`;
}
