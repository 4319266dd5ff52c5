/**
 * Why a container must be recreated, in words: the keys whose values differ between the
 * definition stored on the container (label dev.flotilla.config) and the current one, e.g.
 * "environment.API_URL changed". Containers made by docker-compose carry only the hash, so for
 * them the reason is that the configuration hash differs.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const MAX_LISTED = 3;

function changedPaths(a: Json | undefined, b: Json | undefined, path: string, out: string[]): void {
  if (out.length > 50) return;
  const isObj = (v: unknown): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObj(a) && isObj(b)) {
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      changedPaths(a[k], b[k], path ? `${path}.${k}` : k, out);
    }
    return;
  }
  if (JSON.stringify(a) !== JSON.stringify(b)) out.push(path);
}

/** Paths of the hashed definition, shown the way users write them (options.environment.X → environment.X). */
function display(path: string): string {
  if (path === 'image_id') return 'image';
  if (path.startsWith('options.')) return path.slice('options.'.length);
  if (path === 'net') return 'network_mode';
  return path;
}

/** Both arguments are the JSON text of a definition, as stored in the label. */
export function explainChange(storedLabel: string | undefined, currentLabel: string): string {
  if (storedLabel === undefined) return 'configuration changed (config hash differs)';
  let stored: Json;
  try {
    stored = JSON.parse(storedLabel) as Json;
  } catch {
    return 'configuration changed (config hash differs)';
  }
  const paths: string[] = [];
  changedPaths(stored, JSON.parse(currentLabel) as Json, '', paths);
  if (paths.length === 0) return 'configuration changed (config hash differs)';
  const shown = [...new Set(paths.map(display))];
  const listed = shown.slice(0, MAX_LISTED).join(', ');
  const more = shown.length > MAX_LISTED ? ` and ${shown.length - MAX_LISTED} more` : '';
  return `${listed}${more} changed`;
}
