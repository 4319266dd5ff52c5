/** Docker's failures (HTTP statuses, socket and TLS errors) as EngineErrors. */
import { EngineError, type EngineErrorKind } from '../../contract/errors.js';

/** An HTTP error response: the kind follows the status, the message is the engine's own. */
export function errorFromStatus(status: number, message: string): EngineError {
  return new EngineError(kindOf(status, message), message || `the Docker engine answered HTTP ${status}`, status);
}

function kindOf(status: number, message: string): EngineErrorKind {
  switch (status) {
    case 404:
      return 'not-found';
    case 409:
    // 403: "network ... has active endpoints", operations on predefined networks: in use.
    case 403:
      return 'conflict';
    case 400:
      return 'invalid';
  }
  if (/port is already allocated|address already in use|no space left on device/i.test(message)) return 'resource';
  return 'engine';
}

/** The message out of an error body: `{"message": "..."}` or plain text. */
export function messageOfBody(body: Buffer): string {
  const text = body.toString('utf8').trim();
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object' && typeof (parsed as { message?: unknown }).message === 'string') {
      return (parsed as { message: string }).message;
    }
  } catch {
    // not JSON: the text is the message
  }
  return text;
}

const REASONS: Record<string, string> = {
  ENOENT: 'no such file (is dockerd running?)',
  ECONNREFUSED: 'connection refused (is dockerd running?)',
  EACCES: 'permission denied (is your user in the docker group?)',
  EPERM: 'permission denied',
  ENOTFOUND: 'unknown host',
  EAI_AGAIN: 'the host name could not be resolved',
  ETIMEDOUT: 'the connection timed out',
  EHOSTUNREACH: 'no route to host',
  ENETUNREACH: 'the network is unreachable',
  ECONNRESET: 'the connection was reset',
  ENOTSOCK: 'not a socket',
};

/** A transport failure: the engine cannot be reached. */
export function errorFromConnection(error: Error & { code?: string }, address: string): EngineError {
  const code = error.code ?? '';
  const reason = REASONS[code] ?? (isTlsError(error) ? `TLS: ${error.message}` : error.message);
  return new EngineError('unreachable', `cannot connect to the Docker engine at ${address}: ${reason}`);
}

function isTlsError(error: Error & { code?: string }): boolean {
  const code = error.code ?? '';
  return code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || /CERT|SELF_SIGNED|UNABLE_TO|EPROTO/.test(code);
}
