/**
 * How the executor reports concurrent steps. The CLI provides the display (listr2 on a terminal,
 * plain lines otherwise: src/cli/progress.ts); tests can collect steps instead.
 */

export interface ProgressStep {
  title: string;
  /** Resolves with the word shown after the title ("done", "up-to-date"), or nothing for "done". */
  run(): Promise<string | void>;
}

export interface StepResult {
  title: string;
  error?: unknown;
}

export interface Progress {
  /** Runs the steps concurrently (each waits for what it needs itself); never rejects. */
  run(steps: ProgressStep[]): Promise<StepResult[]>;
  /** A line of information between steps. */
  line(text: string): void;
}
