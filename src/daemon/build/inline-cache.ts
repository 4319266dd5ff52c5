/**
 * The inline build cache (`cache_from`, `image build --cache-from`), as BuildKit's inline cache
 * works: a built image carries the cache keys of the steps its layers came from, and a build
 * naming that image in cache_from takes a step whose key matches from the image's layer instead
 * of running it, on a machine whose build cache never saw it (after a push and a pull).
 *
 * Where the keys go: a top-level field of the image config (as BuildKit's
 * "moby.buildkit.cache.v0"), not the history's comments nor Config's labels. The config blob
 * travels whole through push, pull, save and load, so the keys arrive wherever the layers do;
 * `image inspect` shows Config and `image history` shows created_by and comment, neither of which
 * changes; and the keys are deterministic, so an unchanged rebuild still gives the same image id.
 */
import type { LayerRecord } from '../images/refs.js';

export const INLINE_CACHE_FIELD = 'io.flotilla.build.cache.v0';

/** A step of the built image: its cache key, the layer it made (null: none) and when it ran. */
export interface InlineCacheEntry {
  key: string;
  diffId: string | null;
  created: string;
}

/** A step found in a cache_from image: its layer as the store has it (null: the step made none). */
export interface ImportedStep {
  layer: { record: LayerRecord; snapshot: string } | null;
  created: string;
}

function isEntry(v: unknown): v is InlineCacheEntry {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Record<string, unknown>;
  return typeof e['key'] === 'string' && (e['diffId'] === null || typeof e['diffId'] === 'string') && typeof e['created'] === 'string';
}

/**
 * The steps a cache_from image offers, by cache key. An entry whose layer the image does not
 * have (a config edited by hand) is left out: a step is taken only with its own layer.
 */
export function importInlineCache(config: Record<string, unknown>, layers: readonly LayerRecord[], snapshots: readonly string[]): Map<string, ImportedStep> {
  const out = new Map<string, ImportedStep>();
  const entries = config[INLINE_CACHE_FIELD];
  if (!Array.isArray(entries)) return out;
  for (const entry of entries) {
    if (!isEntry(entry)) continue;
    if (entry.diffId === null) {
      out.set(entry.key, { layer: null, created: entry.created });
      continue;
    }
    const index = layers.findIndex((l) => l.diffId === entry.diffId);
    const snapshot = snapshots[index];
    if (index < 0 || snapshot === undefined) continue;
    out.set(entry.key, { layer: { record: layers[index]!, snapshot }, created: entry.created });
  }
  return out;
}
