/** Helpers shared by the operation modules: path segments, references, null on 404. */
import { isNotFound } from '../../contract/errors.js';

/** A name or reference as a path segment ("/" kept: image names contain it and Docker's routes accept it). */
export function seg(name: string): string {
  return encodeURIComponent(name).replace(/%2F/gi, '/').replace(/%3A/gi, ':').replace(/%40/g, '@');
}

/** `registry:5000/repo:tag@sha256:...` → repository, tag and digest. */
export function splitReference(ref: string): { repository: string; tag?: string; digest?: string } {
  let name = ref;
  let digest: string | undefined;
  const at = ref.indexOf('@');
  if (at >= 0) {
    digest = ref.slice(at + 1);
    name = ref.slice(0, at);
  }
  const colon = name.lastIndexOf(':');
  const out: { repository: string; tag?: string; digest?: string } = { repository: name };
  if (colon > name.lastIndexOf('/')) {
    out.repository = name.slice(0, colon);
    out.tag = name.slice(colon + 1);
  }
  if (digest !== undefined) out.digest = digest;
  return out;
}

export async function orNull<T>(p: Promise<T>): Promise<T | null> {
  try {
    return await p;
  } catch (e) {
    if (isNotFound(e)) return null;
    throw e;
  }
}

export function jsonFilters(filters: Record<string, string[] | undefined>): string | undefined {
  const present = Object.fromEntries(Object.entries(filters).filter(([, v]) => v !== undefined && v.length > 0));
  return Object.keys(present).length === 0 ? undefined : JSON.stringify(present);
}
