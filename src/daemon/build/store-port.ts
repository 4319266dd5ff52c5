/**
 * The builder's view of the image store (BuildImageStore), over ImageStore's builder calls
 * (docs/embedded-engine.md, "For a builder"): a base image's snapshots are the lowest lower dirs
 * of every step, its layer records go into the built image as they are (same blobs, same diff
 * ids), and each built layer is added as a blob and snapshot when the image is committed, unless
 * the store has it already (a step from the build cache whose image was committed before).
 */
import { createReadStream } from 'node:fs';
import type { ImageView } from '../containers/collaborators.js';
import type { LayerRecord } from '../images/refs.js';
import type { BuildImageStore } from './builder.js';

export interface StoreForBuilds {
  resolve(reference: string): Promise<ImageView | null>;
  config(id: string): Promise<Buffer>;
  record(id: string): { layers: LayerRecord[] } | null;
  addLayer(input: AsyncIterable<unknown>, options?: { label?: string }): Promise<LayerRecord>;
  createImage(config: Buffer, layers: LayerRecord[], options: { tags?: string[] }): Promise<ImageView>;
  hold(keys: string[]): () => void;
  storedLayer(diffId: string): Promise<LayerRecord | null>;
  list(): Promise<{ id: string }[]>;
}

export function buildImageStore(store: StoreForBuilds): BuildImageStore {
  return {
    async find(ref) {
      const image = await store.resolve(ref);
      if (!image) return null;
      const record = store.record(image.id);
      if (!record) return null;
      return { id: image.id, config: await store.config(image.id), snapshots: image.layers, layers: record.layers };
    },
    hold: (layers) => store.hold(layers.flatMap((l) => [l.digest, l.diffId])),
    addLayer: (tar, label) => store.addLayer(createReadStream(tar, { highWaterMark: 256 * 1024 }), { label }),
    async heldLayer(diffId) {
      const found = await store.storedLayer(diffId);
      if (!found) return null;
      const release = store.hold([found.digest, found.diffId]);
      // Held now; a removal that ran before the hold shows here.
      const again = await store.storedLayer(diffId);
      if (again?.digest !== found.digest) {
        release();
        return null;
      }
      return { record: found, release };
    },
    async create(config, layers, tags) {
      const image = await store.createImage(config, layers, { tags });
      return { id: image.id };
    },
  };
}
