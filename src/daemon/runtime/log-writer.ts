/**
 * Writing the k8s-file log ourselves, for containers run in the foreground (runAttached), which
 * have no conmon: the same records conmon writes, appended to the same file, reopened on rotation.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { formatRecords, type Stream } from './k8s-log.js';

export class K8sLogWriter {
  private fd: number | null;

  constructor(private readonly path: string) {
    this.fd = openSync(path, 'a', 0o600);
  }

  write(stream: Stream, chunk: Buffer): void {
    if (this.fd === null || chunk.length === 0) return;
    const records = formatRecords(stream, chunk);
    let done = 0;
    while (done < records.length) done += writeSync(this.fd, records, done);
  }

  /** Continue in a new file at the same path (the old one was renamed). */
  reopen(): void {
    if (this.fd === null) return;
    closeSync(this.fd);
    this.fd = openSync(this.path, 'a', 0o600);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
