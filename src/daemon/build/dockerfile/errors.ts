import { FlotillaError } from '../../../errors.js';

/**
 * A problem with a Dockerfile or what it asks for. Located as `Dockerfile:LINE` with the
 * instruction as the key path, so the CLI prints `ERROR: Dockerfile:3: COPY: ...`.
 */
export class DockerfileError extends FlotillaError {
  constructor(
    message: string,
    readonly file: string,
    readonly line?: number,
    readonly instruction?: string,
    /** The instruction ran and failed (a RUN's command), as opposed to being refused. */
    readonly failedStep = false,
  ) {
    super(message, {
      file,
      ...(line !== undefined ? { line } : {}),
      ...(instruction !== undefined ? { path: instruction } : {}),
    });
  }

  /** The error as one line, for transports that carry only a message. */
  get located(): string {
    const where = this.line === undefined ? this.file : `${this.file}:${this.line}`;
    return `${where}: ${this.instruction === undefined ? '' : `${this.instruction}: `}${this.message}`;
  }
}
