/**
 * SHA-256 in hex, with node:crypto loaded on the first call: it brings some twenty internal
 * modules, which a command that never hashes (`config` of most projects) need not compile.
 */
import { createRequire } from 'node:module';

let crypto: typeof import('node:crypto') | null = null;

export function sha256Hex(data: string): string {
  crypto ??= createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
  return crypto.createHash('sha256').update(data).digest('hex');
}
