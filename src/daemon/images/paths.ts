/**
 * Lexical rules for names inside an image's root filesystem. Nothing here touches the disk: the
 * extractor applies these before it looks at a single file.
 */

/**
 * An entry name made relative to the root: leading "/" and "./" dropped (docker load joins every
 * name to the root the same way), "." and empty components dropped, "a/.." folded. Returns '' for
 * the root itself and null when a ".." climbs above the root, wherever the name started.
 */
export function normaliseEntryName(name: string): string | null {
  const out: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) return null;
      out.pop();
    } else out.push(part);
  }
  return out.join('/');
}

/**
 * Whether a symlink at `entry` (normalised) pointing at relative `target` climbs above the root
 * when resolved from the link's directory. Absolute targets never do: they are resolved against
 * the container's root by its kernel, and nothing on the host follows them.
 */
export function symlinkEscapes(entry: string, target: string): boolean {
  if (target.startsWith('/')) return false;
  let depth = entry.split('/').length - 1;
  for (const part of target.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      depth--;
      if (depth < 0) return true;
    } else depth++;
  }
  return false;
}

/** "a/b/c" → "a/b"; "c" → "". */
export function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash === -1 ? '' : path.slice(0, slash);
}

export function baseOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Every proper ancestor of a normalised path, outermost first: "a/b/c" → ["a", "a/b"]. */
export function ancestorsOf(path: string): string[] {
  const out: string[] = [];
  let at = path.indexOf('/');
  while (at !== -1) {
    out.push(path.slice(0, at));
    at = path.indexOf('/', at + 1);
  }
  return out;
}

export function isInside(path: string, dir: string): boolean {
  return dir === '' || path === dir || path.startsWith(`${dir}/`);
}
