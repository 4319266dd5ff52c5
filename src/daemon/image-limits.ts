/**
 * The image store's limits from the daemon's configuration file (<root>/daemon.json), key
 * `image-limits`: an object of the limits to change, each absent one keeping its default
 * (DEFAULT_LIMITS). Sizes are bytes, or digits with a unit k, m, g (1024-based, as "2g", "512MiB").
 */
import { EngineError } from '../contract/errors.js';
import { parseBytes } from '../util/bytes.js';
import type { DaemonJson } from './daemon-json.js';
import { DEFAULT_LIMITS, type ImageLimits } from './images/types.js';

type Reader = (value: unknown) => number | undefined;

const size =
  (min: number, max = Number.MAX_SAFE_INTEGER): Reader =>
  (value) => {
    if (typeof value !== 'number' && typeof value !== 'string') return undefined;
    const n = parseBytes(value);
    return n !== undefined && Number.isSafeInteger(n) && n >= min && n <= max ? n : undefined;
  };

const ratio: Reader = (value) => (typeof value === 'number' && Number.isFinite(value) && value >= 1 ? value : undefined);

/** daemon.json key → the limit it sets, how its value is read, and what the error says is expected. */
const KEYS: Record<string, [keyof ImageLimits, Reader, string]> = {
  'max-image-size': ['maxImageBytes', size(1), 'a size of at least 1 byte (bytes, or a number with k, m or g)'],
  'max-path-length': ['maxPathBytes', size(1, DEFAULT_LIMITS.maxPathBytes), `a number of bytes from 1 to ${DEFAULT_LIMITS.maxPathBytes} (Linux's PATH_MAX)`],
  'max-pax-header-size': ['maxPaxBytes', size(512), 'a size of at least 512 bytes (bytes, or a number with k, m or g)'],
  'max-json-size': ['maxJsonBytes', size(1024), 'a size of at least 1k (bytes, or a number with k, m or g)'],
  'max-compression-ratio': ['maxCompressionRatio', ratio, 'a number of at least 1'],
  'compression-ratio-after': ['bombFloorBytes', size(0), 'a size (bytes, or a number with k, m or g)'],
  'min-free-space': ['minFreeBytes', size(0), 'a size (bytes, or a number with k, m or g)'],
};

export function imageLimitsFrom({ file, doc }: DaemonJson): ImageLimits {
  const given = doc['image-limits'] ?? {};
  if (typeof given !== 'object' || given === null || Array.isArray(given)) throw new EngineError('invalid', `${file}: image-limits: an object is expected (${Object.keys(KEYS).join(', ')})`);
  const limits = { ...DEFAULT_LIMITS };
  for (const [key, value] of Object.entries(given)) {
    const known = Object.hasOwn(KEYS, key) ? KEYS[key] : undefined;
    if (!known) throw new EngineError('invalid', `${file}: image-limits.${key}: not a limit (known: ${Object.keys(KEYS).join(', ')})`);
    const [field, read, expected] = known;
    const n = read(value);
    if (n === undefined) throw new EngineError('invalid', `${file}: image-limits.${key}: ${expected}, not ${JSON.stringify(value)}`);
    limits[field] = n;
  }
  return limits;
}
