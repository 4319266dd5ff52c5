/**
 * The JSON progress streams of pull, push and build: each line goes to the ProgressSink; an
 * error line rejects (the HTTP status was 200 by then, so the message decides the kind).
 */
import type { IncomingMessage } from 'node:http';
import type { ProgressEvent, ProgressSink } from '../../contract/engine.js';
import { EngineError } from '../../contract/errors.js';
import type { DockerProgressLine } from './api-types.js';
import { lines } from './streams.js';

export interface ProgressResult {
  /** aux.ID of a build. */
  imageId?: string;
  /** aux.Digest of a push. */
  digest?: string;
  /** The build's "Successfully built <id>" line, when it sent no aux.ID. */
  builtId?: string;
}

function toEvent(j: DockerProgressLine): ProgressEvent | null {
  if (j.stream !== undefined) {
    const text = j.stream.replace(/\n$/, '');
    return text.trim() === '' ? null : { status: text };
  }
  if (j.status === undefined) return null;
  const event: ProgressEvent = { status: j.status };
  if (j.id) event.id = j.id;
  if (j.progress) event.detail = j.progress;
  return event;
}

export function streamErrorKind(message: string): 'not-found' | 'engine' {
  return /not found|manifest unknown|repository does not exist|no such image/i.test(message) ? 'not-found' : 'engine';
}

export async function followProgress(res: IncomingMessage, sink: ProgressSink | undefined): Promise<ProgressResult> {
  const result: ProgressResult = {};
  for await (const line of lines(res)) {
    let j: DockerProgressLine;
    try {
      j = JSON.parse(line) as DockerProgressLine;
    } catch {
      sink?.({ status: line });
      continue;
    }
    const message = j.errorDetail?.message ?? j.error;
    if (message !== undefined) {
      res.destroy();
      throw new EngineError(streamErrorKind(message), message);
    }
    if (j.aux?.ID) result.imageId = j.aux.ID;
    if (j.aux?.Digest) result.digest = j.aux.Digest;
    const built = j.stream !== undefined ? /^Successfully built ([0-9a-f]+)\s*$/.exec(j.stream) : null;
    if (built) result.builtId = built[1]!;
    const event = toEvent(j);
    if (event && sink) sink(event);
  }
  return result;
}
