/**
 * Ending a command with a given exit status after it has printed its own output (`exec` passes
 * the command's status through; `up --exit-code-from` the container's). With a message, it is
 * printed as an error line first.
 */
export class ExitCode extends Error {
  constructor(
    readonly code: number,
    readonly note?: string,
  ) {
    super(note ?? `exit ${code}`);
  }
}
