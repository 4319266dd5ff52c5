/**
 * EngineErrors as gRPC statuses and back. The server sends the error's message as the status
 * details, unchanged, and its kind in the trailer `flotilla-error-kind`; the client rebuilds the
 * same EngineError from them. A status without that trailer did not come from the backend (a
 * dead connection, a cancelled call, a message too large): the client maps it by its code.
 */
import { Metadata, status as Code, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import { EngineError, type EngineErrorKind } from '../errors.js';
import { SERVICE_NAME } from './service.js';

const KIND_KEY = 'flotilla-error-kind';
const STATUS_KEY = 'flotilla-error-status';

const CODE_OF_KIND: Record<EngineErrorKind, Code> = {
  'not-found': Code.NOT_FOUND,
  conflict: Code.FAILED_PRECONDITION,
  invalid: Code.INVALID_ARGUMENT,
  resource: Code.RESOURCE_EXHAUSTED,
  unreachable: Code.UNAVAILABLE,
  engine: Code.INTERNAL,
};

const KINDS = new Set<string>(Object.keys(CODE_OF_KIND));

export function isKind(value: unknown): value is EngineErrorKind {
  return typeof value === 'string' && KINDS.has(value);
}

/** The status an EngineError is sent as. */
function statusOfEngineError(error: EngineError): StatusObject {
  const metadata = new Metadata();
  metadata.set(KIND_KEY, error.kind);
  if (error.statusCode !== undefined) metadata.set(STATUS_KEY, String(error.statusCode));
  return { code: CODE_OF_KIND[error.kind], details: error.message, metadata };
}

/** Any other failure of the backend: INTERNAL, with its message. */
function statusOfUnexpected(error: unknown): StatusObject {
  const message = error instanceof Error ? error.message : String(error);
  const metadata = new Metadata();
  metadata.set(KIND_KEY, 'engine');
  return { code: Code.INTERNAL, details: message, metadata };
}

export function statusOf(error: unknown): StatusObject {
  return error instanceof EngineError ? statusOfEngineError(error) : statusOfUnexpected(error);
}

/** A method the backend does not have (an optional Engine method). */
export function unimplemented(method: string): StatusObject {
  return { code: Code.UNIMPLEMENTED, details: `the Flotilla daemon does not implement ${method}`, metadata: new Metadata() };
}

export function isServiceError(e: unknown): e is ServiceError {
  return e instanceof Error && typeof (e as Partial<ServiceError>).code === 'number' && 'details' in e;
}

/**
 * The EngineError a failed call stands for. `socket` names the daemon in messages about the
 * connection itself.
 */
export function engineErrorOf(error: ServiceError, socket: string): EngineError {
  const kind = error.metadata?.get(KIND_KEY)[0];
  if (isKind(kind)) {
    const status = Number(error.metadata.get(STATUS_KEY)[0]);
    return new EngineError(kind, error.details, Number.isInteger(status) ? status : undefined);
  }
  switch (error.code) {
    case Code.UNAVAILABLE:
      return new EngineError('unreachable', `cannot reach the Flotilla daemon at ${socket}: ${connectionReason(error.details)}`);
    case Code.CANCELLED:
      return new EngineError('unreachable', `the Flotilla daemon at ${socket} ended the call: ${error.details}`);
    case Code.NOT_FOUND:
      return new EngineError('not-found', error.details);
    case Code.ALREADY_EXISTS:
    case Code.FAILED_PRECONDITION:
    case Code.ABORTED:
      return new EngineError('conflict', error.details);
    case Code.INVALID_ARGUMENT:
    case Code.OUT_OF_RANGE:
      return new EngineError('invalid', error.details);
    case Code.RESOURCE_EXHAUSTED:
      return new EngineError('resource', error.details);
    case Code.UNIMPLEMENTED:
      // grpc-js's answer for a method the server's service does not have: a daemon of another
      // version (the CLI and the daemon come from one build, and speak one version).
      if (/does not implement the method/.test(error.details)) {
        return new EngineError(
          'unreachable',
          `the Flotilla daemon at ${socket} is from another version of Flotilla and does not speak this one's protocol (${SERVICE_NAME}); stop it with \`flotilla daemon stop\` and run the command again`,
        );
      }
      return new EngineError('engine', error.details);
    default:
      return new EngineError('engine', error.details || `the Flotilla daemon answered ${Code[error.code] ?? error.code}`);
  }
}

const REASONS: Record<string, string> = {
  ENOENT: 'no such file (is the daemon running?)',
  ECONNREFUSED: 'connection refused (is the daemon running?)',
  EACCES: 'permission denied (the embedded engine needs root; run with sudo or use --engine docker)',
  EPERM: 'permission denied (the embedded engine needs root; run with sudo or use --engine docker)',
  ENOTSOCK: 'not a socket',
  ECONNRESET: 'the connection was reset',
  EPIPE: 'the connection was closed',
};

/** grpc-js says "No connection established. Last error: Error: connect ENOENT /run/...": the errno in words. */
function connectionReason(details: string): string {
  const errno = /\b(E[A-Z]{3,})\b/.exec(details)?.[1];
  if (errno !== undefined && REASONS[errno] !== undefined) return REASONS[errno];
  return details.split('\n')[0] ?? details;
}
