/**
 * Pull and push progress as `docker pull` shows it. On a terminal: one line per layer, redrawn in
 * place ("a1b2c3d4e5f6: Downloading  3.1MB/10.2MB"), then the summary lines. Otherwise one line
 * per event, without the byte counts of downloads in progress (a log keeps what happened).
 */
import type { ProgressEvent, ProgressSink } from '../contract/engine.js';

export function pullProgress(stream: NodeJS.WritableStream & { isTTY?: boolean }, quiet: boolean): ProgressSink {
  if (quiet) return () => undefined;
  if (!stream.isTTY) {
    return (e: ProgressEvent) => {
      if (e.status === 'Downloading' || e.status === 'Pushing') return;
      stream.write(`${e.id ? `${e.id}: ` : ''}${e.status}${e.detail ? ` ${e.detail}` : ''}\n`);
    };
  }
  const rows: string[] = [];
  const lines = new Map<string, string>();
  return (e: ProgressEvent) => {
    if (!e.id || /^(Pulling from|Pushing to)/.test(e.status) || e.status.startsWith('The push refers')) {
      stream.write(`${e.id ? `${e.id}: ` : ''}${e.status}\n`);
      return;
    }
    const text = `${e.id}: ${e.status}${e.detail ? ` ${e.detail}` : ''}`;
    if (!lines.has(e.id)) {
      rows.push(e.id);
      lines.set(e.id, text);
      stream.write(`${text}\n`);
      return;
    }
    lines.set(e.id, text);
    const up = rows.length - rows.indexOf(e.id);
    // Up to the layer's line, rewrite it, and back down.
    stream.write(`\x1b[${up}A\r\x1b[2K${text}\x1b[${up}B\r`);
  };
}
