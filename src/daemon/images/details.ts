/**
 * What `image inspect` and `image history` show of a stored image: the JSON `docker image
 * inspect` prints (Id, RepoTags, RepoDigests, Created, Config, Architecture, Os, Size, RootFS,
 * GraphDriver, ...) from the config as stored, and the config's history with each layer's size.
 */
import type { ImageStore } from './store.js';

interface HistoryItem {
  created?: string;
  created_by?: string;
  comment?: string;
  empty_layer?: boolean;
  author?: string;
}

export interface HistoryRow {
  /** The image id for the newest row, "<missing>" for the others, as Docker shows them. */
  id: string;
  created: string;
  createdBy: string;
  size: number;
  comment: string;
}

export async function imageDetails(store: ImageStore, ref: string): Promise<{ inspect: Record<string, unknown>; history: HistoryRow[] } | null> {
  const image = await store.resolve(ref);
  const record = image ? store.record(image.id) : null;
  if (!image || !record) return null;
  const raw = JSON.parse((await store.config(image.id)).toString('utf8')) as Record<string, unknown>;
  const diffIds = record.layers.map((l) => l.diffId);
  const sizes: number[] = [];
  for (const l of record.layers) sizes.push((await store.snapshots.info(l.diffId))?.size ?? 0);
  const inspect: Record<string, unknown> = {
    Id: image.id,
    RepoTags: image.repoTags,
    RepoDigests: image.repoDigests,
    Parent: '',
    Comment: typeof raw['comment'] === 'string' ? raw['comment'] : '',
    Created: image.created,
    DockerVersion: typeof raw['docker_version'] === 'string' ? raw['docker_version'] : '',
    Author: typeof raw['author'] === 'string' ? raw['author'] : '',
    Config: raw['config'] ?? null,
    Architecture: image.architecture,
    ...(typeof raw['variant'] === 'string' ? { Variant: raw['variant'] } : {}),
    Os: image.os,
    Size: image.size,
    GraphDriver: { Name: 'overlay', Data: { LowerDir: [...image.layers].reverse().join(':') } },
    RootFS: { Type: 'layers', Layers: diffIds },
    Metadata: { LastTagTime: '0001-01-01T00:00:00Z' },
  };
  const items = Array.isArray(raw['history']) ? (raw['history'] as HistoryItem[]) : [];
  const rows: HistoryRow[] = [];
  let layer = 0;
  for (const h of items) {
    const size = h.empty_layer ? 0 : (sizes[layer++] ?? 0);
    rows.push({ id: '<missing>', created: h.created ?? '', createdBy: h.created_by ?? '', size, comment: h.comment ?? '' });
  }
  // Layers the history does not describe (an image made without one) still show, as Docker shows them.
  for (; layer < sizes.length; layer++) rows.push({ id: '<missing>', created: image.created, createdBy: '', size: sizes[layer] ?? 0, comment: '' });
  rows.reverse();
  if (rows[0]) rows[0].id = image.id;
  return { inspect, history: rows };
}
