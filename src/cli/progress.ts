/**
 * Progress of concurrent steps (creating networks, pulling, starting containers) on stderr:
 * listr2's live display on a terminal; otherwise one plain line per finished step, as
 * docker-compose prints without a TTY (`Creating demo_web_1 ... done`), which CI logs keep.
 * `--progress` (Compose v2's) picks one: `tty`, `plain`, `json` (a JSON object per line as each
 * step starts and ends), `quiet` (nothing), or `auto` (the terminal decides).
 */

import type { Progress, ProgressStep, StepResult } from '../execute/progress.js';

async function settle(step: ProgressStep, report: (outcome: string) => void): Promise<StepResult> {
  try {
    report((await step.run()) || 'done');
    return { title: step.title };
  } catch (error) {
    report('error');
    return { title: step.title, error };
  }
}

export function plainProgress(stream: NodeJS.WritableStream): Progress {
  return {
    run: (steps) => Promise.all(steps.map((s) => settle(s, (outcome) => stream.write(`${s.title} ... ${outcome}\n`)))),
    line: (text) => {
      stream.write(`${text}\n`);
    },
  };
}

export function ttyProgress(stream: NodeJS.WriteStream): Progress {
  return {
    async run(steps) {
      const results: StepResult[] = new Array(steps.length);
      if (steps.length === 0) return [];
      // Loaded only for a live display on a terminal.
      const { Listr, ProcessOutput, ListrLogger } = await import('listr2');
      const list = new Listr(
        steps.map((s, i) => ({
          title: s.title,
          task: async (_ctx: unknown, task: { title: string }) => {
            results[i] = await settle(s, (outcome) => {
              task.title = `${s.title} ... ${outcome}`;
            });
            if (results[i]?.error) throw results[i]?.error instanceof Error ? results[i]?.error : new Error(String(results[i]?.error));
          },
        })),
        {
          concurrent: true,
          exitOnError: false,
          registerSignalListeners: false,
          rendererOptions: {
            collapseErrors: true,
            showErrorMessage: false,
            logger: new ListrLogger({ processOutput: new ProcessOutput(stream, stream) }),
          },
        },
      );
      try {
        await list.run();
      } catch {
        // Errors are collected in results.
      }
      return results;
    },
    line: (text) => {
      stream.write(`${text}\n`);
    },
  };
}

export const PROGRESS_MODES = ['auto', 'tty', 'plain', 'json', 'quiet'] as const;
export type ProgressMode = (typeof PROGRESS_MODES)[number];

function jsonProgress(stream: NodeJS.WritableStream): Progress {
  const emit = (message: Record<string, string>) => stream.write(`${JSON.stringify(message)}\n`);
  return {
    run: (steps) =>
      Promise.all(
        steps.map(async (s) => {
          emit({ id: s.title, status: 'working' });
          try {
            emit({ id: s.title, status: (await s.run()) || 'done' });
            return { title: s.title };
          } catch (error) {
            emit({ id: s.title, status: 'error', details: error instanceof Error ? error.message : String(error) });
            return { title: s.title, error };
          }
        }),
      ),
    line: (text) => emit({ text }),
  };
}

const quietProgress: Progress = {
  run: (steps) => Promise.all(steps.map((s) => settle(s, () => {}))),
  line: () => {},
};

export function progressFor(stream: NodeJS.WritableStream, mode: ProgressMode = 'auto'): Progress {
  if (mode === 'plain') return plainProgress(stream);
  if (mode === 'json') return jsonProgress(stream);
  if (mode === 'quiet') return quietProgress;
  if (mode === 'tty') return ttyProgress(stream as NodeJS.WriteStream);
  // A terminal that reports no width (e.g. under `script`) would get one character per line.
  const tty = (stream as NodeJS.WriteStream).isTTY === true && ((stream as NodeJS.WriteStream).columns ?? 0) > 20;
  return tty ? ttyProgress(stream as NodeJS.WriteStream) : plainProgress(stream);
}
