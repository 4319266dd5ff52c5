/**
 * Hashes and random names, with node:crypto loaded on the first call: it brings some twenty
 * internal modules, which a command that never needs them (`config` of most projects) need not
 * compile.
 */
import { createRequire } from 'node:module';

let crypto: typeof import('node:crypto') | null = null;

function lib(): typeof import('node:crypto') {
  crypto ??= createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
  return crypto;
}

export function sha256Hex(data: string): string {
  return lib().createHash('sha256').update(data).digest('hex');
}

/** `bytes` random bytes, in hex. */
export function randomHex(bytes: number): string {
  return lib().randomBytes(bytes).toString('hex');
}
