/** The image store's public shapes and its limits. */

import type { ImageConfigJson } from '../../contract/image-config.js';

export interface StoredImage {
  /** "sha256:<64 hex>": the sha256 of the stored config JSON bytes (docker's id for a loaded image). */
  id: string;
  /** Normalised: "busybox:latest", "127.0.0.1:5000/team/app:1". */
  repoTags: string[];
  repoDigests: string[];
  /** RFC 3339. */
  created: string;
  /** Bytes of the root filesystem: regular files (each inode once) and symlinks. */
  size: number;
  architecture: string;
  os: string;
  config: ImageConfigJson;
  /** The layer snapshots, bottom first: the overlay lower dirs of the image's containers; never modified. */
  layers: string[];
}

export interface ImageLimits {
  /** Uncompressed tar bytes of all an image's layers together (also the gzip-bomb guard). */
  maxImageBytes: number;
  /** Longest entry name, link target or link name, in bytes (Linux PATH_MAX). */
  maxPathBytes: number;
  /** Largest PAX extended header. */
  maxPaxBytes: number;
  /** Largest image config, manifest or index JSON read into memory. */
  maxJsonBytes: number;
  /** A compressed layer may expand at most this many times (past bombFloorBytes): the decompression-bomb guard. */
  maxCompressionRatio: number;
  bombFloorBytes: number;
  /** Unpacking stops, and the image is refused, when the store's file system has less free space than this. */
  minFreeBytes: number;
}

export const DEFAULT_LIMITS: ImageLimits = {
  maxImageBytes: 64 * 1024 ** 3,
  maxPathBytes: 4096,
  maxPaxBytes: 1024 * 1024,
  maxJsonBytes: 16 * 1024 * 1024,
  maxCompressionRatio: 200,
  bombFloorBytes: 256 * 1024 * 1024,
  minFreeBytes: 256 * 1024 * 1024,
};

export interface ImageStoreOptions {
  limits?: Partial<ImageLimits>;
  /** Non-fatal notices (extended attributes ignored); the daemon sends them to its log. Default: stderr. */
  warn?: (message: string) => void;
}
