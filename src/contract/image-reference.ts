/**
 * Image references the way Docker reads them: [domain/]path[:tag][@digest]. The first component
 * is a registry domain when it has a "." or ":" or is "localhost"; docker.io (or
 * index.docker.io) and its "library/" namespace are normalised away, so "docker.io/library/busybox"
 * and "busybox" are both "busybox:latest". A reference without tag or digest gets ":latest".
 */
import { EngineError } from './errors.js';

export interface Reference {
  /** The familiar repository name: "busybox", "team/app", "127.0.0.1:5000/team/app". */
  repository: string;
  tag?: string;
  digest?: string;
}

const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`);
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const SHA256_DIGEST = /^sha256:[0-9a-f]{64}$/;
const MAX_NAME = 255;

function invalid(ref: string, why: string): EngineError {
  return new EngineError('invalid', `invalid reference format: ${JSON.stringify(ref)}: ${why}`);
}

export function parseReference(ref: string): Reference {
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw invalid(ref, 'bad digest');
    if (digest.startsWith('sha256:') && !SHA256_DIGEST.test(digest)) throw invalid(ref, 'a sha256 digest is 64 lowercase hex digits');
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw invalid(ref, 'bad tag');
  }
  if (rest === '') throw invalid(ref, 'empty repository name');
  const parts = rest.split('/');
  let domain: string | undefined;
  const first = parts[0] ?? '';
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase())) {
    domain = first;
    parts.shift();
    if (!DOMAIN.test(domain)) throw invalid(ref, `bad registry ${JSON.stringify(domain)}`);
  }
  for (const p of parts) {
    if (!PATH_COMPONENT.test(p)) throw invalid(ref, p !== p.toLowerCase() ? 'repository name must be lowercase' : `bad name component ${JSON.stringify(p)}`);
  }
  if (domain === 'index.docker.io') domain = 'docker.io';
  let path = parts.join('/');
  if (domain === undefined || domain === 'docker.io') {
    if (/^[a-f0-9]{64}$/.test(path)) throw invalid(ref, 'a repository name cannot be a 64-digit hexadecimal string');
    if (path.startsWith('library/') && parts.length === 2) path = path.slice('library/'.length);
    domain = undefined;
  }
  const repository = domain ? `${domain}/${path}` : path;
  if (repository.length > MAX_NAME) throw invalid(ref, `repository name longer than ${MAX_NAME} characters`);
  const out: Reference = { repository };
  if (tag !== undefined) out.tag = tag;
  if (digest !== undefined) out.digest = digest;
  if (tag === undefined && digest === undefined) out.tag = 'latest';
  return out;
}

export function formatReference(r: Reference): string {
  return `${r.repository}${r.tag !== undefined ? `:${r.tag}` : ''}${r.digest !== undefined ? `@${r.digest}` : ''}`;
}

/**
 * The canonical form the store keys tags by, and the daemon names container images with:
 * "busybox" → "busybox:latest", "docker.io/library/redis:7" → "redis:7",
 * "docker.io/team/app" → "team/app:latest", "127.0.0.1:5000/team/app:1" unchanged.
 * Throws EngineError invalid for what Docker would call an invalid reference format.
 */
export function normaliseReference(ref: string): string {
  return formatReference(parseReference(ref));
}

/** The repository part of a normalised tag or digest reference. */
export function repositoryOf(normalised: string): string {
  return parseReference(normalised).repository;
}

/** Where a repository lives: "127.0.0.1:5000/team/app" → host and path; Docker Hub's names too. */
export function registryOf(repository: string): { host: string; apiHost: string; path: string } {
  const slash = repository.indexOf('/');
  const first = slash === -1 ? '' : repository.slice(0, slash);
  if (first.includes('.') || first.includes(':') || first === 'localhost') {
    return { host: first, apiHost: first, path: repository.slice(slash + 1) };
  }
  return { host: 'docker.io', apiHost: 'registry-1.docker.io', path: repository.includes('/') ? repository : `library/${repository}` };
}
