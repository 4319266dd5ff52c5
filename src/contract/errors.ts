/**
 * Engine errors in engine-neutral terms. Backends translate their own failures (HTTP statuses,
 * gRPC codes) into these kinds, so the reconciler can decide without knowing the engine.
 */
import { FlotillaError } from '../errors.js';

export type EngineErrorKind =
  /** The engine cannot be reached (socket missing, connection refused, TLS failure). */
  | 'unreachable'
  /** The object (container, image, network, volume) does not exist. */
  | 'not-found'
  /** A name is taken, or the object is in the wrong state (already started, in use). */
  | 'conflict'
  /** The engine refused the request as invalid. */
  | 'invalid'
  /** A host resource is unavailable (port already allocated, no space). */
  | 'resource'
  /** Anything else the engine reported. */
  | 'engine';

export class EngineError extends FlotillaError {
  constructor(
    readonly kind: EngineErrorKind,
    message: string,
    readonly statusCode?: number,
  ) {
    super(message);
  }
}

export function isNotFound(e: unknown): boolean {
  return e instanceof EngineError && e.kind === 'not-found';
}

export function isConflict(e: unknown): boolean {
  return e instanceof EngineError && e.kind === 'conflict';
}
